"""Every record the stores hand out: frozen dataclasses, each built from its row by `FromRow.from_row`, the one
place rows become records (a field says how its column converts, in `field(metadata=column(...))`). Records carry
no session: reading them never touches the database. The KB editor's records are in `assistant.store.kb_records`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self, TypeVar, cast

from assistant.domain.messages import (
    Action,
    Choice,
    DecisionKind,
    EscalationStatus,
    HandoffState,
    InboxStatus,
    OutboundStatus,
    PickMethod,
    Priority,
)
from assistant.domain.roles import Role
from assistant.store.tables import SENDABLE_OUTBOUND_STATUSES, DecisionRow, Message

_Value = TypeVar("_Value")
# The field metadata key under which a field keeps how it is read from its row.
_READ = "read_from_row"


def column(convert: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: read from the row's column of the same name through `convert` (the column holds the stored
    form), as in `field(metadata=column(Priority))`."""
    return {_READ: lambda row, name: convert(getattr(row, name))}


def from_columns(build: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: built from several of the row's columns by `build(row)`."""
    return {_READ: lambda row, _name: build(row)}


def optional(convert: Callable[[Any], _Value]) -> Callable[[Any], _Value | None]:
    """`convert` for a nullable column: NULL stays None."""
    return lambda value: None if value is None else convert(value)


class FromRow:
    """A record built from its row: every field is the row's column of the same name, read as the field says
    (its metadata: `column`, `from_columns`); the keywords of `from_row` give the fields that are not columns."""

    @classmethod
    def from_row(cls, row: object, **derived: Any) -> Self:
        values = dict(derived)
        for f in dataclasses.fields(cast(Any, cls)):
            if f.init and f.name not in derived:
                values[f.name] = f.metadata[_READ](row, f.name) if _READ in f.metadata else getattr(row, f.name)
        return cast(Self, cast(Any, cls)(**values))


def _dict_or_none(stored: dict[str, str] | None) -> dict[str, str] | None:
    return dict(stored) if stored else None


def _or_none(stored: str | None) -> str | None:
    return stored or None


def choices_from(stored: list[dict[str, str]] | None) -> tuple[Choice, ...]:
    """Offered choices as stored in a JSON column ([{"label", "payload"}])."""
    return tuple(Choice(str(c["label"]), str(c["payload"])) for c in stored or ())


@dataclass(frozen=True)
class ConversationRecord(FromRow):
    id: int
    platform: str
    conversation_key: str
    sender_id: str | None
    sender_name: str | None
    language: str | None
    handoff: HandoffState = field(metadata=column(HandoffState))
    rephrase_asked: bool
    holding_reply_sent: bool
    assigned_agent: str | None
    last_inbound_at: datetime | None
    last_bot_reply_at: datetime | None
    created_at: datetime
    updated_at: datetime
    reply_target: dict[str, str] | None = field(default=None, metadata=column(_dict_or_none))


@dataclass(frozen=True)
class DecisionRecord(FromRow):
    id: int
    message_id: int
    action: Action = field(metadata=column(Action))
    reason: str | None
    entry_id: str | None
    intent: str | None
    confidence: float
    queue: str | None
    priority: Priority | None = field(metadata=column(optional(Priority)))
    reply_kind: str | None
    reply: str | None
    suggested_answer: str | None
    reasons: list[str] = field(metadata=column(list))
    scores: dict[str, float] = field(metadata=column(dict))
    latency_ms: float
    created_at: datetime
    kind: DecisionKind | None = field(default=None, metadata=column(optional(DecisionKind)))
    choices: tuple[Choice, ...] = field(default=(), metadata=column(choices_from))
    picked: PickMethod | None = field(default=None, metadata=column(optional(PickMethod)))
    read_as: str | None = None


@dataclass(frozen=True)
class MessageRecord(FromRow):
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
    # The length received when the text was longer than the service stores (`text` is its start).
    received_chars: int | None = None

    @classmethod
    def with_decision(cls, row: Message, decision: DecisionRow | None) -> MessageRecord:
        """The message with the engine's decision about it, when it has one."""
        return cls.from_row(row, decision=DecisionRecord.from_row(decision) if decision is not None else None)


@dataclass(frozen=True)
class EscalationRecord(FromRow):
    id: int
    conversation_id: int
    message_id: int | None
    queue: str
    priority: Priority = field(metadata=column(Priority))
    reason: str
    suggested_answer: str | None
    status: EscalationStatus = field(metadata=column(EscalationStatus))
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
class OutboundRecord(FromRow):
    id: int
    idempotency_key: str
    conversation_id: int
    message_id: int | None
    platform: str
    mode: str
    text: str
    status: OutboundStatus = field(metadata=column(OutboundStatus))
    attempts: int
    platform_message_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    author: str = "bot"
    agent_id: int | None = None
    # Quick replies / buttons sent with the text, stored with the reservation so every attempt sends the same.
    choices: tuple[Choice, ...] = field(default=(), metadata=column(choices_from))
    due_at: datetime | None = None
    reply_target: dict[str, str] | None = field(default=None, metadata=column(_dict_or_none))
    # Derived, so callers need not know which statuses may be (re)sent.
    sendable: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sendable", self.status in SENDABLE_OUTBOUND_STATUSES)


@dataclass(frozen=True)
class InboxRecord(FromRow):
    """One event of the durable inbox; `payload` is the stored `InboundEvent.to_dict()` (None once decided)."""

    id: int
    platform: str
    event_id: str
    payload: dict[str, Any] | None
    status: InboxStatus = field(metadata=column(InboxStatus))
    attempts: int
    received_at: datetime
    due_at: datetime
    done_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class UserRecord(FromRow):
    """A console user; `from_row` takes the user's queues as `queues=`."""

    id: int
    username: str
    display_name: str
    email: str | None
    role: Role = field(metadata=column(Role))
    is_active: bool
    capacity: int
    is_online: bool
    last_seen_at: datetime | None
    queues: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@dataclass(frozen=True)
class TokenRecord(FromRow):
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditRecord(FromRow):
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]
    ip: str | None


@dataclass(frozen=True)
class QueueCounts:
    queue: str
    open: int = 0  # waiting for someone to take it
    claimed: int = 0
    breached: int = 0  # active and past its SLA without a first response
    next_due_at: datetime | None = None  # the earliest SLA due time among unanswered active ones

    @property
    def active(self) -> int:
        return self.open + self.claimed


@dataclass(frozen=True)
class EscalationListItem:
    """One row of a queue page: the escalation with just enough of its conversation to choose it."""

    escalation: EscalationRecord
    platform: str
    sender_name: str | None
    language: str | None
    handoff: HandoffState
    preview: str | None  # the message that raised it
    holder: str | None  # username of the person holding it


@dataclass(frozen=True)
class EscalationPage:
    items: list[EscalationListItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class NoteRecord(FromRow):
    """An internal note; `from_row` takes its author's name as `username=`."""

    id: int
    conversation_id: int
    escalation_id: int | None
    user_id: int | None
    username: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CannedReplyRecord(FromRow):
    id: int
    shortcode: str
    language: str
    queue: str | None = field(metadata=column(_or_none))  # None: offered in every queue
    text: str
    updated_at: datetime


@dataclass(frozen=True)
class FeedbackRecord(FromRow):
    """A verdict on a suggested answer; `from_row` takes its author's name as `username=`."""

    id: int
    escalation_id: int
    verdict: str
    user_id: int | None
    username: str | None
    entry_id: str | None
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class GapCandidateRecord(FromRow):
    id: int
    escalation_id: int | None
    conversation_id: int | None
    question: str
    language: str | None
    reply: str
    reason: str
    user_id: int | None
    at: datetime


@dataclass(frozen=True)
class EscalationDetail:
    """Everything the conversation view shows: the thread with the engine's decisions, notes and sends."""

    escalation: EscalationRecord
    conversation: ConversationRecord
    messages: list[MessageRecord]
    notes: list[NoteRecord]
    # Replies reserved but not (yet) delivered: a person's reply is visible, with its status, before it arrives.
    undelivered: list[OutboundRecord]
    feedback: list[FeedbackRecord]
    holder: str | None
    agents: dict[int, str]  # user id → username, for agent messages in the thread
    trigger: MessageRecord | None  # the message that raised the escalation, with its decision


@dataclass(frozen=True)
class HandoffChange:
    """What `set_handoff` did: who owned the conversation before, the conversation now, and the escalations that
    moving it settled."""

    before: HandoffState
    conversation: ConversationRecord
    settled: tuple[EscalationRecord, ...] = ()


@dataclass(frozen=True)
class ReplyReservation:
    outbound: OutboundRecord
    created: bool
    escalation: EscalationRecord
