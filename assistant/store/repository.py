"""The store's one interface: `Store`, where every method is one short transaction returning plain dataclasses.
Duplicates (redelivered events, retried sends, racing workers) are settled by unique constraints, not by luck."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import EllipsisType
from typing import Any

from sqlalchemy import ColumnElement, Engine, case, func, literal, null, select, text, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assistant.errors import NotFound
from assistant.messages import (
    Action,
    Choice,
    ConversationState,
    Decision,
    DecisionKind,
    EscalationReason,
    HandoffState,
    PickMethod,
    Priority,
)
from assistant.store.db import SUPPORTED_BACKENDS, Transactions, make_engine
from assistant.store.models import (
    ACTIVE_ESCALATION_STATUSES,
    ESCALATION_STATUSES,
    SENDABLE_OUTBOUND_STATUSES,
    Conversation,
    DecisionRow,
    Escalation,
    Message,
    Outbound,
    UTCDateTime,
    in_list,
    utcnow,
)

REPLY_AUTHORS = ("bot", "agent", "system")
# Platform error bodies can be whole HTML pages; the start says what went wrong.
MAX_ERROR_CHARS = 4000
# How often open_escalation retries when the escalation it collided with was resolved in between (PostgreSQL).
_ESCALATION_ATTEMPTS = 5
# The decisions about a customer question (not a greeting, a complaint or silence): the previous turn that a short
# follow-up is read with. Escalations count only for these reasons, where the question itself went unanswered.
_QUESTION_ESCALATIONS = (
    EscalationReason.LOW_CONFIDENCE.value,
    EscalationReason.OUT_OF_SCOPE.value,
    EscalationReason.IN_HOURS_POLICY.value,
)


class NotFoundError(NotFound, LookupError):
    """The conversation, escalation or outbound row does not exist."""


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    platform: str
    conversation_key: str
    sender_id: str | None
    sender_name: str | None
    language: str | None
    handoff: HandoffState
    rephrase_asked: bool
    holding_reply_sent: bool
    assigned_agent: str | None
    last_inbound_at: datetime | None
    last_bot_reply_at: datetime | None
    created_at: datetime
    updated_at: datetime
    reply_target: dict[str, str] | None = None


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    message_id: int
    action: Action
    reason: str | None
    entry_id: str | None
    intent: str | None
    confidence: float
    queue: str | None
    priority: Priority | None
    reply_kind: str | None
    reply: str | None
    suggested_answer: str | None
    reasons: list[str]
    scores: dict[str, float]
    latency_ms: float
    created_at: datetime
    kind: DecisionKind | None = None
    choices: tuple[Choice, ...] = ()
    picked: PickMethod | None = None
    read_as: str | None = None


@dataclass(frozen=True)
class MessageRecord:
    """One message of a conversation's history, with the engine's decision about it (inbound only)."""

    id: int
    conversation_id: int
    direction: str
    author: str
    platform_event_id: str | None
    platform_message_id: str | None
    text: str
    language: str | None
    is_public: bool
    created_at: datetime
    decision: DecisionRecord | None = None
    agent_id: int | None = None


@dataclass(frozen=True)
class EscalationRecord:
    id: int
    conversation_id: int
    message_id: int | None
    queue: str
    priority: Priority
    reason: str
    suggested_answer: str | None
    status: str
    sla_due_at: datetime
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    helpdesk_ticket_id: str | None
    helpdesk_pushed_at: datetime | None
    assigned_agent_id: int | None = None
    claimed_at: datetime | None = None
    sla_breached_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class OutboundRecord:
    id: int
    idempotency_key: str
    conversation_id: int
    message_id: int | None
    platform: str
    mode: str
    text: str
    status: str
    attempts: int
    platform_message_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    author: str = "bot"
    agent_id: int | None = None
    # Quick replies / buttons sent with the text, stored with the reservation so every attempt sends the same.
    choices: tuple[Choice, ...] = ()
    # Derived, so callers need not know which statuses may be (re)sent.
    sendable: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sendable", self.status in SENDABLE_OUTBOUND_STATUSES)


def _utc(value: datetime) -> ColumnElement[datetime]:
    # A bare datetime inside CASE/MIN would bind as plain DateTime and skip UTC normalisation.
    return literal(value, UTCDateTime())


def _later(column: Any, value: datetime) -> ColumnElement[datetime]:
    """`value` if it is later than the column (or the column is NULL): out-of-order events never move time back."""
    bound = _utc(value)
    return case((column.is_(None), bound), (column < bound, bound), else_=column)


def _conversation_record(row: Conversation) -> ConversationRecord:
    return ConversationRecord(
        id=row.id,
        platform=row.platform,
        conversation_key=row.conversation_key,
        sender_id=row.sender_id,
        sender_name=row.sender_name,
        language=row.language,
        handoff=HandoffState(row.handoff),
        rephrase_asked=row.rephrase_asked,
        holding_reply_sent=row.holding_reply_sent,
        assigned_agent=row.assigned_agent,
        last_inbound_at=row.last_inbound_at,
        last_bot_reply_at=row.last_bot_reply_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reply_target=dict(row.reply_target) if row.reply_target else None,
    )


def _decision_record(row: DecisionRow) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        message_id=row.message_id,
        action=Action(row.action),
        reason=row.reason,
        entry_id=row.entry_id,
        intent=row.intent,
        confidence=row.confidence,
        queue=row.queue,
        priority=Priority(row.priority) if row.priority is not None else None,
        reply_kind=row.reply_kind,
        reply=row.reply,
        suggested_answer=row.suggested_answer,
        reasons=list(row.reasons),
        scores=dict(row.scores),
        latency_ms=row.latency_ms,
        created_at=row.created_at,
        kind=DecisionKind(row.kind) if row.kind is not None else None,
        choices=_choices(row.choices),
        picked=PickMethod(row.picked) if row.picked is not None else None,
        read_as=row.read_as,
    )


def _choices(stored: list[dict[str, str]] | None) -> tuple[Choice, ...]:
    return tuple(Choice(str(c["label"]), str(c["payload"])) for c in stored or ())


def _message_record(row: Message, decision: DecisionRow | None) -> MessageRecord:
    return MessageRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        direction=row.direction,
        author=row.author,
        platform_event_id=row.platform_event_id,
        platform_message_id=row.platform_message_id,
        text=row.text,
        language=row.language,
        is_public=row.is_public,
        created_at=row.created_at,
        decision=_decision_record(decision) if decision is not None else None,
        agent_id=row.agent_id,
    )


def _escalation_record(row: Escalation) -> EscalationRecord:
    return EscalationRecord(
        id=row.id,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        queue=row.queue,
        priority=Priority(row.priority),
        reason=row.reason,
        suggested_answer=row.suggested_answer,
        status=row.status,
        sla_due_at=row.sla_due_at,
        created_at=row.created_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        helpdesk_ticket_id=row.helpdesk_ticket_id,
        helpdesk_pushed_at=row.helpdesk_pushed_at,
        assigned_agent_id=row.assigned_agent_id,
        claimed_at=row.claimed_at,
        sla_breached_at=row.sla_breached_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _outbound_record(row: Outbound) -> OutboundRecord:
    return OutboundRecord(
        id=row.id,
        idempotency_key=row.idempotency_key,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
        platform=row.platform,
        mode=row.mode,
        text=row.text,
        status=row.status,
        attempts=row.attempts,
        platform_message_id=row.platform_message_id,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        author=row.author,
        agent_id=row.agent_id,
        choices=_choices(row.choices),
    )


class Store(Transactions):
    """Conversations, messages, decisions, escalations and outbound sends on SQLite or PostgreSQL.

    The schema must already exist: run `assistant.store.db.migrate(url)` first (it is cheap when current).
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in SUPPORTED_BACKENDS:
            raise ValueError(f"unsupported database {engine.dialect.name!r}; supported: {SUPPORTED_BACKENDS}")
        super().__init__(engine)

    @classmethod
    def from_url(cls, database_url: str, **engine_kwargs: Any) -> Store:
        return cls(make_engine(database_url, **engine_kwargs))

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, model: type[Any]) -> PgInsert | SqliteInsert:
        # INSERT … ON CONFLICT DO NOTHING settles races without raising, so PostgreSQL does not abort the
        # transaction (and log an error) for every redelivered event.
        return pg_insert(model) if self._postgres else sqlite_insert(model)

    # Conversations

    def conversation(
        self, platform: str, key: str, sender_id: str | None = None, sender_name: str | None = None
    ) -> ConversationRecord:
        """The conversation for (platform, key), created on first sight; safe when workers race to create it."""
        where = (Conversation.platform == platform, Conversation.conversation_key == key)
        with self._write() as session:
            row = session.scalars(select(Conversation).where(*where)).one_or_none()
            if row is None:
                now = utcnow()
                session.execute(
                    self._insert(Conversation)
                    .values(
                        platform=platform,
                        conversation_key=key,
                        sender_id=sender_id,
                        sender_name=sender_name,
                        handoff=HandoffState.BOT.value,
                        rephrase_asked=False,
                        holding_reply_sent=False,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["platform", "conversation_key"])
                )
                # Whether we inserted it or a racing worker did, it is there now.
                row = session.scalars(select(Conversation).where(*where)).one()
            else:
                # Display names change; keep the latest the platform told us.
                if sender_name is not None and row.sender_name != sender_name:
                    row.sender_name = sender_name
                if sender_id is not None and row.sender_id is None:
                    row.sender_id = sender_id
                session.flush()
            return _conversation_record(row)

    def conversation_by_id(self, conversation_id: int) -> ConversationRecord:
        with self._read() as session:
            row = session.get(Conversation, conversation_id)
            if row is None:
                raise NotFoundError(f"conversation {conversation_id}")
            return _conversation_record(row)

    def update_conversation(
        self,
        conversation_id: int,
        *,
        handoff: HandoffState | str | None = None,
        language: str | None = None,
        rephrase_asked: bool | None = None,
        holding_reply_sent: bool | None = None,
        last_bot_reply_at: datetime | None = None,
        assigned_agent: str | EllipsisType | None = ...,
        reply_target: dict[str, str] | None = None,
    ) -> None:
        """Change the given fields; `assigned_agent=None` clears the agent, leaving it out keeps it."""
        values: dict[str, Any] = {"updated_at": utcnow()}
        if reply_target:
            values["reply_target"] = {str(key): str(value) for key, value in reply_target.items()}
        if handoff is not None:
            values["handoff"] = HandoffState(handoff).value
        if language is not None:
            values["language"] = language
        if rephrase_asked is not None:
            values["rephrase_asked"] = rephrase_asked
        if holding_reply_sent is not None:
            values["holding_reply_sent"] = holding_reply_sent
        if last_bot_reply_at is not None:
            values["last_bot_reply_at"] = last_bot_reply_at
        if not isinstance(assigned_agent, EllipsisType):
            values["assigned_agent"] = assigned_agent
        with self._write() as session:
            found = session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(**values)
                .returning(Conversation.id)
            ).scalar_one_or_none()
            if found is None:
                raise NotFoundError(f"conversation {conversation_id}")

    def conversation_state(self, conversation_id: int) -> ConversationState:
        """What the engine needs; `turns` counts the customer's messages recorded so far. The offered choices are
        those of the latest decided customer message; the previous question is the latest decided one that was a
        question (a KB answer, a clarification, or an escalation because the KB had no confident answer), read as
        the engine read it."""
        with self._read() as session:
            row = session.get(Conversation, conversation_id)
            if row is None:
                raise NotFoundError(f"conversation {conversation_id}")
            turns = session.scalar(
                select(func.count(Message.id)).where(
                    Message.conversation_id == conversation_id, Message.direction == "in"
                )
            )
            decided = (
                select(Message, DecisionRow)
                .join(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.conversation_id == conversation_id, Message.direction == "in")
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(1)
            )
            latest = session.execute(decided).first()
            question = session.execute(
                decided.where(
                    (DecisionRow.kind.in_((DecisionKind.KB_ANSWER.value, DecisionKind.CLARIFICATION.value)))
                    | (
                        (DecisionRow.kind == DecisionKind.ESCALATION.value)
                        & DecisionRow.reason.in_(_QUESTION_ESCALATIONS)
                    )
                )
            ).first()
            state = ConversationState(
                handoff=HandoffState(row.handoff),
                rephrase_asked=row.rephrase_asked,
                holding_reply_sent=row.holding_reply_sent,
                turns=int(turns or 0),
                language=row.language,
                offered_choices=list(_choices(latest[1].choices)) if latest is not None else [],
            )
            if question is not None:
                message, decision = question
                answered = decision.kind == DecisionKind.KB_ANSWER.value or decision.reason == "in_hours_policy"
                state.previous_text = decision.read_as or message.text
                state.previous_entry_id = decision.entry_id if answered else None
                state.previous_at = message.created_at
            return state

    # Messages and decisions

    def record_inbound(
        self,
        conversation_id: int,
        platform: str,
        event_id: str | None,
        text: str,
        language: str | None,
        is_public: bool,
        at: datetime,
        reply_target: dict[str, str] | None = None,
    ) -> int | None:
        """The new message's id, or None when (platform, event_id) was recorded before (a redelivery).

        `reply_target` (what the adapter needs to answer) is kept on the conversation, so a person can reply
        later; the latest message's target wins, as it is the one the platform expects an answer to.
        """
        with self._write() as session:
            message_id = session.execute(
                self._insert(Message)
                .values(
                    conversation_id=conversation_id,
                    platform=platform,
                    direction="in",
                    author="customer",
                    platform_event_id=event_id,
                    text=text,
                    language=language,
                    is_public=is_public,
                    created_at=at,
                )
                .on_conflict_do_nothing(index_elements=["platform", "platform_event_id"])
                .returning(Message.id)
            ).scalar_one_or_none()
            if message_id is None:
                return None
            values: dict[str, Any] = {
                "last_inbound_at": _later(Conversation.last_inbound_at, at),
                "updated_at": utcnow(),
            }
            if reply_target:
                values["reply_target"] = {str(key): str(value) for key, value in reply_target.items()}
            session.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))
            return int(message_id)

    def inbound_message_id(self, platform: str, event_id: str) -> int | None:
        """The id of the message recorded for a platform event, if any (a redelivery's first record)."""
        with self._read() as session:
            found = session.scalar(
                select(Message.id).where(Message.platform == platform, Message.platform_event_id == event_id)
            )
            return int(found) if found is not None else None

    def has_decision(self, message_id: int) -> bool:
        with self._read() as session:
            return session.scalar(select(DecisionRow.id).where(DecisionRow.message_id == message_id)) is not None

    def ping(self) -> None:
        """Raise if the database cannot be reached (readiness probe)."""
        with self._read() as session:
            session.execute(text("SELECT 1"))

    def record_decision(self, message_id: int, decision: Decision, at: datetime | None = None) -> int:
        """Store the engine's decision about a message; a retried task keeps the first one and gets its id."""
        with self._write() as session:
            decision_id = session.execute(
                self._insert(DecisionRow)
                .values(
                    message_id=message_id,
                    action=Action(decision.action).value,
                    reason=decision.reason.value if decision.reason is not None else None,
                    entry_id=decision.entry_id,
                    intent=decision.intent,
                    confidence=float(decision.confidence),
                    queue=decision.queue,
                    priority=int(decision.priority) if decision.priority is not None else None,
                    reply_kind=decision.reply_kind,
                    kind=decision.kind.value if decision.kind is not None else None,
                    # null(), not None: None would be stored as the JSON value null, which IS NULL does not find.
                    choices=[{"label": c.label, "payload": c.payload} for c in decision.choices] or null(),
                    picked=decision.picked.value if decision.picked is not None else None,
                    read_as=decision.read_as,
                    reply=decision.reply,
                    suggested_answer=decision.suggested_answer,
                    # float(): numpy scalars are not JSON serialisable.
                    reasons=[str(reason) for reason in decision.reasons],
                    scores={str(name): float(value) for name, value in decision.scores.items()},
                    latency_ms=float(decision.latency_ms),
                    created_at=at or utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
                .returning(DecisionRow.id)
            ).scalar_one_or_none()
            if decision_id is None:
                return int(session.scalars(select(DecisionRow.id).where(DecisionRow.message_id == message_id)).one())
            # The webhook may not have known the language; the engine detected it.
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.language.is_(None))
                .values(language=decision.language)
            )
            return int(decision_id)

    def record_outbound_message(
        self,
        conversation_id: int,
        author: str,
        text: str,
        platform_message_id: str | None = None,
        *,
        language: str | None = None,
        at: datetime | None = None,
        agent_id: int | None = None,
    ) -> int:
        """Add a bot, agent or system message to the history; returns its id.

        A bot message moves `last_bot_reply_at`; an agent message is the human first response of the
        conversation's open escalation, if it has none yet.
        """
        if author not in REPLY_AUTHORS:
            raise ValueError(f"author must be one of {REPLY_AUTHORS}, not {author!r}")
        at = at or utcnow()
        with self._write() as session:
            platform = session.scalar(select(Conversation.platform).where(Conversation.id == conversation_id))
            if platform is None:
                raise NotFoundError(f"conversation {conversation_id}")
            message = Message(
                conversation_id=conversation_id,
                platform=platform,
                direction="out",
                author=author,
                platform_message_id=platform_message_id,
                text=text,
                language=language,
                is_public=False,
                agent_id=agent_id,
                created_at=at,
            )
            session.add(message)
            session.flush()
            if author == "bot":
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id)
                    .values(last_bot_reply_at=_later(Conversation.last_bot_reply_at, at), updated_at=utcnow())
                )
            elif author == "agent":
                session.execute(
                    update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow())
                )
                session.execute(
                    update(Escalation)
                    .where(
                        Escalation.conversation_id == conversation_id,
                        Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                        Escalation.first_response_at.is_(None),
                    )
                    .values(first_response_at=at, updated_at=utcnow(), version=Escalation.version + 1)
                )
            return message.id

    def history(self, conversation_id: int, limit: int = 50) -> list[MessageRecord]:
        """The latest `limit` messages, oldest first, each with its decision."""
        with self._read() as session:
            rows = session.execute(
                select(Message, DecisionRow)
                .outerjoin(DecisionRow, DecisionRow.message_id == Message.id)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(limit)
            ).all()
            return [_message_record(message, decision) for message, decision in reversed(rows)]

    # Escalations

    def open_escalation(
        self,
        conversation_id: int,
        message_id: int | None,
        queue: str,
        priority: int,
        reason: str,
        suggested_answer: str | None,
        sla_due_at: datetime,
        *,
        at: datetime | None = None,
    ) -> int:
        """The conversation's escalation id: a new one, or the one already open/claimed.

        An existing escalation keeps its reason and queue, but a higher priority raises it and an earlier
        SLA pulls its due time forward. A partial unique index makes two open escalations impossible.
        """
        priority = int(Priority(priority))
        active = text(in_list("status", ACTIVE_ESCALATION_STATUSES))
        for _ in range(_ESCALATION_ATTEMPTS):
            with self._write() as session:
                new_id = session.execute(
                    self._insert(Escalation)
                    .values(
                        conversation_id=conversation_id,
                        message_id=message_id,
                        queue=queue,
                        priority=priority,
                        reason=str(reason),
                        suggested_answer=suggested_answer,
                        status="open",
                        sla_due_at=sla_due_at,
                        created_at=at or utcnow(),
                        updated_at=utcnow(),
                        version=1,
                    )
                    .on_conflict_do_nothing(index_elements=["conversation_id"], index_where=active)
                    .returning(Escalation.id)
                ).scalar_one_or_none()
                if new_id is not None:
                    return int(new_id)
                due = _utc(sla_due_at)
                existing_id = session.execute(
                    update(Escalation)
                    .where(
                        Escalation.conversation_id == conversation_id,
                        Escalation.status.in_(ACTIVE_ESCALATION_STATUSES),
                    )
                    .values(
                        priority=case((Escalation.priority < priority, priority), else_=Escalation.priority),
                        sla_due_at=case((Escalation.sla_due_at > due, due), else_=Escalation.sla_due_at),
                        # A new customer message in a worked escalation is news for the console's pollers.
                        updated_at=utcnow(),
                        version=Escalation.version + 1,
                    )
                    .returning(Escalation.id)
                ).scalar_one_or_none()
                if existing_id is not None:
                    return int(existing_id)
            # The escalation we collided with was resolved in between: try again.
        raise RuntimeError(f"could not open an escalation for conversation {conversation_id}")

    def escalation(self, escalation_id: int) -> EscalationRecord:
        with self._read() as session:
            row = session.get(Escalation, escalation_id)
            if row is None:
                raise NotFoundError(f"escalation {escalation_id}")
            return _escalation_record(row)

    def escalations(
        self, status: str | None = "open", queue: str | None = None, limit: int = 100
    ) -> list[EscalationRecord]:
        """A queue's escalations, most urgent first, then the earliest due; status None lists all."""
        if status is not None and status not in ESCALATION_STATUSES:
            raise ValueError(f"status must be one of {ESCALATION_STATUSES} or None, not {status!r}")
        query = select(Escalation)
        if status is not None:
            query = query.where(Escalation.status == status)
        if queue is not None:
            query = query.where(Escalation.queue == queue)
        query = query.order_by(Escalation.priority.desc(), Escalation.sla_due_at.asc(), Escalation.id.asc())
        with self._read() as session:
            return [_escalation_record(row) for row in session.scalars(query.limit(limit))]

    def claim_escalation(self, escalation_id: int, agent: str) -> bool:
        """Open → claimed by `agent` (also the conversation's assigned agent); False if no longer open."""
        with self._write() as session:
            conversation_id = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status == "open")
                .values(status="claimed", claimed_at=utcnow(), updated_at=utcnow(), version=Escalation.version + 1)
                .returning(Escalation.conversation_id)
            ).scalar_one_or_none()
            if conversation_id is None:
                return False
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(assigned_agent=agent, updated_at=utcnow())
            )
            return True

    def resolve_escalation(self, escalation_id: int, at: datetime) -> bool:
        """Open/claimed → resolved; False if it was already resolved or does not exist."""
        with self._write() as session:
            found = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status.in_(ACTIVE_ESCALATION_STATUSES))
                .values(status="resolved", resolved_at=at, updated_at=utcnow(), version=Escalation.version + 1)
                .returning(Escalation.id)
            ).scalar_one_or_none()
            return found is not None

    def mark_escalation_pushed(self, escalation_id: int, ticket_id: str, at: datetime) -> None:
        with self._write() as session:
            found = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id)
                .values(helpdesk_ticket_id=ticket_id, helpdesk_pushed_at=at)
                .returning(Escalation.id)
            ).scalar_one_or_none()
            if found is None:
                raise NotFoundError(f"escalation {escalation_id}")

    def unpushed_escalations(self, limit: int = 100) -> list[EscalationRecord]:
        """Open or claimed escalations not yet sent to the helpdesk, oldest first.

        Resolved ones are left out: a ticket for something already settled is noise for the staff.
        """
        query = (
            select(Escalation)
            .where(Escalation.helpdesk_pushed_at.is_(None), Escalation.status.in_(ACTIVE_ESCALATION_STATUSES))
            .order_by(Escalation.created_at.asc(), Escalation.id.asc())
            .limit(limit)
        )
        with self._read() as session:
            return [_escalation_record(row) for row in session.scalars(query)]

    # Outbound sends

    def reserve_outbound(
        self,
        idempotency_key: str,
        conversation_id: int,
        message_id: int | None,
        platform: str,
        mode: str,
        text: str,
        *,
        at: datetime | None = None,
        author: str = "bot",
        agent_id: int | None = None,
        choices: Sequence[Choice] = (),
    ) -> tuple[OutboundRecord, bool]:
        """(row, created): the send for this key; an existing key returns its row unchanged, created False."""
        with self._write() as session:
            new_id = session.execute(
                self._insert(Outbound)
                .values(
                    idempotency_key=idempotency_key,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    platform=platform,
                    mode=mode,
                    text=text,
                    choices=[{"label": c.label, "payload": c.payload} for c in choices] or None,
                    author=author,
                    agent_id=agent_id,
                    status="pending",
                    attempts=0,
                    created_at=at or utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(Outbound.id)
            ).scalar_one_or_none()
            row = session.scalars(select(Outbound).where(Outbound.idempotency_key == idempotency_key)).one()
            return _outbound_record(row), new_id is not None

    def outbound(self, outbound_id: int) -> OutboundRecord:
        with self._read() as session:
            row = session.get(Outbound, outbound_id)
            if row is None:
                raise NotFoundError(f"outbound {outbound_id}")
            return _outbound_record(row)

    def outbound_by_key(self, idempotency_key: str) -> OutboundRecord | None:
        with self._read() as session:
            row = session.scalars(select(Outbound).where(Outbound.idempotency_key == idempotency_key)).one_or_none()
            return _outbound_record(row) if row is not None else None

    def mark_sending(self, outbound_id: int) -> bool:
        """Atomically pending/failed → sending, counting the attempt; False when someone else holds it, or it
        was sent, is unknown or dead. Only the caller that got True may call the platform."""
        return self._transition(
            outbound_id,
            SENDABLE_OUTBOUND_STATUSES,
            {"status": "sending", "attempts": Outbound.attempts + 1},
        )

    def mark_sent(self, outbound_id: int, platform_message_id: str | None, at: datetime) -> bool:
        """Record the platform's confirmation; also from "unknown", when a late confirmation settles it."""
        return self._transition(
            outbound_id,
            ("pending", "sending", "failed", "unknown"),
            {"status": "sent", "platform_message_id": platform_message_id, "sent_at": at},
        )

    def mark_failed(self, outbound_id: int, error: str, retryable: bool) -> bool:
        """sending → failed (retryable: mark_sending may take it again) or dead (final)."""
        return self._transition(
            outbound_id,
            ("sending",),
            {"status": "failed" if retryable else "dead", "last_error": error[:MAX_ERROR_CHARS]},
        )

    def mark_refused(self, outbound_id: int, error: str) -> bool:
        """pending/failed → dead without an attempt: the send was refused before calling the platform (the
        platform is disabled, or the reply window has closed)."""
        return self._transition(
            outbound_id, SENDABLE_OUTBOUND_STATUSES, {"status": "dead", "last_error": error[:MAX_ERROR_CHARS]}
        )

    def mark_unknown(self, outbound_id: int, error: str) -> bool:
        """sending → unknown: the platform may or may not have delivered it, so it is never resent by itself."""
        return self._transition(outbound_id, ("sending",), {"status": "unknown", "last_error": error[:MAX_ERROR_CHARS]})

    def _transition(self, outbound_id: int, from_statuses: Sequence[str], values: dict[str, Any]) -> bool:
        # One conditional UPDATE is the compare-and-set: concurrent callers serialise on the row lock and
        # re-check the status, so exactly one sees its condition still true.
        with self._write() as session:
            found = session.execute(
                update(Outbound)
                .where(Outbound.id == outbound_id, Outbound.status.in_(tuple(from_statuses)))
                .values(**values)
                .returning(Outbound.id)
            ).scalar_one_or_none()
            return found is not None

    # Metrics for reports

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
        query = (
            select(DecisionRow.action, func.count()).where(DecisionRow.created_at >= since).group_by(DecisionRow.action)
        )
        with self._read() as session:
            return {str(action): int(count) for action, count in session.execute(query).all()}

    def kind_counts(self, since: datetime) -> dict[str, int]:
        """How many decisions of each kind were taken since `since`; "kb_answer" is the count of answers.
        Decisions recorded without a kind (made outside the policy) count as "unknown"."""
        query = select(DecisionRow.kind, func.count()).where(DecisionRow.created_at >= since).group_by(DecisionRow.kind)
        with self._read() as session:
            return {str(kind or "unknown"): int(count) for kind, count in session.execute(query).all()}

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
        query = (
            select(Escalation.reason, func.count()).where(Escalation.created_at >= since).group_by(Escalation.reason)
        )
        with self._read() as session:
            return {str(reason): int(count) for reason, count in session.execute(query).all()}
