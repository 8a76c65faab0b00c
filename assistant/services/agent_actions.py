"""What an agent can do with the queues: list them, read an escalation and its conversation, claim, reply through
the platform, note, prioritise, transfer, resolve, hand back to the bot, rate the bot's suggestion, and use or
edit canned replies. Access checks, validation and the audit line live here, so the console's pages and API (and
anything else that acts for a person) behave the same; refusals raise the library's kinds (BadInput, Forbidden,
NotFound, Conflict). Canned replies have their own use cases (`canned`, assistant.services.canned_replies)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assistant.domain.business_hours import BusinessHours
from assistant.domain.canned_replies import fill_for_customer
from assistant.domain.messages import HandoffState, InboxStatus, Priority
from assistant.domain.roles import Role
from assistant.domain.sla import first_response_due
from assistant.domain.voice import BrandVoice
from assistant.errors import BadInput, Conflict, Forbidden, NotFound
from assistant.services.canned_replies import CannedReplies
from assistant.services.common import Audit, utc_now
from assistant.services.reply_rules import ReplyConflictError, ReplyWindows, WindowState, window_refusal
from assistant.settings import Settings
from assistant.store import (
    ConsoleStore,
    EscalationDetail,
    EscalationPage,
    EscalationRecord,
    FeedbackRecord,
    NoteRecord,
    NotFoundError,
    OutboundRecord,
    QueueCounts,
    Store,
    UserRecord,
)
from assistant.store.escalations import GAP_REASONS

PRIORITY_NAMES = {priority.name.lower(): priority for priority in Priority}
VERDICTS = ("right", "wrong", "missing")
# The queue list counts the messages the service could not decide over this window.
FAILURE_WINDOW = timedelta(days=7)

# deliver(outbound_id, reply_target, conversation_key): queue a reserved reply for sending.
Deliver = Callable[[int, dict[str, str], str], None]


@dataclass(frozen=True)
class AgentDeps:
    """What the agent's use cases need from their caller."""

    console: ConsoleStore
    store: Store
    settings: Settings
    hours: BusinessHours
    windows: ReplyWindows
    deliver: Deliver
    audit: Audit
    # Per-queue counts; the console reads them once per request and shares them with the header's links.
    counts: Callable[[], dict[str, QueueCounts]] | None = None
    now: Callable[[], datetime] = field(default=utc_now)
    # The brand's voice that fills placeholders (as the bot fills KB answers); None: loaded from the settings.
    voice: BrandVoice | None = None


@dataclass(frozen=True)
class QueueView:
    name: str
    title: str
    configured: bool
    counts: QueueCounts


@dataclass(frozen=True)
class QueueOverview:
    queues: list[QueueView]
    token: str  # the change token at the time of reading
    now: datetime
    # Messages the service could not decide in the last `FAILURE_WINDOW` (each is a processing_failed escalation).
    processing_failed: int = 0
    failure_window_days: int = FAILURE_WINDOW.days


@dataclass(frozen=True)
class QueueListing:
    queue: QueueView
    show: str
    page: EscalationPage
    token: str
    now: datetime


@dataclass(frozen=True)
class ConversationView:
    detail: EscalationDetail
    window: WindowState
    token: str
    now: datetime
    human_replied: bool = False  # a person answered (or is answering) the customer since it was opened


@dataclass(frozen=True)
class ReplyResult:
    outbound: OutboundRecord
    created: bool  # False: the same idempotency key again, nothing sent twice
    escalation: EscalationRecord


class UnansweredResolveError(Conflict):
    """Resolving an escalation nobody answered: refused until the caller confirms; `current` is the escalation."""

    kind = "unanswered"

    def __init__(self, current: EscalationRecord) -> None:
        super().__init__(
            f"nobody has replied to the customer of escalation {current.id}: resolving closes the conversation "
            "without an answer. Reply first, or resolve again confirming that no reply is needed "
            "(confirm_unanswered)."
        )
        self.current = current


def can_see_queue(user: UserRecord, queue: str) -> bool:
    return user.role == Role.ADMIN or queue in user.queues


def priority_name(priority: Priority | int) -> str:
    return Priority(priority).name.lower()


def is_breached(escalation: EscalationRecord, now: datetime) -> bool:
    if escalation.status == "resolved":
        return escalation.sla_breached_at is not None
    return escalation.sla_breached_at is not None or (
        escalation.first_response_at is None and escalation.sla_due_at < now
    )


class AgentActions:
    """Everything `user` can do with the queues."""

    def __init__(self, deps: AgentDeps, user: UserRecord) -> None:
        self.deps = deps
        self.user = user
        self.store = deps.console
        self.settings = deps.settings
        self.config = deps.settings.console

    # Reading

    @functools.cached_property
    def voice(self) -> BrandVoice:
        if self.deps.voice is not None:
            return self.deps.voice
        return BrandVoice.load(self.settings.brand, self.settings.default_language, self.settings.responses_file)

    @functools.cached_property
    def canned(self) -> CannedReplies:
        return CannedReplies(self.store, self.settings, self.voice, self.deps.audit, self.user)

    @functools.cached_property
    def counts(self) -> dict[str, QueueCounts]:
        return self.deps.counts() if self.deps.counts is not None else self.store.queue_counts()

    def changes_token(self) -> str:
        return self.store.changes_token()

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

    def overview(self) -> QueueOverview:
        now = self.deps.now()
        failed = self.store.inbox_counts(since=now - FAILURE_WINDOW)[InboxStatus.FAILED]
        return QueueOverview(self.queues(), self.changes_token(), now, failed)

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

    def listing(self, queue: str, show: str, page: int, per_page: int | None) -> QueueListing:
        """One page of a queue's escalations (`show`: one of the store's LIST_FILTERS)."""
        view = self.known_queue(queue)
        found = self.store.escalation_page(
            queue, show=show, agent_id=self.user.id, page=page, per_page=per_page or self.config.page_size
        )
        return QueueListing(view, show, found, self.changes_token(), self.deps.now())

    def escalation(self, escalation_id: int) -> EscalationRecord:
        try:
            escalation = self.store.escalation(escalation_id)
        except NotFoundError as error:
            raise NotFound(f"no escalation {escalation_id}") from error
        if not can_see_queue(self.user, escalation.queue):
            raise Forbidden(f"escalation {escalation_id} is in queue {escalation.queue!r}, not one of yours")
        return escalation

    def conversation_token(self, escalation_id: int) -> str:
        """The escalation's change token (after the access check)."""
        self.escalation(escalation_id)
        return self.store.conversation_token(escalation_id)

    def conversation(self, escalation_id: int) -> ConversationView:
        """The escalation with its whole conversation and the reply window at this moment."""
        self.escalation(escalation_id)
        detail = self.store.detail(escalation_id)
        now = self.deps.now()
        conversation = detail.conversation
        window = self.deps.windows.window(conversation.platform, conversation.last_inbound_at, now)
        token = self.store.conversation_token(escalation_id)
        return ConversationView(detail, window, token, now, self.store.human_replied(escalation_id))

    def holder_name(self, escalation: EscalationRecord) -> str | None:
        if escalation.assigned_agent_id is None:
            return None
        if escalation.assigned_agent_id == self.user.id:
            return self.user.username
        return self.store.username(escalation.assigned_agent_id)

    # Changing

    def claim(self, escalation_id: int, version: int | None) -> EscalationRecord:
        self.escalation(escalation_id)
        record, changed = self.store.claim(escalation_id, self.user.id, self.user.username, version)
        if changed:
            self.deps.audit("claim", "escalation", escalation_id, queue=record.queue)
        return record

    def reply(
        self, escalation_id: int, text: str, idempotency_key: str | None, version: int | None, human_agent_tag: bool
    ) -> ReplyResult:
        escalation = self.escalation(escalation_id)
        if not text.strip():
            raise BadInput("the reply is empty: write something to send")
        conversation = self.deps.store.conversation_by_id(escalation.conversation_id)
        language = conversation.language or self.settings.default_language
        # Filled here, at send time, with this customer's values: what is stored and sent is what they read.
        body = fill_for_customer(self.voice, text.strip(), language, conversation.sender_name)
        if len(body) > self.config.max_reply_chars:
            raise BadInput(
                f"the reply is {len(body)} characters long; the limit is {self.config.max_reply_chars}. "
                "Shorten it or send it in parts.",
            )
        key = f"agent:{escalation_id}:{idempotency_key or uuid.uuid4().hex}"
        existing = self.deps.store.outbound_by_key(key)
        if existing is not None:
            # The same request again (a double click, a retried call): the first answer, nothing sent twice.
            return ReplyResult(existing, False, escalation)
        if not conversation.reply_target:
            raise ReplyConflictError(
                "this conversation has no reply address recorded (it started before the console was installed); "
                "answer it on the platform itself",
                "no_reply_target",
                summary="no reply address recorded",
            )
        window = self.deps.windows.window(conversation.platform, conversation.last_inbound_at, self.deps.now())
        mode = "reply"
        if not window.open:
            if human_agent_tag and window.human_agent_allowed:
                mode = "human_agent"
            else:
                raise window_refusal(conversation.platform, window, human_agent_tag, self.deps.windows)
        elif human_agent_tag and self.deps.windows.taggable(conversation.platform):
            mode = "human_agent"
        # The store hands the conversation to a person inside the transaction, under the hand-off rules.
        reservation = self.store.reserve_reply(
            escalation_id, self.user.id, self.user.username, key, body, mode, expected_version=version
        )
        if reservation.created:
            self.deps.audit(
                "reply",
                "escalation",
                escalation_id,
                outbound_id=reservation.outbound.id,
                mode=mode,
                chars=len(body),
                gap_candidate=escalation.reason in GAP_REASONS,
            )
        if reservation.outbound.sendable:
            self.deps.deliver(reservation.outbound.id, dict(conversation.reply_target), conversation.conversation_key)
        return ReplyResult(reservation.outbound, reservation.created, reservation.escalation)

    def reply_and_resolve(
        self, escalation_id: int, text: str, idempotency_key: str | None, version: int | None, human_agent_tag: bool
    ) -> ReplyResult:
        """Send the reply and resolve the escalation, as one action; the same key again sends nothing twice and
        leaves an escalation the first call resolved as it is."""
        result = self.reply(escalation_id, text, idempotency_key, version, human_agent_tag)
        if result.escalation.status == "resolved":
            return result
        # Just answered: no "nobody replied" question to ask.
        resolved = self.settle(escalation_id, HandoffState.CLOSED, result.escalation.version, confirm_unanswered=True)
        return ReplyResult(result.outbound, result.created, resolved)

    def note(self, escalation_id: int, text: str) -> NoteRecord:
        self.escalation(escalation_id)
        body = text.strip()
        if not body:
            raise BadInput("the note is empty")
        if len(body) > self.config.max_note_chars:
            raise BadInput(f"the note is {len(body)} characters long; the limit is {self.config.max_note_chars}")
        note = self.store.add_note(escalation_id, self.user.id, body)
        self.deps.audit("note", "escalation", escalation_id, note_id=note.id, chars=len(body))
        return note

    def set_priority(self, escalation_id: int, priority: str, version: int | None) -> EscalationRecord:
        escalation = self.escalation(escalation_id)
        if priority not in PRIORITY_NAMES:
            raise BadInput(f"priority must be one of {', '.join(PRIORITY_NAMES)}")
        level = PRIORITY_NAMES[priority]
        due = first_response_due(
            self.deps.hours, self.settings.service.sla_first_response_minutes, level, escalation.created_at
        )
        record = self.store.set_priority(escalation_id, level, due, version)
        self.deps.audit(
            "set_priority", "escalation", escalation_id, priority=priority, was=priority_name(escalation.priority)
        )
        return record

    def transfer(self, escalation_id: int, queue: str, version: int | None) -> EscalationRecord:
        escalation = self.escalation(escalation_id)
        if self.config.queue(queue) is None:
            raise NotFound(f"unknown queue {queue[:64]!r}; queues: {', '.join(q.name for q in self.config.queues)}")
        record = self.store.transfer(escalation_id, queue, version)
        self.deps.audit("transfer", "escalation", escalation_id, queue=queue, was=escalation.queue)
        return record

    def settle(
        self, escalation_id: int, handoff: HandoffState, version: int | None, confirm_unanswered: bool = False
    ) -> EscalationRecord:
        """Resolve (handoff CLOSED) or hand back to the bot (BOT); only the holder or an admin may. Resolving one
        that nobody answered is refused (UnansweredResolveError) unless `confirm_unanswered`: closing it would
        leave the customer without a word. Handing back is not asked about: the bot answers the next message."""
        escalation = self.escalation(escalation_id)
        if (
            handoff == HandoffState.CLOSED
            and not confirm_unanswered
            and escalation.status != "resolved"
            and not self.store.human_replied(escalation_id)
        ):
            raise UnansweredResolveError(escalation)
        # The hand-off rules are applied by the store, to the conversation it locked for the change.
        holder_check = None if self.user.role == Role.ADMIN else self.user.id
        record = self.store.settle(escalation_id, handoff, expected_version=version, agent_id=holder_check)
        action = "hand_back" if handoff == HandoffState.BOT else "resolve"
        self.deps.audit(action, "escalation", escalation_id, queue=record.queue)
        return record

    def feedback(self, escalation_id: int, verdict: str, entry_id: str | None, comment: str | None) -> FeedbackRecord:
        if verdict not in VERDICTS:
            raise BadInput("choose right, wrong or missing")
        self.escalation(escalation_id)
        record = self.store.add_feedback(escalation_id, verdict, self.user.id, entry_id, comment)
        self.deps.audit("suggestion_feedback", "escalation", escalation_id, verdict=verdict, entry_id=entry_id)
        return record
