"""The queues side of the agent console: JSON API (/api/v1/…) and pages (/console/…) to list queues and their
escalations, read a whole conversation, claim, reply through the platform, note, prioritise, transfer, resolve
and hand back to the bot. Every action goes through `QueueActions`, so pages and API behave the same."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response as BaseResponse

from assistant.errors import BadInput, Conflict, Forbidden, NotFound
from assistant.handoff import HandoffTransitionError, check_transition
from assistant.messages import HandoffState, Priority
from assistant.settings import QUEUE_NAME_PATTERN, Settings
from assistant.sla import first_response_due
from assistant.store.accounts import UserRecord
from assistant.store.console import (
    GAP_REASONS,
    LIST_FILTERS,
    CannedReplyRecord,
    ClaimConflictError,
    ConsoleStore,
    EscalationDetail,
    EscalationListItem,
    QueueCounts,
)
from assistant.store.repository import DecisionRecord, EscalationRecord, MessageRecord, NotFoundError
from webhooks.adapters.registry import rules_for
from webhooks.adapters.reply_windows import ReplyWindow, reply_window
from webhooks.console import QueueLink, set_queue_links
from webhooks.console.auth import (
    api_auth_required,
    audit,
    can_see_queue,
    current_account,
    page_login_required,
)
from webhooks.console.openapi import api_operation, json_body, query_model
from webhooks.http_errors import add_error_body
from webhooks.runtime import Runtime

STORE_EXTENSION = "console.queues.store"
RUNTIME_EXTENSION = "console.queues.runtime"
DELIVER_EXTENSION = "console.queues.deliver"
# Who works queues. Admins are accepted everywhere; editors write the KB and canned replies, not customers.
WORK_ROLES = ("agent",)
CANNED_EDIT_ROLES = ("editor",)
PRIORITY_NAMES = {priority.name.lower(): priority for priority in Priority}
MAX_IDEMPOTENCY_KEY = 128

Deliver = Callable[[int, dict[str, str], str], None]

bp = Blueprint("queues", __name__, template_folder="templates")


# The objects a request needs


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return runtime


def _settings() -> Settings:
    return _runtime().settings


def console_store() -> ConsoleStore:
    store: ConsoleStore = current_app.extensions[STORE_EXTENSION]()
    return store


def request_queue_counts() -> dict[str, QueueCounts]:
    """Per-queue counts, read at most once per request (one GROUP BY over the active escalations) and shared by
    the page and the header's queue links."""
    if "queue_counts" not in g:
        g.queue_counts = console_store().queue_counts()
    counts: dict[str, QueueCounts] = g.queue_counts
    return counts


def _nav_count_context() -> dict[str, Any]:
    # A function, not the counts: partials that never show the header never pay for the query.
    def nav_count(queue: str) -> int:
        found = request_queue_counts().get(queue)
        return found.active if found is not None else 0

    return {"nav_count": nav_count}


def celery_deliver(redis_url: str) -> Deliver:
    """Queue `deliver_reply` on this app's broker: the same task, retries and idempotency as the bot's replies."""

    def deliver(outbound_id: int, reply_target: dict[str, str], conversation_key: str) -> None:
        from webhooks.celery_app import deliver_reply, enqueue_on

        enqueue_on(redis_url, deliver_reply, outbound_id, reply_target, conversation_key)

    return deliver


def register_queues(app: Flask, runtime: Runtime, deliver: Deliver | None = None) -> None:
    """Register the queues blueprint; `deliver` queues a reserved reply for sending (Celery by default)."""
    app.extensions[RUNTIME_EXTENSION] = runtime
    # Built on first use: creating the app must not need the database (the readiness probe reports it).
    app.extensions[STORE_EXTENSION] = functools.cache(lambda: ConsoleStore(runtime.store.engine))
    app.extensions.setdefault(DELIVER_EXTENSION, deliver or celery_deliver(runtime.settings.service.redis_url))
    set_queue_links(app, _queue_links(runtime.settings))
    add_error_body(app, ClaimConflictError, _claim_conflict_body)
    add_error_body(app, HandoffTransitionError, _handoff_conflict_body)
    add_error_body(app, ReplyConflictError, _reply_conflict_body)
    app.context_processor(_nav_count_context)
    app.register_blueprint(bp)


def _queue_links(settings: Settings) -> Callable[[UserRecord], list[QueueLink]]:
    def links(user: UserRecord) -> list[QueueLink]:
        return [
            QueueLink(queue.name, queue.label, f"/console/queues/{queue.name}")
            for queue in settings.console.queues
            if can_see_queue(user, queue.name)
        ]

    return links


# API models


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


class MessageOut(BaseModel):
    id: int
    direction: str
    author: Literal["customer", "bot", "agent", "system"]
    text: str
    language: str | None
    created_at: datetime
    agent: str | None
    decision: DecisionOut | None


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
    shortcode: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    language: str = Field(min_length=2, max_length=16)
    text: str = Field(min_length=1, max_length=20_000)
    queue: str | None = Field(None, pattern=QUEUE_NAME_PATTERN)


class ConflictOut(BaseModel):
    error: str
    kind: Literal["stale", "held", "resolved", "reply_window", "no_reply_target", "handoff"]
    holder: str | None = None
    current: EscalationOut | None = None
    alternative: dict[str, Any] | None = None


# Errors


# Actions raise the library's kinds (assistant.errors: BadInput 400, Forbidden 403, NotFound 404, Conflict 409);
# the one error handler answers them. A 409 carries the current state in a ConflictOut body, built here.


class ReplyConflictError(Conflict):
    """A reply the conversation refuses (reply window closed, no reply address); `out` is the 409's body."""

    def __init__(self, message: str, out: ConflictOut) -> None:
        super().__init__(message)
        self.out = out


def _claim_conflict_body(error: ClaimConflictError) -> dict[str, Any]:
    out = ConflictOut(
        error=error.message,
        kind=error.kind,
        holder=error.holder,
        current=escalation_out(error.current, error.holder),
    )
    return out.model_dump(mode="json", exclude_none=True)


def _handoff_conflict_body(error: HandoffTransitionError) -> dict[str, Any]:
    return ConflictOut(error=str(error), kind="handoff").model_dump(mode="json", exclude_none=True)


def _reply_conflict_body(error: ReplyConflictError) -> dict[str, Any]:
    return error.out.model_dump(mode="json", exclude_none=True)


# Output builders


def _priority_name(priority: Priority | int) -> Literal["low", "normal", "high", "urgent"]:
    name = Priority(priority).name.lower()
    return name  # type: ignore[return-value]


def is_breached(escalation: EscalationRecord, now: datetime) -> bool:
    if escalation.status == "resolved":
        return escalation.sla_breached_at is not None
    return escalation.sla_breached_at is not None or (
        escalation.first_response_at is None and escalation.sla_due_at < now
    )


def escalation_out(escalation: EscalationRecord, holder: str | None, now: datetime | None = None) -> EscalationOut:
    return EscalationOut(
        id=escalation.id,
        conversation_id=escalation.conversation_id,
        queue=escalation.queue,
        status=escalation.status,
        priority=_priority_name(escalation.priority),
        reason=escalation.reason,
        sla_due_at=escalation.sla_due_at,
        sla_breached=is_breached(escalation, now or datetime.now(UTC)),
        sla_breached_at=escalation.sla_breached_at,
        created_at=escalation.created_at,
        claimed_at=escalation.claimed_at,
        first_response_at=escalation.first_response_at,
        resolved_at=escalation.resolved_at,
        holder=holder if escalation.status == "claimed" else None,
        version=escalation.version,
    )


def item_out(item: EscalationListItem, now: datetime) -> EscalationItemOut:
    base = escalation_out(item.escalation, item.holder, now)
    return EscalationItemOut(
        **base.model_dump(),
        platform=item.platform,
        sender_name=item.sender_name,
        language=item.language,
        handoff=item.handoff.value,
        preview=item.preview,
    )


def decision_out(decision: DecisionRecord | None) -> DecisionOut | None:
    if decision is None:
        return None
    return DecisionOut(
        action=decision.action.value,
        reason=decision.reason,
        entry_id=decision.entry_id,
        intent=decision.intent,
        confidence=decision.confidence,
        reply_kind=decision.reply_kind,
        suggested_answer=decision.suggested_answer,
        reasons=decision.reasons,
        scores=decision.scores,
    )


def message_out(message: MessageRecord, agents: dict[int, str]) -> MessageOut:
    return MessageOut(
        id=message.id,
        direction=message.direction,
        author=message.author,
        text=message.text,
        language=message.language,
        created_at=message.created_at,
        agent=agents.get(message.agent_id) if message.agent_id is not None else None,
        decision=decision_out(message.decision),
    )


def canned_out(reply: CannedReplyRecord) -> CannedReplyOut:
    return CannedReplyOut(
        id=reply.id, shortcode=reply.shortcode, language=reply.language, queue=reply.queue, text=reply.text
    )


# The actions, shared by pages and API


@dataclass(frozen=True)
class QueueView:
    name: str
    title: str
    configured: bool
    counts: QueueCounts


class QueueActions:
    """Everything an agent can do, with access checks, validation and the audit line; refusals raise the
    library's kinds (BadInput, Forbidden, NotFound, Conflict), which the one error handler answers."""

    def __init__(self, user: UserRecord) -> None:
        self.user = user
        self.store = console_store()
        self.settings = _settings()
        self.config = self.settings.console

    # Reading

    @functools.cached_property
    def counts(self) -> dict[str, QueueCounts]:
        return request_queue_counts()

    def queues(self) -> list[QueueView]:
        counts = self.counts
        views = [
            QueueView(queue.name, queue.label, True, counts.get(queue.name, QueueCounts(queue.name)))
            for queue in self.config.queues
        ]
        # Escalations in a queue the settings no longer name are still listed, so nothing is lost.
        views += [
            QueueView(name, name, False, count)
            for name, count in sorted(counts.items())
            if self.config.queue(name) is None
        ]
        return [view for view in views if can_see_queue(self.user, view.name)]

    def known_queue(self, queue: str) -> QueueView:
        """The queue if it exists (404 otherwise) and the caller may see it (403 otherwise)."""
        configured = self.config.queue(queue)
        counts = self.counts
        if configured is None and queue not in counts:
            raise NotFound(f"unknown queue {queue[:64]!r}")
        if not can_see_queue(self.user, queue):
            raise Forbidden(f"you are not a member of queue {queue!r}")
        title = configured.label if configured is not None else queue
        return QueueView(queue, title, configured is not None, counts.get(queue, QueueCounts(queue)))

    def escalation(self, escalation_id: int) -> EscalationRecord:
        try:
            escalation = self.store.escalation(escalation_id)
        except NotFoundError as error:
            raise NotFound(f"no escalation {escalation_id}") from error
        if not can_see_queue(self.user, escalation.queue):
            raise Forbidden(f"escalation {escalation_id} is in queue {escalation.queue!r}, not one of yours")
        return escalation

    def detail(self, escalation_id: int) -> EscalationDetail:
        self.escalation(escalation_id)
        return self.store.detail(escalation_id)

    def canned_for(self, queue: str, language: str | None) -> dict[str, CannedReplyRecord]:
        """Shortcode → reply in the sender's language, else the default language, else any."""
        order = [language or self.settings.default_language, self.settings.default_language]
        chosen: dict[str, CannedReplyRecord] = {}
        for reply in self.store.canned_replies(queue=queue):
            current = chosen.get(reply.shortcode)
            rank = order.index(reply.language) if reply.language in order else len(order)
            current_rank = (
                (order.index(current.language) if current.language in order else len(order)) if current else 99
            )
            # A queue's own reply beats the all-queue one in the same language.
            if current is None or rank < current_rank or (rank == current_rank and reply.queue and not current.queue):
                chosen[reply.shortcode] = reply
        return dict(sorted(chosen.items()))

    # Changing

    def claim(self, escalation_id: int, version: int | None) -> EscalationRecord:
        self.escalation(escalation_id)
        record, changed = self.store.claim(escalation_id, self.user.id, self.user.username, version)
        if changed:
            audit("claim", "escalation", escalation_id, queue=record.queue)
        return record

    def reply(
        self, escalation_id: int, text: str, idempotency_key: str | None, version: int | None, human_agent_tag: bool
    ) -> tuple[Any, bool, EscalationRecord]:
        escalation = self.escalation(escalation_id)
        body = text.strip()
        if not body:
            raise BadInput("the reply is empty: write something to send")
        if len(body) > self.config.max_reply_chars:
            raise BadInput(
                f"the reply is {len(body)} characters long; the limit is {self.config.max_reply_chars}. "
                "Shorten it or send it in parts.",
            )
        key = f"agent:{escalation_id}:{idempotency_key or uuid.uuid4().hex}"
        existing = _runtime().store.outbound_by_key(key)
        if existing is not None:
            # The same request again (a double click, a retried call): the first answer, nothing sent twice.
            return existing, False, escalation
        conversation = _runtime().store.conversation_by_id(escalation.conversation_id)
        if not conversation.reply_target:
            raise ReplyConflictError(
                "this conversation has no reply address recorded (it started before the console was installed); "
                "answer it on the platform itself",
                ConflictOut(error="no reply address recorded", kind="no_reply_target"),
            )
        now = datetime.now(UTC)
        # The platform's windows as its adapter declares them (webhooks.adapters.reply_windows applies them).
        rules = rules_for(conversation.platform)
        window = reply_window(rules, conversation.last_inbound_at, now, self.config.offer_human_agent_tag)
        taggable = rules.tagged_reply_window is not None
        mode = "reply"
        if not window.open:
            if human_agent_tag and window.human_agent_allowed:
                mode = "human_agent"
            else:
                raise ReplyConflictError(*self._window_refusal(conversation.platform, window, human_agent_tag))
        elif human_agent_tag and taggable:
            mode = "human_agent"
        check_transition(conversation.handoff, HandoffState.HUMAN)
        reservation = self.store.reserve_reply(
            escalation_id, self.user.id, self.user.username, key, body, mode, expected_version=version
        )
        if reservation.created:
            audit(
                "reply",
                "escalation",
                escalation_id,
                outbound_id=reservation.outbound.id,
                mode=mode,
                chars=len(body),
                gap_candidate=escalation.reason in GAP_REASONS,
            )
        if reservation.outbound.sendable:
            deliver: Deliver = current_app.extensions[DELIVER_EXTENSION]
            deliver(reservation.outbound.id, dict(conversation.reply_target), conversation.conversation_key)
        return reservation.outbound, reservation.created, reservation.escalation

    def _window_refusal(self, platform: str, window: ReplyWindow, asked_tag: bool) -> tuple[str, ConflictOut]:
        closed = window.closes_at.strftime("%Y-%m-%d %H:%M UTC") if window.closes_at else "earlier"
        if window.human_agent_allowed and window.human_agent_until is not None:
            until = window.human_agent_until.strftime("%Y-%m-%d %H:%M UTC")
            message = (
                f"{platform} accepts ordinary replies only within 24 hours of the customer's last message; that "
                f"window closed at {closed}. You can still send this as a human-agent message (Meta's HUMAN_AGENT "
                f"tag) until {until}: resend with human_agent_tag set."
            )
            alternative = {"human_agent_tag": True, "until": window.human_agent_until.isoformat()}
            return message, ConflictOut(error=message, kind="reply_window", alternative=alternative)
        if asked_tag and rules_for(platform).tagged_reply_window is not None:
            message = (
                f"{platform}: the 7-day window for human-agent messages has closed too; the customer has to write "
                "first before anyone can answer."
            )
        elif platform == "whatsapp":
            message = (
                f"WhatsApp accepts free-form replies only within 24 hours of the customer's last message (closed at "
                f"{closed}); after that only an approved message template can be sent, from WhatsApp Manager."
            )
        else:
            message = (
                f"{platform} accepts replies only within 24 hours of the customer's last message (closed at {closed}) "
                "and the 7-day human-agent window has passed too; the customer has to write first."
            )
        return message, ConflictOut(error=message, kind="reply_window")

    def note(self, escalation_id: int, text: str) -> Any:
        self.escalation(escalation_id)
        body = text.strip()
        if not body:
            raise BadInput("the note is empty")
        if len(body) > self.config.max_note_chars:
            raise BadInput(f"the note is {len(body)} characters long; the limit is {self.config.max_note_chars}")
        note = self.store.add_note(escalation_id, self.user.id, body)
        audit("note", "escalation", escalation_id, note_id=note.id, chars=len(body))
        return note

    def set_priority(self, escalation_id: int, priority: str, version: int | None) -> EscalationRecord:
        escalation = self.escalation(escalation_id)
        if priority not in PRIORITY_NAMES:
            raise BadInput(f"priority must be one of {', '.join(PRIORITY_NAMES)}")
        level = PRIORITY_NAMES[priority]
        due = first_response_due(
            _runtime().hours, self.settings.service.sla_first_response_minutes, level, escalation.created_at
        )
        record = self.store.set_priority(escalation_id, level, due, version)
        audit("set_priority", "escalation", escalation_id, priority=priority, was=_priority_name(escalation.priority))
        return record

    def transfer(self, escalation_id: int, queue: str, version: int | None) -> EscalationRecord:
        escalation = self.escalation(escalation_id)
        if self.config.queue(queue) is None:
            raise NotFound(f"unknown queue {queue[:64]!r}; queues: {', '.join(q.name for q in self.config.queues)}")
        record = self.store.transfer(escalation_id, queue, version)
        audit("transfer", "escalation", escalation_id, queue=queue, was=escalation.queue)
        return record

    def settle(self, escalation_id: int, handoff: HandoffState, version: int | None) -> EscalationRecord:
        escalation = self.escalation(escalation_id)
        conversation = _runtime().store.conversation_by_id(escalation.conversation_id)
        check_transition(conversation.handoff, handoff)
        holder_check = None if self.user.role == "admin" else self.user.id
        record = self.store.settle(escalation_id, handoff, expected_version=version, agent_id=holder_check)
        audit(
            "hand_back" if handoff == HandoffState.BOT else "resolve", "escalation", escalation_id, queue=record.queue
        )
        return record

    def feedback(self, escalation_id: int, verdict: str, entry_id: str | None, comment: str | None) -> Any:
        self.escalation(escalation_id)
        record = self.store.add_feedback(escalation_id, verdict, self.user.id, entry_id, comment)
        audit("suggestion_feedback", "escalation", escalation_id, verdict=verdict, entry_id=entry_id)
        return record

    def holder_name(self, escalation: EscalationRecord) -> str | None:
        if escalation.assigned_agent_id is None:
            return None
        if escalation.assigned_agent_id == self.user.id:
            return self.user.username
        return self.store.username(escalation.assigned_agent_id)


def detail_out(detail: EscalationDetail, token: str, settings: Settings) -> EscalationDetailOut:
    now = datetime.now(UTC)
    conversation = detail.conversation
    window = reply_window(
        rules_for(conversation.platform), conversation.last_inbound_at, now, settings.console.offer_human_agent_tag
    )
    return EscalationDetailOut(
        escalation=escalation_out(detail.escalation, detail.holder, now),
        suggested_answer=detail.escalation.suggested_answer,
        decision=decision_out(detail.trigger.decision if detail.trigger else None),
        conversation=ConversationOut(
            id=conversation.id,
            platform=conversation.platform,
            sender_name=conversation.sender_name,
            language=conversation.language,
            handoff=conversation.handoff.value,
            last_inbound_at=conversation.last_inbound_at,
            can_reply=bool(conversation.reply_target),
            reply_window=ReplyWindowOut(
                open=window.open, closes_at=window.closes_at, human_agent_until=window.human_agent_until
            ),
        ),
        messages=[message_out(message, detail.agents) for message in detail.messages],
        notes=[NoteOut(id=n.id, text=n.text, author=n.username, created_at=n.created_at) for n in detail.notes],
        pending_replies=[
            PendingReplyOut(
                id=o.id,
                text=o.text,
                status=o.status,
                mode=o.mode,
                attempts=o.attempts,
                last_error=o.last_error,
                agent=detail.agents.get(o.agent_id) if o.agent_id is not None else None,
                created_at=o.created_at,
            )
            for o in detail.undelivered
            if o.author == "agent"
        ],
        feedback=[
            FeedbackOut(verdict=f.verdict, author=f.username, entry_id=f.entry_id, comment=f.comment, at=f.at)
            for f in detail.feedback
        ],
        token=token,
    )


# JSON API


def _json(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def _actions() -> QueueActions:
    return QueueActions(current_account())


WORK = ("agent",)


@bp.get("/api/v1/queues")
@api_operation(
    "/api/v1/queues",
    "get",
    "The queues the caller works, with counts and SLA breaches",
    response=QueueListOut,
    roles=WORK,
    tags=("queues",),
)
@api_auth_required(*WORK)
def api_queues() -> Response:
    actions = _actions()
    queues = [
        QueueOut(
            name=view.name,
            title=view.title,
            configured=view.configured,
            open=view.counts.open,
            claimed=view.counts.claimed,
            breached=view.counts.breached,
            next_due_at=view.counts.next_due_at,
        )
        for view in actions.queues()
    ]
    return _json(QueueListOut(queues=queues, token=actions.store.changes_token()))


@bp.get("/api/v1/changes")
@api_operation(
    "/api/v1/changes",
    "get",
    "Whether any escalation was opened or changed since `token` (204 when nothing changed: cheap to poll)",
    response=ChangesOut,
    roles=WORK,
    query=ChangesQuery,
    tags=("queues",),
    description="Answers 204 with no body while `token` is still current; 200 with the new token otherwise.",
)
@api_auth_required(*WORK)
def api_changes() -> Response:
    query = query_model(ChangesQuery)
    token = console_store().changes_token()
    if query.token == token:
        return Response(status=204)
    return _json(ChangesOut(changed=True, token=token))


def _list(queue: str, query: EscalationListQuery, actions: QueueActions) -> EscalationListOut:
    actions.known_queue(queue)
    per_page = query.per_page or actions.config.page_size
    page = actions.store.escalation_page(
        queue, show=query.show, agent_id=actions.user.id, page=query.page, per_page=per_page
    )
    now = datetime.now(UTC)
    return EscalationListOut(
        queue=queue,
        show=query.show,
        items=[item_out(item, now) for item in page.items],
        page=page.page,
        per_page=page.per_page,
        total=page.total,
        pages=page.pages,
        token=actions.store.changes_token(),
    )


@bp.get("/api/v1/queues/<queue>/escalations")
@api_operation(
    "/api/v1/queues/{queue}/escalations",
    "get",
    "A queue's escalations: most urgent first, then the earliest SLA due time; paginated",
    response=EscalationListOut,
    roles=WORK,
    query=EscalationListQuery,
    tags=("queues",),
    errors=(404,),
)
@api_auth_required(*WORK)
def api_queue_escalations(queue: str) -> Response:
    return _json(_list(queue, query_model(EscalationListQuery), _actions()))


@bp.get("/api/v1/escalations/<int:escalation_id>")
@api_operation(
    "/api/v1/escalations/{escalation_id}",
    "get",
    "One escalation with the whole conversation (customer, bot and agent turns), the engine's reasons and "
    "scores, the suggested answer, notes and undelivered replies",
    response=EscalationDetailOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404,),
)
@api_auth_required(*WORK)
def api_escalation(escalation_id: int) -> Response:
    actions = _actions()
    detail = actions.detail(escalation_id)
    return _json(detail_out(detail, actions.store.conversation_token(escalation_id), actions.settings))


def _version_body(model: type[VersionIn]) -> VersionIn:
    return json_body(model) if request.get_data() else model()


@bp.post("/api/v1/escalations/<int:escalation_id>/claim")
@api_operation(
    "/api/v1/escalations/{escalation_id}/claim",
    "post",
    "Claim an open escalation; if someone else holds it: 409 with who",
    request=VersionIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
@api_auth_required(*WORK)
def api_claim(escalation_id: int) -> Response:
    body = _version_body(VersionIn)
    actions = _actions()
    record = actions.claim(escalation_id, body.version)
    return _json(escalation_out(record, actions.user.username))


@bp.post("/api/v1/escalations/<int:escalation_id>/reply")
@api_operation(
    "/api/v1/escalations/{escalation_id}/reply",
    "post",
    "Reply to the customer through the platform (queued for delivery; the conversation becomes a person's)",
    request=ReplyIn,
    response=ReplyOut,
    roles=WORK,
    status=202,
    tags=("escalations",),
    errors=(404, 409),
    description="Outside Meta's 24-hour window the answer is 409 with `alternative.human_agent_tag` when a "
    "HUMAN_AGENT-tagged message is still allowed (Messenger and Instagram, up to 7 days).",
)
@api_auth_required(*WORK)
def api_reply(escalation_id: int) -> Response:
    body = json_body(ReplyIn)
    key = body.idempotency_key or request.headers.get("Idempotency-Key")
    actions = _actions()
    outbound, created, escalation = actions.reply(escalation_id, body.text, key, body.version, body.human_agent_tag)
    out = ReplyOut(
        outbound_id=outbound.id,
        status=outbound.status,
        mode=outbound.mode,
        created=created,
        escalation=escalation_out(escalation, actions.holder_name(escalation)),
    )
    return _json(out, 202 if created else 200)


@bp.post("/api/v1/escalations/<int:escalation_id>/notes")
@api_operation(
    "/api/v1/escalations/{escalation_id}/notes",
    "post",
    "Add an internal note (never sent to the customer)",
    request=NoteIn,
    response=NoteOut,
    roles=WORK,
    status=201,
    tags=("escalations",),
    errors=(404,),
)
@api_auth_required(*WORK)
def api_note(escalation_id: int) -> Response:
    note = _actions().note(escalation_id, json_body(NoteIn).text)
    return _json(NoteOut(id=note.id, text=note.text, author=note.username, created_at=note.created_at), 201)


@bp.post("/api/v1/escalations/<int:escalation_id>/priority")
@api_operation(
    "/api/v1/escalations/{escalation_id}/priority",
    "post",
    "Set the priority (a higher one can pull the SLA due time earlier, never later)",
    request=PriorityIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
@api_auth_required(*WORK)
def api_priority(escalation_id: int) -> Response:
    body = json_body(PriorityIn)
    actions = _actions()
    record = actions.set_priority(escalation_id, body.priority, body.version)
    return _json(escalation_out(record, actions.holder_name(record)))


@bp.post("/api/v1/escalations/<int:escalation_id>/transfer")
@api_operation(
    "/api/v1/escalations/{escalation_id}/transfer",
    "post",
    "Move to another queue, where it waits unclaimed",
    request=TransferIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
@api_auth_required(*WORK)
def api_transfer(escalation_id: int) -> Response:
    body = json_body(TransferIn)
    record = _actions().transfer(escalation_id, body.queue, body.version)
    return _json(escalation_out(record, None))


@bp.post("/api/v1/escalations/<int:escalation_id>/resolve")
@api_operation(
    "/api/v1/escalations/{escalation_id}/resolve",
    "post",
    "Resolve: the conversation is closed (the customer's next message starts afresh with the bot)",
    request=VersionIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
@api_auth_required(*WORK)
def api_resolve(escalation_id: int) -> Response:
    record = _actions().settle(escalation_id, HandoffState.CLOSED, _version_body(VersionIn).version)
    return _json(escalation_out(record, None))


@bp.post("/api/v1/escalations/<int:escalation_id>/hand-back")
@api_operation(
    "/api/v1/escalations/{escalation_id}/hand-back",
    "post",
    "Hand the conversation back to the bot (resolves the escalation; the bot answers the next message)",
    request=VersionIn,
    response=EscalationOut,
    roles=WORK,
    tags=("escalations",),
    errors=(404, 409),
)
@api_auth_required(*WORK)
def api_hand_back(escalation_id: int) -> Response:
    record = _actions().settle(escalation_id, HandoffState.BOT, _version_body(VersionIn).version)
    return _json(escalation_out(record, None))


@bp.post("/api/v1/escalations/<int:escalation_id>/feedback")
@api_operation(
    "/api/v1/escalations/{escalation_id}/feedback",
    "post",
    "Mark the bot's suggested answer right, wrong or missing (teaches the KB editors)",
    request=FeedbackIn,
    response=FeedbackOut,
    roles=WORK,
    status=201,
    tags=("escalations",),
    errors=(404,),
)
@api_auth_required(*WORK)
def api_feedback(escalation_id: int) -> Response:
    body = json_body(FeedbackIn)
    record = _actions().feedback(escalation_id, body.verdict, body.entry_id, body.comment)
    out = FeedbackOut(
        verdict=record.verdict, author=record.username, entry_id=record.entry_id, comment=record.comment, at=record.at
    )
    return _json(out, 201)


@bp.get("/api/v1/canned-replies")
@api_operation(
    "/api/v1/canned-replies",
    "get",
    "Canned replies (optionally of one queue and language)",
    response=CannedReplyListOut,
    roles=("agent", "editor"),
    query=CannedReplyQuery,
    tags=("canned replies",),
)
@api_auth_required("agent", "editor")
def api_canned_replies() -> Response:
    query = query_model(CannedReplyQuery)
    items = console_store().canned_replies(queue=query.queue, language=query.language)
    return _json(CannedReplyListOut(items=[canned_out(item) for item in items]))


@bp.post("/api/v1/canned-replies")
@api_operation(
    "/api/v1/canned-replies",
    "post",
    "Create or replace the canned reply for (shortcode, language, queue)",
    request=CannedReplyIn,
    response=CannedReplyOut,
    roles=CANNED_EDIT_ROLES,
    status=201,
    tags=("canned replies",),
)
@api_auth_required(*CANNED_EDIT_ROLES)
def api_save_canned_reply() -> Response:
    body = json_body(CannedReplyIn)
    if body.queue is not None and _settings().console.queue(body.queue) is None:
        raise NotFound(f"unknown queue {body.queue!r}")
    user = current_account()
    record = console_store().save_canned_reply(body.shortcode, body.language, body.text, body.queue, user.id)
    audit("save_canned_reply", "canned_reply", record.id, shortcode=record.shortcode, language=record.language)
    return _json(canned_out(record), 201)


@bp.delete("/api/v1/canned-replies/<int:reply_id>")
@api_operation(
    "/api/v1/canned-replies/{reply_id}",
    "delete",
    "Delete a canned reply",
    roles=CANNED_EDIT_ROLES,
    status=204,
    tags=("canned replies",),
    errors=(404,),
)
@api_auth_required(*CANNED_EDIT_ROLES)
def api_delete_canned_reply(reply_id: int) -> Response:
    if not console_store().delete_canned_reply(reply_id):
        raise NotFound(f"no canned reply {reply_id}")
    audit("delete_canned_reply", "canned_reply", reply_id)
    return Response(status=204)


# Pages
#
# New escalations appear by polling, not Server-Sent Events: each open page asks every `console.poll_seconds`
# for a change token (two indexed MAX() lookups) and gets 204 (htmx swaps nothing) until something changed.
# SSE would hold one gunicorn sync worker per open tab for as long as it is open, and the same workers answer
# the platforms' webhooks; a poll is over in a millisecond and needs no extra server or proxy settings.


def _page_actions() -> QueueActions:
    return QueueActions(current_account())


def _form_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _poll_ms() -> int:
    return int(_settings().console.poll_seconds * 1000)


@bp.get("/console/")
@bp.get("/console/queues")
@page_login_required(*WORK)
def queue_list() -> str:
    actions = _page_actions()
    return render_template(
        "console/queues.html",
        queues=actions.queues(),
        token=actions.store.changes_token(),
        now=datetime.now(UTC),
        poll_ms=_poll_ms(),
    )


@bp.get("/console/queues/poll")
@page_login_required(*WORK)
def queue_list_poll() -> Response | str:
    token = console_store().changes_token()
    if request.args.get("token") == token:
        return Response(status=204)
    actions = _page_actions()
    return render_template(
        "console/_queue_cards.html", queues=actions.queues(), token=token, now=datetime.now(UTC), poll_ms=_poll_ms()
    )


def _queue_context(queue: str) -> dict[str, Any]:
    actions = _page_actions()
    show = request.args.get("show", "active")
    if show not in LIST_FILTERS:
        show = "active"
    page = request.args.get("page", "1")
    query = EscalationListQuery(show=show, page=int(page) if page.isdigit() and int(page) > 0 else 1)
    view = actions.known_queue(queue)
    listing = _list(queue, query, actions)
    return {
        "queue": view,
        "listing": listing,
        "show": show,
        "filters": LIST_FILTERS,
        "now": datetime.now(UTC),
        "poll_ms": _poll_ms(),
    }


@bp.get("/console/queues/<queue>")
@page_login_required(*WORK)
def queue_page(queue: str) -> str:
    return render_template("console/queue.html", **_queue_context(queue))


@bp.get("/console/queues/<queue>/poll")
@page_login_required(*WORK)
def queue_poll(queue: str) -> Response | str:
    if request.args.get("token") == console_store().changes_token():
        return Response(status=204)
    return render_template("console/_queue_body.html", **_queue_context(queue))


def _conversation_context(escalation_id: int) -> dict[str, Any]:
    actions = _page_actions()
    detail = actions.detail(escalation_id)
    token = actions.store.conversation_token(escalation_id)
    out = detail_out(detail, token, actions.settings)
    canned = actions.canned_for(detail.escalation.queue, detail.conversation.language)
    return {
        "detail": detail,
        "view": out,
        "me": actions.user,
        "queues": actions.settings.console.queues,
        "priorities": list(PRIORITY_NAMES),
        "canned": canned,
        "canned_json": {code: reply.text for code, reply in canned.items()},
        "now": datetime.now(UTC),
        "poll_ms": _poll_ms(),
        "idempotency_key": uuid.uuid4().hex,
        "max_reply_chars": actions.config.max_reply_chars,
        "gap_reasons": GAP_REASONS,
    }


@bp.get("/console/escalations/<int:escalation_id>")
@page_login_required(*WORK)
def conversation_page(escalation_id: int) -> str:
    return render_template("console/conversation.html", **_conversation_context(escalation_id))


@bp.get("/console/escalations/<int:escalation_id>/poll")
@page_login_required(*WORK)
def conversation_poll(escalation_id: int) -> BaseResponse | str:
    _page_actions().escalation(escalation_id)
    if request.args.get("token") == console_store().conversation_token(escalation_id):
        return Response(status=204)
    return render_template("console/_conversation_live.html", **_conversation_context(escalation_id))


def _after_action(escalation_id: int, message: str, leave: bool = False) -> BaseResponse | str:
    """htmx: the refreshed live part of the page (or off to the queue when the escalation left it); plain form
    posts: back to the page with a flash message."""
    if leave:
        target = url_for("queues.queue_list")
        if request.headers.get("HX-Request"):
            flash(message, "success")
            response = Response(status=204)
            response.headers["HX-Redirect"] = target
            return response
        flash(message, "success")
        return redirect(target, 303)
    if request.headers.get("HX-Request"):
        return render_template(
            "console/_conversation_live.html", flash_message=message, **_conversation_context(escalation_id)
        )
    flash(message, "success")
    return redirect(url_for("queues.conversation_page", escalation_id=escalation_id), 303)


@bp.post("/console/escalations/<int:escalation_id>/claim")
@page_login_required(*WORK)
def page_claim(escalation_id: int) -> BaseResponse | str:
    _page_actions().claim(escalation_id, _form_version())
    return _after_action(escalation_id, "Claimed: it is yours now.")


@bp.post("/console/escalations/<int:escalation_id>/reply")
@page_login_required(*WORK)
def page_reply(escalation_id: int) -> BaseResponse | str:
    outbound, created, _ = _page_actions().reply(
        escalation_id,
        request.form.get("text", ""),
        request.form.get("idempotency_key") or None,
        None,
        request.form.get("human_agent_tag") == "1",
    )
    message = "Reply queued for delivery." if created else "That reply was already sent."
    if outbound.mode == "human_agent":
        message = "Reply queued as a human-agent message (Meta's HUMAN_AGENT tag)."
    return _after_action(escalation_id, message)


@bp.post("/console/escalations/<int:escalation_id>/note")
@page_login_required(*WORK)
def page_note(escalation_id: int) -> BaseResponse | str:
    _page_actions().note(escalation_id, request.form.get("text", ""))
    return _after_action(escalation_id, "Note added.")


@bp.post("/console/escalations/<int:escalation_id>/priority")
@page_login_required(*WORK)
def page_priority(escalation_id: int) -> BaseResponse | str:
    priority = request.form.get("priority", "")
    _page_actions().set_priority(escalation_id, priority, _form_version())
    return _after_action(escalation_id, f"Priority set to {priority}.")


@bp.post("/console/escalations/<int:escalation_id>/transfer")
@page_login_required(*WORK)
def page_transfer(escalation_id: int) -> BaseResponse | str:
    queue = request.form.get("queue", "")
    actions = _page_actions()
    actions.transfer(escalation_id, queue, _form_version())
    return _after_action(escalation_id, f"Moved to {queue}.", leave=not can_see_queue(actions.user, queue))


@bp.post("/console/escalations/<int:escalation_id>/resolve")
@page_login_required(*WORK)
def page_resolve(escalation_id: int) -> BaseResponse | str:
    _page_actions().settle(escalation_id, HandoffState.CLOSED, _form_version())
    return _after_action(escalation_id, f"Escalation {escalation_id} resolved.", leave=True)


@bp.post("/console/escalations/<int:escalation_id>/hand-back")
@page_login_required(*WORK)
def page_hand_back(escalation_id: int) -> BaseResponse | str:
    _page_actions().settle(escalation_id, HandoffState.BOT, _form_version())
    return _after_action(
        escalation_id, f"Conversation handed back to the bot (escalation {escalation_id}).", leave=True
    )


@bp.post("/console/escalations/<int:escalation_id>/feedback")
@page_login_required(*WORK)
def page_feedback(escalation_id: int) -> BaseResponse | str:
    verdict = request.form.get("verdict", "")
    if verdict not in ("right", "wrong", "missing"):
        raise BadInput("choose right, wrong or missing")
    _page_actions().feedback(escalation_id, verdict, request.form.get("entry_id") or None, None)
    return _after_action(escalation_id, f"Thanks: suggestion marked {verdict}.")


# Template filters: SLA timers and ages, said relatively ("due in 12 min", "3 h overdue"); queues.js keeps them
# current between swaps.


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours} h {rest // 60:02d} min" if hours < 10 else f"{hours} h"
    return f"{int(seconds // 86400)} d"


@bp.app_template_filter("sla_timer")
def sla_timer(due: datetime, now: datetime, answered: datetime | None = None) -> str:
    if answered is not None:
        return "answered"
    left = (due - now).total_seconds()
    return f"due in {_span(left)}" if left >= 0 else f"{_span(left)} overdue"


@bp.app_template_filter("ago")
def ago(moment: datetime, now: datetime) -> str:
    delta = (now - moment).total_seconds()
    if abs(delta) < 45:
        return "just now"
    return f"{_span(delta)} ago" if delta > 0 else f"in {_span(delta)}"
