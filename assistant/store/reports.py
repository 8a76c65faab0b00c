"""Counts for reports over a time window: first response times, decisions by action and kind, clarifications,
escalations by reason, SLA breaches per queue and verdicts on suggested answers. Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from assistant.domain.messages import DecisionKind
from assistant.store.db import Transactions
from assistant.store.tables import DecisionRow, Escalation, Message, SuggestionFeedback


class ReportQueries(Transactions):
    """The report's queries; each is one read-only transaction."""

    def first_response_times(self, since: datetime) -> list[float]:
        """Per conversation, seconds from its first customer message at or after `since` to the first bot or
        agent reply after it; conversations still waiting for a reply are left out."""
        first_in = (
            select(Message.conversation_id.label("conversation_id"), func.min(Message.created_at).label("at"))
            .where(Message.direction == "in", Message.created_at >= since)
            .group_by(Message.conversation_id)
            .subquery()
        )
        replied = (
            select(func.min(Message.created_at))
            .where(
                Message.conversation_id == first_in.c.conversation_id,
                Message.direction == "out",
                Message.author.in_(("bot", "agent")),
                Message.created_at >= first_in.c.at,
            )
            .scalar_subquery()
        )
        # MIN keeps the column's type, so both times come back through UTCDateTime as aware UTC.
        query = select(first_in.c.at, replied).order_by(first_in.c.conversation_id)
        with self._read() as session:
            rows = session.execute(query).all()
        return [(replied_at - asked_at).total_seconds() for asked_at, replied_at in rows if replied_at is not None]

    def action_counts(self, since: datetime) -> dict[str, int]:
        """How many decisions of each action were taken since `since`."""
        return self._counts_per(DecisionRow.action, DecisionRow.created_at, since)

    def kind_counts(self, since: datetime) -> dict[str, int]:
        """How many decisions of each kind were taken since `since`; "kb_answer" is the count of answers.
        Decisions recorded without a kind (made outside the policy) count as "unknown"."""
        return self._counts_per(DecisionRow.kind, DecisionRow.created_at, since, unknown="unknown")

    def clarification_counts(self, since: datetime) -> dict[str, int]:
        """Clarifications since `since`: choices offered, requests to rephrase, and picks resolved (to an entry's
        answer, or to a person)."""
        offered = (DecisionRow.kind == DecisionKind.CLARIFICATION.value) & DecisionRow.choices.is_not(None)
        rephrase = (DecisionRow.kind == DecisionKind.CLARIFICATION.value) & DecisionRow.choices.is_(None)
        picked = DecisionRow.picked.is_not(None)
        to_person = picked & (DecisionRow.kind == DecisionKind.ESCALATION.value)
        query = select(
            *(func.count(case((condition, 1))) for condition in (offered, rephrase, picked, to_person))
        ).where(DecisionRow.created_at >= since)
        with self._read() as session:
            counts = session.execute(query).one()
        names = ("choices_offered", "rephrase_asked", "picks_resolved", "picks_for_a_person")
        return {name: int(count) for name, count in zip(names, counts, strict=True)}

    def escalations_by_reason(self, since: datetime) -> dict[str, int]:
        """How many escalations were opened for each reason since `since`."""
        return self._counts_per(Escalation.reason, Escalation.created_at, since)

    def breach_counts(self, since: datetime) -> dict[str, int]:
        """SLA breaches flagged since `since`, per queue (for reports)."""
        return self._counts_per(Escalation.queue, Escalation.sla_breached_at, since)

    def feedback_counts(self, since: datetime) -> dict[str, int]:
        """Verdicts on suggested answers given since `since`."""
        return self._counts_per(SuggestionFeedback.verdict, SuggestionFeedback.at, since)

    def _counts_per(self, key: Any, at: Any, since: datetime, unknown: str | None = None) -> dict[str, int]:
        """Rows whose time `at` is `since` or later, counted per value of `key`; a NULL or empty key counts under
        `unknown` when that is given."""
        query = select(key, func.count()).where(at >= since).group_by(key)
        with self._read() as session:
            rows = session.execute(query).all()
        return {str(value if value or unknown is None else unknown): int(count) for value, count in rows}
