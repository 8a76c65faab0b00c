"""The queues API's request and answer models (pydantic): what /api/v1/openapi.json documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.settings import QUEUE_NAME_PATTERN

MAX_IDEMPOTENCY_KEY = 128


class QueueOut(BaseModel):
    name: str
    title: str
    configured: bool = Field(description="False for a queue that only exists because escalations name it")
    open: int
    claimed: int
    breached: int
    next_due_at: datetime | None


class QueueListOut(BaseModel):
    queues: list[QueueOut]
    token: str = Field(description="Pass to /api/v1/changes to learn cheaply whether anything changed")


class EscalationOut(BaseModel):
    id: int
    conversation_id: int
    queue: str
    status: Literal["open", "claimed", "resolved"]
    priority: Literal["low", "normal", "high", "urgent"]
    reason: str
    reason_text: str = Field(description="The reason in words, as agents read it")
    sla_due_at: datetime
    sla_breached: bool
    sla_breached_at: datetime | None
    created_at: datetime
    claimed_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    holder: str | None
    version: int


class EscalationItemOut(EscalationOut):
    platform: str
    sender_name: str | None
    language: str | None
    handoff: str
    preview: str | None


class EscalationListOut(BaseModel):
    queue: str
    show: str
    items: list[EscalationItemOut]
    page: int
    per_page: int
    total: int
    pages: int
    token: str


class EscalationListQuery(BaseModel):
    show: Literal["active", "open", "claimed", "mine", "breached", "resolved"] = "active"
    page: int = Field(1, ge=1, le=100_000)
    per_page: int | None = Field(None, ge=1, le=500)


class ChangesQuery(BaseModel):
    token: str | None = Field(None, max_length=200)


class ChangesOut(BaseModel):
    changed: bool
    token: str


class DecisionOut(BaseModel):
    action: str
    reason: str | None
    entry_id: str | None
    intent: str | None
    confidence: float
    reply_kind: str | None
    suggested_answer: str | None
    reasons: list[str]
    scores: dict[str, float]
    summary: str = Field(description="What the bot did and why, in words")
    closest_entry: str | None = Field(
        None, description="Where a KB entry was close but not close enough: 'closest entry: X (not sure enough …)'"
    )


class MessageOut(BaseModel):
    id: int
    direction: str
    author: Literal["customer", "bot", "agent", "system"]
    text: str
    language: str | None
    created_at: datetime
    agent: str | None
    decision: DecisionOut | None
    # Set when the message was longer than the service stores: its length as received (`text` is the start).
    received_chars: int | None = None


class NoteOut(BaseModel):
    id: int
    text: str
    author: str | None
    created_at: datetime


class PendingReplyOut(BaseModel):
    id: int
    text: str
    status: str
    mode: str
    attempts: int
    last_error: str | None
    agent: str | None
    created_at: datetime


class FeedbackOut(BaseModel):
    verdict: Literal["right", "wrong", "missing"]
    author: str | None
    entry_id: str | None
    comment: str | None
    at: datetime


class ReplyWindowOut(BaseModel):
    open: bool
    closes_at: datetime | None
    human_agent_until: datetime | None


class ConversationOut(BaseModel):
    id: int
    platform: str
    sender_name: str | None
    language: str | None
    handoff: str
    last_inbound_at: datetime | None
    can_reply: bool = Field(description="False when no reply target is known for this conversation")
    reply_window: ReplyWindowOut


class EscalationDetailOut(BaseModel):
    escalation: EscalationOut
    suggested_answer: str | None
    decision: DecisionOut | None = Field(description="The engine's decision on the message that raised it")
    conversation: ConversationOut
    messages: list[MessageOut]
    notes: list[NoteOut]
    pending_replies: list[PendingReplyOut]
    feedback: list[FeedbackOut]
    human_replied: bool = Field(description="Whether a person has answered (or is answering) since it was opened")
    token: str


class VersionIn(BaseModel):
    version: int | None = Field(None, description="The version you acted on; a different current one gives 409")


class ReplyIn(VersionIn):
    text: str = Field(description="1 to console.max_reply_chars characters (empty or longer: 400)")
    idempotency_key: str | None = Field(
        None, max_length=MAX_IDEMPOTENCY_KEY, description="The same key again returns the first reply, sends nothing"
    )
    human_agent_tag: bool = Field(
        False, description="Meta only: send with the HUMAN_AGENT tag (allowed up to 7 days after the last message)"
    )
    resolve: bool = Field(False, description="Reply and resolve: the escalation is resolved once the reply is queued")


class ResolveIn(VersionIn):
    confirm_unanswered: bool = Field(
        False, description="Resolve although nobody replied to the customer (without it: 409, kind 'unanswered')"
    )


class ReplyOut(BaseModel):
    outbound_id: int
    status: str
    mode: str
    created: bool
    escalation: EscalationOut


class NoteIn(BaseModel):
    text: str


class PriorityIn(VersionIn):
    priority: Literal["low", "normal", "high", "urgent"]


class TransferIn(VersionIn):
    queue: str = Field(max_length=64)


class FeedbackIn(BaseModel):
    verdict: Literal["right", "wrong", "missing"]
    entry_id: str | None = Field(None, max_length=255, description="The KB entry that should have answered")
    comment: str | None = Field(None, max_length=2000)


class CannedReplyOut(BaseModel):
    id: int
    shortcode: str
    language: str
    queue: str | None
    text: str


class CannedReplyListOut(BaseModel):
    items: list[CannedReplyOut]


class CannedReplyQuery(BaseModel):
    queue: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=16)


class CannedReplyIn(BaseModel):
    shortcode: str = Field(max_length=64, description="Lower-case letters, digits, '-' and '_'; 422 otherwise")
    language: str = Field(min_length=2, max_length=16)
    text: str = Field(
        min_length=1, max_length=20_000, description="May use the KB answers' placeholders ({first_name}, {brand}, …)"
    )
    queue: str | None = Field(None, pattern=QUEUE_NAME_PATTERN)


class ConflictOut(BaseModel):
    error: str
    kind: Literal["stale", "held", "resolved", "reply_window", "no_reply_target", "handoff", "unanswered"]
    holder: str | None = None
    current: EscalationOut | None = None
    alternative: dict[str, Any] | None = None
