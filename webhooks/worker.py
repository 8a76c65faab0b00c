"""What a worker does with one queued event: record it, decide under a per-conversation lock, apply the
handoff state and escalation, and deliver the reply idempotently (never twice, never silently lost)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from assistant.messages import Action, Decision, DecisionKind, EscalationReason, HandoffState, Priority
from assistant.routing import RoutingInput, route
from assistant.sla import first_response_due
from webhooks.adapters.base import InboundEvent, OutboundMessage, PlatformAdapter, SendResult
from webhooks.adapters.reply_windows import reply_window
from webhooks.runtime import Runtime

log = logging.getLogger("community_assistant.worker")

LOCK_PREFIX = "ca:lock:conversation:"
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0
RATE_LIMITED_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Processed:
    """The outcome of one event, for the task to act on (deliver now, nothing to do, …)."""

    outcome: str  # decided | duplicate | resumed | acknowledged
    outbound_id: int | None = None
    escalation_id: int | None = None


@dataclass(frozen=True)
class Delivery:
    outcome: str  # sent | already_done | busy | retry | failed | unknown
    retry_after: float | None = None


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """The platform's Retry-After when it gave one, else exponential backoff."""
    if retry_after is not None and retry_after >= 0:
        return float(min(retry_after, BACKOFF_MAX_SECONDS))
    return float(min(BACKOFF_BASE_SECONDS * 2.0 ** max(0, attempt - 1), BACKOFF_MAX_SECONDS))


def reply_key(event: InboundEvent) -> str:
    """One reply per inbound event; Instagram/Facebook allow one private reply per comment."""
    if event.kind == "comment" and event.reply_target.get("comment_id"):
        return f"private_reply:{event.platform}:{event.reply_target['comment_id']}"
    return f"reply:{event.platform}:{event.event_id}"


class EventProcessor:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def process(self, event: InboundEvent, now: datetime | None = None) -> Processed:
        message = event.message
        if message is None or event.kind not in ("message", "comment"):
            return Processed("acknowledged")
        now = now or datetime.now(UTC)
        store = self.rt.store
        conversation = store.conversation(
            event.platform, event.conversation_key, message.sender_id, message.sender_name
        )
        lock = self.rt.redis.lock(
            f"{LOCK_PREFIX}{event.platform}:{event.conversation_key}",
            timeout=self.rt.settings.service.conversation_lock_seconds,
            blocking_timeout=self.rt.settings.service.conversation_lock_seconds,
        )
        with lock:
            message_id = store.record_inbound(
                conversation.id,
                event.platform,
                event.event_id,
                message.text,
                message.language,
                message.is_public,
                now,
                reply_target=event.reply_target,
            )
            if message_id is None:
                # Recorded by an earlier attempt; if it also decided, only an unsent reply may be left to finish.
                existing = store.inbound_message_id(event.platform, event.event_id)
                if existing is not None and store.has_decision(existing):
                    pending = store.outbound_by_key(reply_key(event))
                    if pending is not None and pending.status in ("pending", "failed"):
                        return Processed("resumed", outbound_id=pending.id)
                    return Processed("duplicate")
                message_id = existing
            if message_id is None:
                return Processed("duplicate")
            state = store.conversation_state(conversation.id)
            if state.handoff == HandoffState.CLOSED:
                # A new message after a person closed the conversation starts a new one with the bot.
                store.update_conversation(conversation.id, handoff=HandoffState.BOT)
                state.handoff = HandoffState.BOT
            decision = self.rt.engine.decide(message, state, now)
            store.record_decision(message_id, decision)
            escalation_id = self._apply(conversation.id, message_id, decision, now, platform=event.platform)
            outbound_id = None
            text = decision.reply or self._interaction_notice(event, decision, state.handoff)
            if text:
                mode = "private_reply" if event.kind == "comment" else "reply"
                record, _ = store.reserve_outbound(
                    reply_key(event),
                    conversation.id,
                    message_id,
                    event.platform,
                    mode,
                    text,
                    # Stored with the reservation: a retried or resumed send offers the same options.
                    choices=decision.choices if text == decision.reply else (),
                )
                outbound_id = record.id
        return Processed("decided", outbound_id=outbound_id, escalation_id=escalation_id)

    def _interaction_notice(self, event: InboundEvent, decision: Decision, handoff: HandoffState) -> str | None:
        """A Discord slash command shows "thinking…" until its deferred response is completed, so a silent
        decision still owes it a short, honest word: the team has it, or we could not read a question."""
        if not event.reply_target.get("interaction_token"):
            return None
        if handoff in (HandoffState.HUMAN, HandoffState.WAITING_FOR_HUMAN):
            key = "holding_in_hours"  # the engine stays silent for a person's conversation; the team has it
        else:
            notices = {Action.IGNORE: "rephrase", Action.MODERATE: "moderation_notice"}
            key = notices.get(decision.action, "holding_in_hours")
        voice = self.rt.engine.policy.voice
        lang = decision.language or self.rt.settings.default_language
        return voice.compose(voice.render(key, lang), lang, None)

    def _apply(
        self, conversation_id: int, message_id: int, decision: Decision, now: datetime, platform: str = "cli"
    ) -> int | None:
        """Conversation state and escalation that follow from a decision."""
        store = self.rt.store
        if decision.action == Action.ANSWER:
            # A clarification (rephrase or choices) is asked once per question: the next unsure message escalates.
            # The offered choices themselves are kept with the decision (store.record_decision).
            store.update_conversation(
                conversation_id,
                language=decision.language,
                rephrase_asked=decision.kind == DecisionKind.CLARIFICATION,
            )
            return None
        if decision.action not in (Action.ESCALATE, Action.MODERATE):
            return None
        priority = decision.priority or Priority.NORMAL
        sla_due = self.sla_due(priority, now)
        reason = (decision.reason or EscalationReason.LOW_CONFIDENCE).value
        escalation_id = store.open_escalation(
            conversation_id,
            message_id,
            self.queue_for(platform, reason, decision),
            int(priority),
            reason,
            decision.suggested_answer,
            sla_due,
        )
        if decision.action == Action.ESCALATE:
            store.update_conversation(
                conversation_id,
                handoff=HandoffState.WAITING_FOR_HUMAN,
                language=decision.language,
                holding_reply_sent=True if decision.reply else None,
            )
        return escalation_id

    def queue_for(self, platform: str, reason: str, decision: Decision | None = None) -> str:
        """The console queue by the configured routing rules; the engine's own queue is the fallback."""
        tags: tuple[str, ...] = ()
        if decision is not None and decision.entry_id:
            entry = self.rt.engine.kb.get(decision.entry_id)
            tags = tuple(entry.tags) if entry is not None else ()
        item = RoutingInput(
            platform=platform,
            reason=reason,
            language=decision.language if decision is not None else None,
            intent=decision.intent if decision is not None else None,
            entry_id=decision.entry_id if decision is not None else None,
            tags=tags,
            engine_queue=(decision.queue if decision is not None else None) or self.rt.settings.policy.default_queue,
        )
        return route(self.rt.settings.console, item).queue

    def sla_due(self, priority: Priority, now: datetime) -> datetime:
        return first_response_due(self.rt.hours, self.rt.settings.service.sla_first_response_minutes, priority, now)

    def deliver(
        self,
        outbound_id: int,
        reply_target: dict[str, str],
        conversation_key: str | None = None,
        now: datetime | None = None,
    ) -> Delivery:
        """Send one reserved reply; a reply whose outcome is unknown is never resent blindly."""
        store = self.rt.store
        record = store.outbound(outbound_id)
        if record is None or record.status in ("sent", "unknown", "dead"):
            return Delivery("already_done")
        if not self.rt.rate_limits.allow(record.platform, conversation_key or str(record.conversation_id)):
            return Delivery("retry", RATE_LIMITED_RETRY_SECONDS)
        adapter = self.rt.adapters.get(record.platform)
        # A person's reply that cannot go out stays on their screen, marked; a bot's goes to a person.
        by_person = record.author == "agent"
        if adapter is None:
            store.mark_refused(outbound_id, f"platform {record.platform} is not enabled")
            if not by_person:
                self._escalate_undelivered(record.conversation_id, record.message_id, record.text, now)
            return Delivery("failed")
        if self._outside_reply_window(adapter, record.conversation_id, now, record.mode):
            # Meta refuses a standard reply after 24 h; a person can still answer with the human-agent tag.
            window = "7-day human-agent" if record.mode == "human_agent" else "24-hour"
            store.mark_refused(outbound_id, f"outside the platform's {window} reply window")
            if not by_person:
                self._escalate_undelivered(record.conversation_id, record.message_id, record.text, now)
            return Delivery("failed")
        if record.status == "sending":
            # Only a redelivered task finds a row still "sending": the worker that held it died mid-send
            # (acks_late), so the platform may or may not have it. Never resend blindly; a person decides.
            if store.mark_unknown(outbound_id, "the worker died while sending"):
                log.warning("reply %s: worker died mid-send; outcome unknown, not resent", outbound_id)
                if not by_person:
                    self._escalate_undelivered(record.conversation_id, record.message_id, record.text, now)
                return Delivery("unknown")
            return Delivery("busy")
        if not store.mark_sending(outbound_id):
            return Delivery("busy")
        result: SendResult = adapter.send(
            self.rt.http,
            OutboundMessage(
                record.platform, reply_target, record.text, record.idempotency_key, record.mode, record.choices
            ),
        )
        if result.ok:
            store.mark_sent(outbound_id, result.platform_message_id, now or datetime.now(UTC))
            if by_person:
                store.record_outbound_message(
                    record.conversation_id, "agent", record.text, result.platform_message_id, agent_id=record.agent_id
                )
            else:
                store.record_outbound_message(record.conversation_id, "bot", record.text, result.platform_message_id)
                store.update_conversation(record.conversation_id, last_bot_reply_at=now or datetime.now(UTC))
            return Delivery("sent")
        if result.outcome_unknown:
            store.mark_unknown(outbound_id, result.error or "timeout")
            log.warning("reply %s: outcome unknown (%s); not resent", outbound_id, result.error)
            if not by_person:
                self._escalate_undelivered(record.conversation_id, record.message_id, record.text, now)
            return Delivery("unknown")
        attempts = record.attempts + 1
        if result.retryable and attempts <= self.rt.settings.service.send_max_retries:
            store.mark_failed(outbound_id, result.error or f"HTTP {result.status}", retryable=True)
            return Delivery("retry", backoff_seconds(attempts, result.retry_after))
        store.mark_failed(outbound_id, result.error or f"HTTP {result.status}", retryable=False)
        log.warning("reply %s failed for good (HTTP %s)", outbound_id, result.status)
        if not by_person:
            self._escalate_undelivered(record.conversation_id, record.message_id, record.text, now)
        return Delivery("failed")

    def _outside_reply_window(
        self, adapter: PlatformAdapter, conversation_id: int, now: datetime | None, mode: str = "reply"
    ) -> bool:
        if adapter.rules.reply_window is None:
            return False  # no window: skip the conversation lookup
        last = self.rt.store.conversation_by_id(conversation_id).last_inbound_at
        # The tag is always honoured here: a reply already reserved as human_agent goes out while the tag allows it.
        window = reply_window(adapter.rules, last, now or datetime.now(UTC))
        return not window.allows(tagged=mode == "human_agent")

    def _escalate_undelivered(
        self, conversation_id: int, message_id: int | None, text: str, now: datetime | None
    ) -> None:
        """A reply that could not be delivered is not lost: a person gets the conversation and the text."""
        moment = now or datetime.now(UTC)
        platform = self.rt.store.conversation_by_id(conversation_id).platform
        self.rt.store.open_escalation(
            conversation_id,
            message_id,
            self.queue_for(platform, EscalationReason.DELIVERY_FAILED.value),
            int(Priority.HIGH),
            EscalationReason.DELIVERY_FAILED.value,
            text,
            self.sla_due(Priority.HIGH, moment),
        )
        self.rt.store.update_conversation(conversation_id, handoff=HandoffState.WAITING_FOR_HUMAN)
