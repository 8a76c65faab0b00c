"""Every record the stores hand out: frozen dataclasses, each built from its row by its own `from_row`, the one
place rows become records. Records carry no session: reading them never touches the database.
Longer than 400 lines because every record of every aggregate lives here, so there is one converter per row."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from assistant.domain.kb_entries import KBEntry
from assistant.domain.messages import (
    Action,
    Choice,
    DecisionKind,
    EscalationStatus,
    HandoffState,
    OutboundStatus,
    PickMethod,
    Priority,
)
from assistant.domain.roles import Role
from assistant.knowledge.knowledge_base import dump_entries
from assistant.store.tables import (
    SENDABLE_OUTBOUND_STATUSES,
    ApiToken,
    AuditEntry,
    CannedReply,
    Conversation,
    DecisionRow,
    Escalation,
    GapCandidate,
    KbEntryRow,
    KbEntryVersionRow,
    Message,
    Note,
    Outbound,
    SuggestionFeedback,
    User,
)

_Record = TypeVar("_Record")


def _columns(cls: type[_Record], row: object, **derived: Any) -> _Record:
    """A record whose other fields are the row's columns of the same name."""
    names = [f.name for f in dataclasses.fields(cast(Any, cls)) if f.init and f.name not in derived]
    return cls(**{name: getattr(row, name) for name in names}, **derived)


def choices_from(stored: list[dict[str, str]] | None) -> tuple[Choice, ...]:
    """Offered choices as stored in a JSON column ([{"label", "payload"}])."""
    return tuple(Choice(str(c["label"]), str(c["payload"])) for c in stored or ())


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

    @classmethod
    def from_row(cls, row: Conversation) -> ConversationRecord:
        reply_target = dict(row.reply_target) if row.reply_target else None
        return _columns(cls, row, handoff=HandoffState(row.handoff), reply_target=reply_target)


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

    @classmethod
    def from_row(cls, row: DecisionRow) -> DecisionRecord:
        return _columns(
            cls,
            row,
            action=Action(row.action),
            priority=Priority(row.priority) if row.priority is not None else None,
            reasons=list(row.reasons),
            scores=dict(row.scores),
            kind=DecisionKind(row.kind) if row.kind is not None else None,
            choices=choices_from(row.choices),
            picked=PickMethod(row.picked) if row.picked is not None else None,
        )


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

    @classmethod
    def from_row(cls, row: Message, decision: DecisionRow | None = None) -> MessageRecord:
        return _columns(cls, row, decision=DecisionRecord.from_row(decision) if decision is not None else None)


@dataclass(frozen=True)
class EscalationRecord:
    id: int
    conversation_id: int
    message_id: int | None
    queue: str
    priority: Priority
    reason: str
    suggested_answer: str | None
    status: EscalationStatus
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

    @classmethod
    def from_row(cls, row: Escalation) -> EscalationRecord:
        return _columns(cls, row, priority=Priority(row.priority), status=EscalationStatus(row.status))


@dataclass(frozen=True)
class OutboundRecord:
    id: int
    idempotency_key: str
    conversation_id: int
    message_id: int | None
    platform: str
    mode: str
    text: str
    status: OutboundStatus
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

    @classmethod
    def from_row(cls, row: Outbound) -> OutboundRecord:
        return _columns(cls, row, status=OutboundStatus(row.status), choices=choices_from(row.choices))


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    is_active: bool
    capacity: int
    is_online: bool
    last_seen_at: datetime | None
    queues: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @classmethod
    def from_row(cls, row: User, queues: tuple[str, ...]) -> UserRecord:
        return _columns(cls, row, role=Role(row.role), queues=queues)


@dataclass(frozen=True)
class TokenRecord:
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiToken) -> TokenRecord:
        return _columns(cls, row)


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]
    ip: str | None

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditRecord:
        return _columns(cls, row)


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
class NoteRecord:
    id: int
    conversation_id: int
    escalation_id: int | None
    user_id: int | None
    username: str | None
    text: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Note, username: str | None) -> NoteRecord:
        return _columns(cls, row, username=username)


@dataclass(frozen=True)
class CannedReplyRecord:
    id: int
    shortcode: str
    language: str
    queue: str | None  # None: offered in every queue
    text: str
    updated_at: datetime

    @classmethod
    def from_row(cls, row: CannedReply) -> CannedReplyRecord:
        return _columns(cls, row, queue=row.queue or None)


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    escalation_id: int
    verdict: str
    user_id: int | None
    username: str | None
    entry_id: str | None
    comment: str | None
    at: datetime

    @classmethod
    def from_row(cls, row: SuggestionFeedback, username: str | None) -> FeedbackRecord:
        return _columns(cls, row, username=username)


@dataclass(frozen=True)
class GapCandidateRecord:
    id: int
    escalation_id: int | None
    conversation_id: int | None
    question: str
    language: str | None
    reply: str
    reason: str
    user_id: int | None
    at: datetime

    @classmethod
    def from_row(cls, row: GapCandidate) -> GapCandidateRecord:
        return _columns(cls, row)


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


@dataclass(frozen=True)
class EntryContent:
    """What an editor writes: the fields of one YAML entry."""

    entry_id: str
    questions: dict[str, list[str]]
    answers: dict[str, str]
    tags: list[str] = field(default_factory=list)
    source_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry_id,
            "tags": list(self.tags),
            "questions": {lang: list(qs) for lang, qs in sorted(self.questions.items())},
            "answers": dict(sorted(self.answers.items())),
            "source_file": self.source_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EntryContent:
        return cls(
            entry_id=str(data["id"]),
            questions={str(k): [str(q) for q in v] for k, v in dict(data.get("questions") or {}).items()},
            answers={str(k): str(v) for k, v in dict(data.get("answers") or {}).items()},
            tags=[str(t) for t in data.get("tags") or []],
            source_file=data.get("source_file"),
        )

    def to_kb_entry(self, status: str) -> KBEntry:
        return KBEntry(
            id=self.entry_id,
            questions={lang: list(qs) for lang, qs in self.questions.items()},
            answers=dict(self.answers),
            tags=list(self.tags),
            status=status,
            source_file=self.source_file,
        )

    def yaml_text(self) -> str:
        """The entry as it would read in a KB file (what diffs compare)."""
        text = dump_entries([self.to_kb_entry("published")]).removeprefix("entries:\n")
        return text.replace("  status: published\n", "", 1)


@dataclass(frozen=True)
class KbEntryRecord:
    content: EntryContent
    status: str
    version: int
    published_version: int | None
    updated_at: datetime
    updated_by: str | None

    @property
    def entry_id(self) -> str:
        return self.content.entry_id

    @property
    def is_live(self) -> bool:
        return self.published_version is not None

    def missing_languages(self, languages: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
        """Per configured language, what is missing: 'questions' and/or 'answer'."""
        missing: dict[str, list[str]] = {}
        for lang in languages:
            gaps = []
            if not self.content.questions.get(lang):
                gaps.append("questions")
            if not self.content.answers.get(lang):
                gaps.append("answer")
            if gaps:
                missing[lang] = gaps
        return missing

    @classmethod
    def from_row(cls, row: KbEntryRow) -> KbEntryRecord:
        content = EntryContent(row.entry_id, dict(row.questions), dict(row.answers), list(row.tags), row.source_file)
        return _columns(cls, row, content=content)


@dataclass(frozen=True)
class KbVersionRecord:
    entry_id: str
    version: int
    content: EntryContent
    status: str
    author: str | None
    at: datetime
    note: str | None

    @classmethod
    def from_row(cls, row: KbEntryVersionRow) -> KbVersionRecord:
        return _columns(cls, row, content=EntryContent.from_dict(row.content))


@dataclass(frozen=True)
class ChangeResult:
    """What a change did; `live_changed` says whether customers' answers changed (re-index needed)."""

    record: KbEntryRecord
    live_changed: bool


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    published: int
