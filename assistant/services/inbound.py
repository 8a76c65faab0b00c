"""Processing one inbound event: record it, decide under a per-conversation lock, apply the handoff state and
escalation that follow from the decision, and reserve the reply (sent by the delivery use case, never twice)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain.channels import InboundEvent
from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.messages import (
    Action,
    Decision,
    DecisionKind,
    EscalationReason,
    HandoffState,
    InboundMessage,
    InboxStatus,
    OutboundStatus,
    Priority,
)
from assistant.errors import NotReady
from assistant.pipeline import Engine
from assistant.services.delivery import backoff_seconds
from assistant.services.escalate import Escalations
from assistant.store import Store

log = logging.getLogger("community_assistant.worker")

# Holds one conversation while its event is decided (key: "platform:conversation_key"); the runtime gives a lock
# shared by every worker, so two messages of one conversation are never decided at once. Raises
# ConversationBusyError when another holds it for longer than the wait.
ConversationLock = Callable[[str], AbstractContextManager[object]]


class ConversationBusyError(NotReady):
    """Another worker is deciding a message of the same conversation: try again shortly. Not a failure of this
    event, so it does not count towards handing it to a person."""


# A decided event's reply in one of these states still needs its delivery use case (an attempt may have died).
UNFINISHED_REPLY = (OutboundStatus.PENDING, OutboundStatus.FAILED, OutboundStatus.SENDING)


class ProcessOutcome(enum.StrEnum):
    DECIDED = "decided"
    DUPLICATE = "duplicate"  # recorded and decided by an earlier attempt, nothing left to do
    RESUMED = "resumed"  # decided earlier, but its reply is still to be sent (or settled: its send may have died)
    ACKNOWLEDGED = "acknowledged"  # an event we only acknowledge (no message to decide)
    FAILED = "failed"  # could not be decided after every attempt: a person has it (processing_failed)


@dataclass(frozen=True)
class Processed:
    """The outcome of one event, for the caller to act on (deliver now, push the escalation, nothing to do)."""

    outcome: ProcessOutcome
    outbound_id: int | None = None
    escalation_id: int | None = None
    decision: Decision | None = None  # set when this run decided (DECIDED)


@dataclass(frozen=True)
class Inbound:
    """What processing an event needs: the store, the engine serving now (a callable: only deciding loads it), the
    conversation lock, escalations and how many failed attempts are retried before a person gets the message."""

    store: Store
    engine: Callable[[], Engine]
    lock: ConversationLock
    escalations: Escalations
    max_retries: int = 5


def reply_key(event: InboundEvent) -> str:
    """One reply per inbound event; Instagram/Facebook allow one private reply per comment."""
    if event.kind == "comment" and event.reply_target.get("comment_id"):
        return f"private_reply:{event.platform}:{event.reply_target['comment_id']}"
    return f"reply:{event.platform}:{event.event_id}"


def process_event(deps: Inbound, event: InboundEvent, now: datetime) -> Processed:
    """Decide one event (idempotently: a second run finishes what the first left) and mark it done in the inbox."""
    processed = _process(deps, event, now)
    if processed.outcome != ProcessOutcome.DECIDED:  # a decided event was marked done with its decision
        deps.store.inbox_done(event.platform, event.event_id, now)
    return processed


def _process(deps: Inbound, event: InboundEvent, now: datetime) -> Processed:
    message = event.message
    if message is None or not event.decidable:
        return Processed(ProcessOutcome.ACKNOWLEDGED)
    store = deps.store
    conversation = store.conversation(event.platform, event.conversation_key, message.sender_id, message.sender_name)
    # Loaded before the lock (the first message of a worker loads the model): the lock lives only seconds.
    engine = deps.engine()
    with deps.lock(f"{event.platform}:{event.conversation_key}"):
        # Two short transactions, one before and one after deciding: deciding is the slow part, and on SQLite a
        # transaction holds the write lock the webhooks need to store new events.
        with store.unit_of_work():
            recorded = _record_once(store, conversation.id, event, message, now)
            if isinstance(recorded, Processed):
                return recorded
            state = store.conversation_state(conversation.id)
            if state.handoff == HandoffState.CLOSED:
                # A new message after a person closed the conversation starts a new one with the bot.
                store.set_handoff(conversation.id, HandoffState.BOT)
                state.handoff = HandoffState.BOT
        decision = engine.decide(message, state, now)
        with store.unit_of_work():
            store.record_decision(recorded, decision)
            escalation_id = apply_decision(
                deps.escalations, engine.kb, conversation.id, recorded, decision, now, platform=event.platform
            )
            outbound_id = None
            text = decision.reply or _interaction_notice(engine, deps.escalations, event, decision, state.handoff)
            if text:
                mode = "private_reply" if event.kind == "comment" else "reply"
                record, _ = store.reserve_outbound(
                    reply_key(event),
                    conversation.id,
                    recorded,
                    event.platform,
                    mode,
                    text,
                    # Stored with the reservation: a retried or resumed send offers the same options.
                    choices=decision.choices if text == decision.reply else (),
                    reply_target=event.reply_target,
                )
                outbound_id = record.id
            store.inbox_done(event.platform, event.event_id, now)
    return Processed(ProcessOutcome.DECIDED, outbound_id=outbound_id, escalation_id=escalation_id, decision=decision)


def _record_once(
    store: Store, conversation_id: int, event: InboundEvent, message: InboundMessage, now: datetime
) -> int | Processed:
    """The id of the event's message, recorded now or by an earlier attempt that did not decide it; or what is
    left of an earlier attempt that did (nothing, or its unsent reply)."""
    message_id = _record(store, conversation_id, event, message, now)
    if message_id is not None:
        return message_id
    existing = store.inbound_message_id(event.platform, event.event_id)
    if existing is None:
        return Processed(ProcessOutcome.DUPLICATE)
    if store.has_decision(existing):
        pending = store.outbound_by_key(reply_key(event))
        # A reply "sending" is resumed too: its attempt may have died mid-send, which the delivery use case settles.
        if pending is not None and pending.status in UNFINISHED_REPLY:
            return Processed(ProcessOutcome.RESUMED, outbound_id=pending.id)
        return Processed(ProcessOutcome.DUPLICATE)
    return existing


def _record(
    store: Store, conversation_id: int, event: InboundEvent, message: InboundMessage, now: datetime
) -> int | None:
    """The event's message recorded in its conversation; None when an earlier attempt recorded it."""
    return store.record_inbound(
        conversation_id,
        event.platform,
        event.event_id,
        message.text,
        message.language,
        message.is_public,
        now,
        reply_target=event.reply_target,
        received_chars=message.received_chars,
    )


def _interaction_notice(
    engine: Engine, escalations: Escalations, event: InboundEvent, decision: Decision, handoff: HandoffState
) -> str | None:
    """A Discord slash command shows "thinking…" until its deferred response is completed, so a silent
    decision still owes it a short, honest word: the team has it, or we could not read a question."""
    if not event.reply_target.get("interaction_token"):
        return None
    if handoff in (HandoffState.HUMAN, HandoffState.WAITING_FOR_HUMAN):
        key = "holding_in_hours"  # the engine stays silent for a person's conversation; the team has it
    else:
        notices = {Action.IGNORE: "rephrase", Action.MODERATE: "moderation_notice"}
        key = notices.get(decision.action, "holding_in_hours")
    voice = engine.policy.voice
    lang = decision.language or escalations.settings.default_language
    return voice.compose(voice.render(key, lang), lang, None)


def apply_decision(
    escalations: Escalations,
    kb: KnowledgeBase | None,
    conversation_id: int,
    message_id: int,
    decision: Decision,
    now: datetime,
    platform: str = "cli",
) -> int | None:
    """Conversation state and escalation that follow from a decision; the escalation's id when one was opened. `kb`
    (the engine's) gives the routing rules the tags of the decision's entry."""
    store = escalations.store
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
    reason = (decision.reason or EscalationReason.LOW_CONFIDENCE).value
    queue = escalations.queue_for(platform, reason, decision, kb)
    escalation_id = escalations.open(
        conversation_id, message_id, queue, priority, reason, decision.suggested_answer, now
    )
    if decision.action == Action.ESCALATE:
        store.set_handoff(conversation_id, HandoffState.WAITING_FOR_HUMAN)
        store.update_conversation(
            conversation_id,
            language=decision.language,
            holding_reply_sent=True if decision.reply else None,
        )
    return escalation_id


def failed_attempt(
    deps: Inbound, event: InboundEvent, attempt: int, error: BaseException, now: datetime
) -> float | None:
    """After attempt number `attempt` (0 for the first) failed: the seconds to wait before the next one, with the
    inbox told so the sweeper leaves the event to that retry; or None once every retry is spent and a person has
    the message (`give_up`)."""
    reason = f"{type(error).__name__}: {error}"
    if attempt >= deps.max_retries:
        give_up(deps, event, reason, now)
        return None
    wait = backoff_seconds(attempt + 1, None)
    try:
        deps.store.inbox_postponed(event.platform, event.event_id, now + timedelta(seconds=wait), reason)
    except Exception:  # the database may be what failed: the retry still runs, and the sweeper is a fallback
        log.warning("event %s:%s: could not postpone its inbox row", event.platform, event.event_id)
    return wait


def give_up(deps: Inbound, event: InboundEvent, reason: str, now: datetime) -> int | None:
    """The event could not be decided: record it if it is not yet, mark it failed in the inbox and open a
    `processing_failed` escalation with it, so a person reads it; the escalation's id (None when the event was
    settled meanwhile, or carries no message)."""
    store = deps.store
    message = event.message
    if message is None or not store.inbox_failed(event.platform, event.event_id, reason, now):
        record = store.inbox_event(event.platform, event.event_id)
        if message is None or (record is not None and record.status != InboxStatus.RECEIVED):
            return None
    conversation = store.conversation(event.platform, event.conversation_key, message.sender_id, message.sender_name)
    message_id = _record(store, conversation.id, event, message, now) or store.inbound_message_id(
        event.platform, event.event_id
    )
    log.error("event %s:%s could not be decided (%s): handed to a person", event.platform, event.event_id, reason)
    return deps.escalations.processing_failed(conversation.id, message_id, now)
