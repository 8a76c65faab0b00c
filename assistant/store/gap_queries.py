"""Read-only queries that feed the content-gap report: unanswered questions with the people's replies to them
(escalated ones, and clarifications the sender gave up on), how often each FAQ entry was answered, and the agents'
verdicts on suggested entries, over a time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session, aliased

from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.messages import DecisionKind
from assistant.knowledge.gap_report import GapQuestion, GapReport, build_gap_report
from assistant.nlu.embeddings import Encoder
from assistant.settings import LiveIndexConfig
from assistant.store.escalations import GAP_REASONS
from assistant.store.tables import DecisionRow, Escalation, GapCandidate, Message, SuggestionFeedback

# A clarification (a request to rephrase, or choices) is given up when no KB answer followed it in its conversation
# within this long: the next message escalated, was something else, or nothing came at all.
GIVE_UP_AFTER = timedelta(hours=1)
# The reasons the report gives such questions, by what was asked.
REPHRASE_GIVEN_UP = "rephrase_given_up"
CHOICES_GIVEN_UP = "choices_given_up"

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def within(query: _Query, column: Any, since: datetime | None, until: datetime | None) -> _Query:
    """`query` kept to the rows whose `column` lies in the window [since, until); a None end leaves it open."""
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def gap_questions(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50_000,
    *,
    give_up_after: timedelta = GIVE_UP_AFTER,
    now: datetime | None = None,
) -> list[GapQuestion]:
    """Escalations for out-of-scope / low-confidence questions (the customer's text, the first person's reply
    kept as a gap candidate), gap candidates that belong to no such escalation, and clarifications given up."""
    given_up = given_up_clarifications(engine, since, until, limit, give_up_after=give_up_after, now=now)
    with Session(engine) as session:
        replies: dict[int, str] = {}
        loose: list[GapQuestion] = []
        candidates = within(
            select(GapCandidate).order_by(GapCandidate.at, GapCandidate.id), GapCandidate.at, since, until
        )
        for row in session.scalars(candidates.limit(limit)):
            if row.escalation_id is not None:
                replies.setdefault(row.escalation_id, row.reply)
            else:
                loose.append(GapQuestion(row.question, row.language, row.reason, row.reply, None, row.at))
        query = (
            select(Escalation.id, Escalation.reason, Escalation.created_at, Message.text, Message.language)
            .join(Message, Message.id == Escalation.message_id)
            .where(Escalation.reason.in_(GAP_REASONS))
            .order_by(Escalation.created_at.desc(), Escalation.id.desc())
            .limit(limit)
        )
        query = within(query, Escalation.created_at, since, until)
        found = [
            GapQuestion(text, language, reason, replies.get(escalation_id), escalation_id, at)
            for escalation_id, reason, at, text, language in session.execute(query).all()
        ]
    return found + loose + given_up


def given_up_clarifications(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50_000,
    *,
    give_up_after: timedelta = GIVE_UP_AFTER,
    now: datetime | None = None,
) -> list[GapQuestion]:
    """Questions that were only asked to rephrase or to choose, and then given up: no KB answer followed in the
    conversation within `give_up_after`, and that time has passed (or a person already has the conversation)."""
    now = now or datetime.now(UTC)
    later, later_message = aliased(DecisionRow), aliased(Message)
    after = (
        select(func.min(later.created_at))
        .join(later_message, later_message.id == later.message_id)
        .where(later_message.conversation_id == Message.conversation_id, later.created_at > DecisionRow.created_at)
    )
    answered_at = after.where(later.kind == DecisionKind.KB_ANSWER.value).scalar_subquery()
    escalated_at = after.where(later.kind == DecisionKind.ESCALATION.value).scalar_subquery()
    query = (
        select(
            DecisionRow.created_at,
            DecisionRow.choices.is_not(None),
            DecisionRow.read_as,
            Message.text,
            Message.language,
            answered_at,
            escalated_at,
        )
        .join(Message, Message.id == DecisionRow.message_id)
        .where(DecisionRow.kind == DecisionKind.CLARIFICATION.value)
        .order_by(DecisionRow.created_at.desc(), DecisionRow.id.desc())
        .limit(limit)
    )
    query = within(query, DecisionRow.created_at, since, until)
    found: list[GapQuestion] = []
    with Session(engine) as session:
        for at, offered, read_as, text, language, answered, escalated in session.execute(query).all():
            deadline = _aware(at) + give_up_after
            if answered is not None and _aware(answered) <= deadline:
                continue
            handed_over = escalated is not None and (answered is None or _aware(escalated) < _aware(answered))
            if now < deadline and not handed_over:
                continue  # still waiting for the sender's reply
            kind = CHOICES_GIVEN_UP if offered else REPHRASE_GIVEN_UP
            found.append(GapQuestion(read_as or text, language, kind, None, None, _aware(at)))
    return found


def _aware(moment: datetime) -> datetime:
    # MIN() keeps the column's type (UTCDateTime: aware UTC); this only guards a value read without it.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def entry_match_counts(engine: Engine, since: datetime | None = None, until: datetime | None = None) -> dict[str, int]:
    """How many messages each FAQ entry answered in the window."""
    query = (
        select(DecisionRow.entry_id, func.count())
        .where(DecisionRow.entry_id.is_not(None), DecisionRow.kind == DecisionKind.KB_ANSWER.value)
        .group_by(DecisionRow.entry_id)
    )
    query = within(query, DecisionRow.created_at, since, until)
    with Session(engine) as session:
        return {str(entry_id): int(count) for entry_id, count in session.execute(query).all()}


def entry_feedback(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Per entry, the agents' verdicts on it as a suggestion: {"wrong": n, "right": m, ...}."""
    query = (
        select(SuggestionFeedback.entry_id, SuggestionFeedback.verdict, func.count())
        .where(SuggestionFeedback.entry_id.is_not(None))
        .group_by(SuggestionFeedback.entry_id, SuggestionFeedback.verdict)
    )
    query = within(query, SuggestionFeedback.at, since, until)
    result: dict[str, dict[str, int]] = {}
    with Session(engine) as session:
        for entry_id, verdict, count in session.execute(query).all():
            result.setdefault(str(entry_id), {})[str(verdict)] = int(count)
    return result


def load_gap_report(
    engine: Engine,
    kb: KnowledgeBase,
    encoder: Encoder,
    config: LiveIndexConfig,
    since: datetime | None = None,
    until: datetime | None = None,
) -> GapReport:
    """The gap report of the window from the database and the published KB, with the configured thresholds."""
    return build_gap_report(
        gap_questions(engine, since, until),
        encoder,
        distance=config.gap_distance,
        min_count=config.gap_min_count,
        examples=config.gap_examples,
        published_ids=[entry.id for entry in kb.published()],
        match_counts=entry_match_counts(engine, since, until),
        feedback=entry_feedback(engine, since, until),
        min_wrong=config.wrong_min,
        wrong_share=config.wrong_share,
        since=since,
        until=until,
        existing_ids=[entry.id for entry in kb],
    )
