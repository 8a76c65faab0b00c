"""The sweepers Celery beat runs, so that no acknowledged message waits on a task that no longer exists: the inbox
sweeper queues again the events stored but not decided past a grace period (their task vanished with a Redis
restart or a killed worker), and hands to a person an event that was queued too often without being decided; the
outbox sweeper queues again the replies left pending or failed past their due time, and settles a reply held
"sending" by a worker that died (outcome unknown: never resent, a person is told)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.domain.channels import InboundEvent
from assistant.domain.messages import OutboundStatus
from assistant.services.delivery import Outbox, held_too_long
from assistant.services.inbound import Inbound, give_up
from assistant.services.intake import Enqueue, QueueUnavailableError
from assistant.settings import ReliabilityConfig

log = logging.getLogger("community_assistant.sweeps")

# Queue the delivery of one reserved reply: (outbound id, reply target, conversation key).
EnqueueDelivery = Callable[[int, dict[str, str], str], None]


@dataclass(frozen=True)
class Swept:
    """What one sweep did: tasks queued again, messages handed to a person, and whether the queue was down (the
    next sweep tries again)."""

    requeued: int = 0
    to_person: int = 0
    queue_down: bool = False
    # Tasks were still waiting in the queue: what looks stalled may only be waiting its turn, so nothing was queued
    # again (or handed over) this time.
    behind_backlog: bool = False


def sweep_inbox(deps: Inbound, enqueue: Enqueue, config: ReliabilityConfig, now: datetime, backlog: int = 0) -> Swept:
    """Queue again the events due more than `inbox_grace_seconds` ago and still undecided; an event already queued
    `inbox_max_attempts` times goes to a person as `processing_failed`. With `backlog` tasks still waiting in the
    queue nothing is done: after a surge the events may only be waiting their turn, and queueing them again would
    grow the backlog and hand waiting messages to people. A queue that lost its tasks (Redis restarted without
    them) is empty, so its events are queued again at the next sweep."""
    if backlog > 0:
        return Swept(behind_backlog=True)
    before = now - timedelta(seconds=config.inbox_grace_seconds)
    requeued = to_person = 0
    for record in deps.store.stalled_inbox(before, config.sweep_batch):
        if record.payload is None:
            continue
        event = InboundEvent.from_dict(record.payload)
        if record.attempts >= config.inbox_max_attempts:
            reason = f"not decided after being queued {record.attempts} times"
            if record.last_error:
                reason += f"; last error: {record.last_error}"
            give_up(deps, event, reason, now)
            to_person += 1
            continue
        try:
            enqueue(event)
        except QueueUnavailableError:
            log.warning("inbox sweep: the queue is down; %d events queued again before it", requeued)
            return Swept(requeued, to_person, queue_down=True)
        deps.store.inbox_requeued([record.id], now)
        requeued += 1
    if requeued or to_person:
        log.warning("inbox sweep: %d events queued again, %d handed to a person", requeued, to_person)
    return Swept(requeued, to_person)


def sweep_outbox(deps: Outbox, enqueue: EnqueueDelivery, config: ReliabilityConfig, backlog: int = 0) -> Swept:
    """Queue again the replies pending or failed more than `outbox_grace_seconds` past their due time (the task
    applies the deadline), and settle those held "sending" longer than a send can take. With `backlog` tasks still
    waiting in the queue only the held sends are settled (a pending reply's task may be among those waiting)."""
    store = deps.store
    now = deps.clock()
    before = now - timedelta(seconds=config.outbox_grace_seconds)
    requeued = to_person = 0
    for record in store.stalled_outbound(before, before - deps.send_hold, config.sweep_batch):
        if record.status == OutboundStatus.SENDING:
            held_too_long(deps, record)
            to_person += 1
            continue
        if backlog > 0:
            continue
        conversation = store.conversation_by_id(record.conversation_id)
        target = record.reply_target or conversation.reply_target or {}
        try:
            enqueue(record.id, dict(target), conversation.conversation_key)
        except QueueUnavailableError:
            log.warning("outbox sweep: the queue is down; %d replies queued again before it", requeued)
            return Swept(requeued, to_person, queue_down=True)
        store.outbound_requeued(record.id, now)
        requeued += 1
    if requeued or to_person:
        log.warning("outbox sweep: %d replies queued again, %d settled as unknown", requeued, to_person)
    return Swept(requeued, to_person, behind_backlog=backlog > 0)
