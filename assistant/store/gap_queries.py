"""Read-only queries that feed the content-gap report: unanswered questions with the people's replies to them,
how often each FAQ entry was answered, and the agents' verdicts on suggested entries, over a time window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from assistant.embeddings import Encoder
from assistant.gap_report import GapQuestion, GapReport, build_gap_report
from assistant.knowledge_base import KnowledgeBase
from assistant.messages import Action
from assistant.settings import LiveIndexConfig
from assistant.store.console import GAP_REASONS, GapCandidate, SuggestionFeedback
from assistant.store.models import DecisionRow, Escalation, Message


def gap_questions(
    engine: Engine, since: datetime | None = None, until: datetime | None = None, limit: int = 50_000
) -> list[GapQuestion]:
    """Escalations for out-of-scope / low-confidence questions (the customer's text, the first person's reply
    kept as a gap candidate), plus gap candidates that belong to no such escalation."""
    with Session(engine) as session:
        replies: dict[int, str] = {}
        loose: list[GapQuestion] = []
        candidates = select(GapCandidate).order_by(GapCandidate.at, GapCandidate.id)
        if since is not None:
            candidates = candidates.where(GapCandidate.at >= since)
        if until is not None:
            candidates = candidates.where(GapCandidate.at < until)
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
        if since is not None:
            query = query.where(Escalation.created_at >= since)
        if until is not None:
            query = query.where(Escalation.created_at < until)
        found = [
            GapQuestion(text, language, reason, replies.get(escalation_id), escalation_id, at)
            for escalation_id, reason, at, text, language in session.execute(query).all()
        ]
    return found + loose


def entry_match_counts(engine: Engine, since: datetime | None = None, until: datetime | None = None) -> dict[str, int]:
    """How many messages each FAQ entry answered in the window."""
    query = (
        select(DecisionRow.entry_id, func.count())
        .where(DecisionRow.entry_id.is_not(None), DecisionRow.action == Action.ANSWER.value)
        .group_by(DecisionRow.entry_id)
    )
    if since is not None:
        query = query.where(DecisionRow.created_at >= since)
    if until is not None:
        query = query.where(DecisionRow.created_at < until)
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
    if since is not None:
        query = query.where(SuggestionFeedback.at >= since)
    if until is not None:
        query = query.where(SuggestionFeedback.at < until)
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
