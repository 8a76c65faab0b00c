"""Delivering one reserved reply: through the platform's channel, within its rate limit and reply window, with
retries and backoff; a reply whose outcome is unknown is never resent blindly, and a bot's reply that cannot go
out is handed to a person (a person's own stays on their screen, marked)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain.channels import Channel, OutboundMessage
from assistant.domain.messages import OutboundStatus
from assistant.domain.reply_windows import reply_window
from assistant.services.escalate import Escalations
from assistant.store import OutboundRecord, Store

log = logging.getLogger("community_assistant.worker")

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0
RATE_LIMITED_RETRY_SECONDS = 1.0

# Whether one more message may go out now on (platform, conversation key): the runtime's shared rate limits.
AllowSend = Callable[[str, str], bool]
Clock = Callable[[], datetime]


class DeliveryOutcome(enum.StrEnum):
    SENT = "sent"
    ALREADY_DONE = "already_done"  # sent, unknown or given up by an earlier attempt
    BUSY = "busy"  # another attempt is sending it right now
    RETRY = "retry"  # try again after `retry_after` seconds
    FAILED = "failed"  # refused for good
    UNKNOWN = "unknown"  # the platform may or may not have it: never resent


@dataclass(frozen=True)
class Delivery:
    outcome: DeliveryOutcome
    retry_after: float | None = None


@dataclass(frozen=True)
class Outbox:
    """What delivering a reply needs: the store, one channel per enabled platform, the rate limits, escalations for
    what cannot go out, the send retry limit, a clock, the send timeout (how long one send may hold a row) and the
    deadline after which a reply not out yet goes to a person instead."""

    store: Store
    channels: Mapping[str, Channel]
    allow_send: AllowSend
    escalations: Escalations
    max_retries: int
    clock: Clock
    send_timeout_seconds: float = 10.0
    deadline_seconds: float = 3600.0

    @property
    def send_hold(self) -> timedelta:
        """Longer than one send can hold a row: connect, write and read may each take the timeout."""
        return timedelta(seconds=3 * self.send_timeout_seconds + 1)


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """The platform's Retry-After when it gave one, else exponential backoff."""
    if retry_after is not None and retry_after >= 0:
        return float(min(retry_after, BACKOFF_MAX_SECONDS))
    return float(min(BACKOFF_BASE_SECONDS * 2.0 ** max(0, attempt - 1), BACKOFF_MAX_SECONDS))


def deliver_reply(
    deps: Outbox, outbound_id: int, reply_target: dict[str, str], conversation_key: str | None = None
) -> Delivery:
    """Send one reserved reply; a reply whose outcome is unknown is never resent blindly."""
    store = deps.store
    record = store.outbound(outbound_id)
    if record is None or record.status in (OutboundStatus.SENT, OutboundStatus.UNKNOWN, OutboundStatus.DEAD):
        return Delivery(DeliveryOutcome.ALREADY_DONE)
    now = deps.clock()
    if record.sendable and now - record.created_at > timedelta(seconds=deps.deadline_seconds):
        store.mark_refused(outbound_id, f"not delivered within {deps.deadline_seconds:.0f} s of being decided")
        return _undelivered(deps, record)
    if not deps.allow_send(record.platform, conversation_key or str(record.conversation_id)):
        # Due again after the wait, so the outbox sweeper leaves it to this task's retry.
        store.outbound_requeued(outbound_id, now + timedelta(seconds=RATE_LIMITED_RETRY_SECONDS))
        return Delivery(DeliveryOutcome.RETRY, RATE_LIMITED_RETRY_SECONDS)
    channel = deps.channels.get(record.platform)
    if channel is None:
        store.mark_refused(outbound_id, f"platform {record.platform} is not enabled")
        return _undelivered(deps, record)
    if _outside_reply_window(deps, channel, record):
        # Meta refuses a standard reply after 24 h; a person can still answer with the human-agent tag.
        window = "7-day human-agent" if record.mode == "human_agent" else "24-hour"
        store.mark_refused(outbound_id, f"outside the platform's {window} reply window")
        return _undelivered(deps, record)
    if record.status == OutboundStatus.SENDING:
        held = now - (record.due_at or record.created_at)
        if held < deps.send_hold:
            # Another task may be sending it right now (a sweep queued this one too): look again once that send
            # must have ended.
            return Delivery(DeliveryOutcome.RETRY, (deps.send_hold - held).total_seconds())
        return held_too_long(deps, record)
    if not store.mark_sending(outbound_id, now):
        return Delivery(DeliveryOutcome.BUSY)
    result = channel.send(
        OutboundMessage(record.platform, reply_target, record.text, record.idempotency_key, record.mode, record.choices)
    )
    if result.ok:
        sent_at = deps.clock()
        store.mark_sent(outbound_id, result.platform_message_id, sent_at)
        if _by_person(record):
            store.record_outbound_message(
                record.conversation_id, "agent", record.text, result.platform_message_id, agent_id=record.agent_id
            )
        else:
            store.record_outbound_message(record.conversation_id, "bot", record.text, result.platform_message_id)
            store.update_conversation(record.conversation_id, last_bot_reply_at=sent_at)
        return Delivery(DeliveryOutcome.SENT)
    if result.outcome_unknown:
        store.mark_unknown(outbound_id, result.error or "timeout")
        log.warning("reply %s: outcome unknown (%s); not resent", outbound_id, result.error)
        return _undelivered(deps, record, DeliveryOutcome.UNKNOWN)
    attempts = record.attempts + 1
    if result.retryable and attempts <= deps.max_retries:
        wait = backoff_seconds(attempts, result.retry_after)
        store.mark_failed(outbound_id, result.error or f"HTTP {result.status}", now + timedelta(seconds=wait))
        return Delivery(DeliveryOutcome.RETRY, wait)
    store.mark_failed(outbound_id, result.error or f"HTTP {result.status}", None)
    log.warning("reply %s failed for good (HTTP %s)", outbound_id, result.status)
    return _undelivered(deps, record)


def held_too_long(deps: Outbox, record: OutboundRecord) -> Delivery:
    """A row "sending" for longer than a send can take: the worker that held it died mid-send (acks_late), so the
    platform may or may not have it. Never resent blindly; a person decides."""
    if deps.store.mark_unknown(record.id, "the worker died while sending"):
        log.warning("reply %s: worker died mid-send; outcome unknown, not resent", record.id)
        return _undelivered(deps, record, DeliveryOutcome.UNKNOWN)
    return Delivery(DeliveryOutcome.BUSY)


def _by_person(record: OutboundRecord) -> bool:
    return record.author == "agent"


def _undelivered(deps: Outbox, record: OutboundRecord, outcome: DeliveryOutcome = DeliveryOutcome.FAILED) -> Delivery:
    """A person's reply that cannot go out stays on their screen, marked; a bot's goes to a person."""
    if not _by_person(record):
        deps.escalations.undelivered(record.conversation_id, record.message_id, record.text, deps.clock())
    return Delivery(outcome)


def _outside_reply_window(deps: Outbox, channel: Channel, record: OutboundRecord) -> bool:
    rules = channel.rules
    if rules.reply_window is None:
        return False  # no window: skip the conversation lookup
    last = deps.store.conversation_by_id(record.conversation_id).last_inbound_at
    # The tag is always honoured here: a reply already reserved as human_agent goes out while the tag allows it.
    window = reply_window(rules, last, deps.clock())
    return not window.allows(tagged=record.mode == "human_agent")
