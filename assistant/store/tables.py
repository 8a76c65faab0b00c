"""The database schema as typed SQLAlchemy ORM classes, every table of the store, with the column types they share.
The schema itself is created only by the Alembic migrations in `migrations/versions`; these classes mirror it.
Longer than 400 lines because the whole schema is one module: one metadata that Alembic and the tests compare."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from assistant.domain.kb_entries import STATUSES as KB_STATUSES
from assistant.domain.messages import EscalationStatus, HandoffState, InboxStatus, OutboundStatus
from assistant.domain.roles import ROLES

DIRECTIONS = ("in", "out")
AUTHORS = ("customer", "bot", "agent", "system")
ESCALATION_STATUSES: tuple[str, ...] = tuple(status.value for status in EscalationStatus)
# Escalations in these states still need a human; at most one of them may exist per conversation.
ACTIVE_ESCALATION_STATUSES: tuple[str, ...] = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)
OUTBOUND_STATUSES: tuple[str, ...] = tuple(status.value for status in OutboundStatus)
OUTBOUND_AUTHORS = ("bot", "agent")
INBOX_STATUSES: tuple[str, ...] = tuple(status.value for status in InboxStatus)
SENDABLE_OUTBOUND_STATUSES: tuple[str, ...] = (OutboundStatus.PENDING.value, OutboundStatus.FAILED.value)
VERDICTS = ("right", "wrong", "missing")
ALL_QUEUES = ""  # canned_replies.queue for a reply offered in every queue

# Deterministic constraint names, so later migrations (and SQLite batch mode) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The full-text index of message texts (assistant.store.conversation_search): an FTS5 table on SQLite, a tsvector
# table on PostgreSQL, made by migration 0008 and not mirrored here, so comparisons against the models skip it.
SEARCH_TABLE = "message_search"


def include_in_comparison(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's include_object: everything but the search index, which differs per backend by design."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


def utcnow() -> datetime:
    return datetime.now(UTC)


def in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL text `column IN ('a', 'b')` for CHECK constraints and partial-index predicates."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """The one place where times are normalised: aware UTC in, aware UTC out, on every backend.

    SQLite has no time zone type and hands back naive values; PostgreSQL hands back the session's zone.
    Naive input is refused rather than guessed, because a guessed zone corrupts SLA timers silently.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite stores text: naive UTC text in one format keeps comparisons and MIN/MAX correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_literal(value: datetime) -> ColumnElement[datetime]:
    """A bound time for CASE/MIN/COALESCE: a bare datetime there would bind as plain DateTime and skip UTC
    normalisation."""
    return literal(value, UTCDateTime())


def json_type() -> TypeEngine[Any]:
    # JSONB on PostgreSQL (compact, indexable); plain JSON text elsewhere.
    return JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("platform", "conversation_key", name="uq_conversations_platform_key"),
        CheckConstraint(in_list("handoff", tuple(state.value for state in HandoffState)), name="handoff"),
        # The customer panel: the same platform user's other conversations (migration 0008).
        Index("ix_conversations_platform_sender", "platform", "sender_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    conversation_key: Mapped[str] = mapped_column(String(255))
    sender_id: Mapped[str | None] = mapped_column(String(255))
    sender_name: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    handoff: Mapped[str] = mapped_column(String(32), default=HandoffState.BOT.value)
    rephrase_asked: Mapped[bool] = mapped_column(default=False)
    holding_reply_sent: Mapped[bool] = mapped_column(default=False)
    assigned_agent: Mapped[str | None] = mapped_column(String(255))
    # What the platform adapter needs to answer this conversation later (a person's reply), taken from the
    # latest inbound event; None for conversations recorded before migration 0003.
    reply_target: Mapped[dict[str, str] | None] = mapped_column(json_type())
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_bot_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The database-level guarantee that a redelivered platform event is recorded once. Outbound rows
        # carry NULL event ids, and NULLs never collide in a unique constraint on either backend.
        UniqueConstraint("platform", "platform_event_id", name="uq_messages_platform_event"),
        CheckConstraint(in_list("direction", DIRECTIONS), name="direction"),
        CheckConstraint(in_list("author", AUTHORS), name="author"),
        # History reads and first-response metrics walk one conversation's messages in time order.
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    author: Mapped[str] = mapped_column(String(16))
    platform_event_id: Mapped[str | None] = mapped_column(String(255))
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    is_public: Mapped[bool] = mapped_column(default=False)
    # The length received when the text was longer than the service stores (`text` is its start).
    received_chars: Mapped[int | None] = mapped_column(Integer)
    # The person who wrote an agent message (users.id).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_created_at", "created_at"),
        Index("ix_decisions_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    entry_id: Mapped[str | None] = mapped_column(String(255))
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None] = mapped_column(Integer)
    reply_kind: Mapped[str | None] = mapped_column(String(64))
    # assistant.domain.messages.DecisionKind: only "kb_answer" counts as answered (migration 0006 filled older rows).
    kind: Mapped[str | None] = mapped_column(String(16))
    # A clarification's offered choices ([{"label", "payload"}]), the next message's pick method, and the text a
    # short follow-up was decided on when it was read with the previous question.
    choices: Mapped[list[dict[str, str]] | None] = mapped_column(json_type())
    picked: Mapped[str | None] = mapped_column(String(16))
    read_as: Mapped[str | None] = mapped_column(Text)
    # The reply the engine chose, kept even when it was never sent (moderated, failed, human took over).
    reply: Mapped[str | None] = mapped_column(Text)
    suggested_answer: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(json_type(), default=list)
    scores: Mapped[dict[str, float]] = mapped_column(json_type(), default=dict)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(in_list("status", ESCALATION_STATUSES), name="status"),
        # Never two escalations needing a human in one conversation, even when two workers race.
        Index(
            "uq_escalations_active_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(in_list("status", ACTIVE_ESCALATION_STATUSES)),
            postgresql_where=text(in_list("status", ACTIVE_ESCALATION_STATUSES)),
        ),
        # The queue page: by status (and queue), most urgent first, then the earliest due.
        Index("ix_escalations_queue_order", "status", "queue", "priority", "sla_due_at"),
        Index("ix_escalations_created_at", "created_at"),
        Index("ix_escalations_helpdesk_pushed_at", "helpdesk_pushed_at"),
        # The console's "did anything change?" poll reads MAX(updated_at); agent load counts by assignee.
        Index("ix_escalations_updated_at", "updated_at"),
        Index("ix_escalations_assigned_status", "assigned_agent_id", "status"),
        # The SLA beat looks for active escalations past due that are not flagged yet.
        Index("ix_escalations_status_due", "status", "sla_due_at"),
        # Search results and the customer panel find a conversation's escalations (migration 0008).
        Index("ix_escalations_conversation_id", "conversation_id"),
        # The inbox's resolved list, the latest first (migration 0008).
        Index("ix_escalations_status_resolved", "status", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    suggested_answer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.OPEN.value)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    helpdesk_ticket_id: Mapped[str | None] = mapped_column(String(255))
    helpdesk_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Console work: who holds it (status "claimed"), when the SLA was found breached, and a version that every
    # change bumps, so a page or API call acting on stale state is refused instead of overwriting.
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Outbound(Base):
    __tablename__ = "outbound"
    __table_args__ = (
        CheckConstraint(in_list("status", OUTBOUND_STATUSES), name="status"),
        CheckConstraint(in_list("author", OUTBOUND_AUTHORS), name="author"),
        Index("ix_outbound_conversation_id", "conversation_id"),
        Index("ix_outbound_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One row per intended send: a retried task finds the row instead of sending again.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    # The options offered with the text ([{"label", "payload"}], see assistant.domain.messages.Choice); NULL for none.
    choices: Mapped[list[dict[str, str]] | None] = mapped_column(json_type())
    # Who speaks: the bot's replies and a person's replies from the console share the one delivery path.
    author: Mapped[str] = mapped_column(String(16), default="bot")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=OutboundStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a delivery task should next hold the row (a retry's backoff moves it on); the outbox sweeper takes
    # rows left past it, whose task was lost with a Redis restart or a killed worker.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where the reply goes (the adapter's target of the message answered), for a sweeper that queues it again.
    reply_target: Mapped[dict[str, str] | None] = mapped_column(json_type())


class InboxEvent(Base):
    """The durable inbox: every verified webhook event, stored before the webhook answers, so Redis never holds a
    message that exists nowhere else."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id", name="uq_inbox_platform_event"),
        CheckConstraint(in_list("status", INBOX_STATUSES), name="status"),
        # The sweeper reads the received events past their due time.
        Index("ix_inbox_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(255))
    # The cleaned event (`InboundEvent.to_dict`); NULL once decided, when the message row holds what is kept.
    payload: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.RECEIVED.value)
    # How often it was queued (the webhook's and each sweep's); past the limit a person gets it.
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(in_list("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # No foreign key: the log outlives the accounts it mentions, and keeps the name they had.
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class QueueMember(Base):
    __tablename__ = "queue_members"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)


class ConversationLabel(Base):
    """A label an agent put on a conversation (migration 0008); the inbox filters by it."""

    __tablename__ = "conversation_labels"
    __table_args__ = (Index("ix_conversation_labels_label", "label"),)

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_conversation_created", "conversation_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = (
        UniqueConstraint("shortcode", "language", "queue", name="uq_canned_replies_shortcode_language_queue"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortcode: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(64), default=ALL_QUEUES)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SuggestionFeedback(Base):
    __tablename__ = "suggestion_feedback"
    __table_args__ = (
        CheckConstraint(in_list("verdict", VERDICTS), name="verdict"),
        Index("ix_suggestion_feedback_at", "at"),
        Index("ix_suggestion_feedback_escalation_id", "escalation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entry_id: Mapped[str | None] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GapCandidate(Base):
    __tablename__ = "gap_candidates"
    __table_args__ = (Index("ix_gap_candidates_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    reply: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KbEntryRow(Base):
    __tablename__ = "kb_entries"
    __table_args__ = (CheckConstraint(in_list("status", KB_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(json_type())
    questions: Mapped[dict[str, list[str]]] = mapped_column(json_type())
    answers: Mapped[dict[str, str]] = mapped_column(json_type())
    # The YAML file the entry lives in, so an export writes it back where the team keeps it.
    source_file: Mapped[str | None] = mapped_column(String(255))
    # The name the team wrote where it is not a valid id (`kb import`), shown instead of the id (migration 0010).
    label: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    # The version customers get; None until first published and again once archived.
    published_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class KbEntryVersionRow(Base):
    __tablename__ = "kb_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_kb_entry_versions_entry_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entries.entry_id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(json_type())
    author: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
