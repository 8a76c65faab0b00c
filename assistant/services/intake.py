"""Accepting a verified webhook delivery: every text cleaned once at the edge, the events stored in the durable inbox
(one transaction) and then queued. The webhook answers once they are stored, so a broker that is down loses
nothing: the inbox sweeper queues what could not be queued. A database that does not take them makes the webhook
answer 503 (`StoreUnavailableError`), and the platform delivers again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from assistant.domain.channels import InboundEvent
from assistant.domain.inbound_text import clean_event
from assistant.domain.messages import InboxStatus
from assistant.errors import NotReady
from assistant.settings import ReliabilityConfig
from assistant.store import Store

log = logging.getLogger("community_assistant.intake")


class QueueUnavailableError(NotReady):
    """The task queue did not take a task (its broker is down or refused it). Raised by the runtime's enqueue
    functions; what was stored waits for the sweeper."""


# Queue the decision of one stored event.
Enqueue = Callable[[InboundEvent], None]
# Hand the inbox ids of a large delivery to one task that queues their decisions.
EnqueueStored = Callable[[Sequence[int]], None]


@dataclass(frozen=True)
class Intake:
    store: Store
    enqueue: Enqueue
    enqueue_stored: EnqueueStored
    config: ReliabilityConfig


@dataclass(frozen=True)
class Accepted:
    """What became of a delivery's events: `stored` new ones (the others were duplicates or carried no message),
    `queued` of them queued now; `deferred` when the queue was unavailable and the sweeper will queue the rest."""

    stored: int
    queued: int
    deferred: bool = False


def accept(deps: Intake, events: Sequence[InboundEvent], now: datetime) -> Accepted:
    """Clean, store (StoreUnavailableError when the database refuses) and queue a delivery's events."""
    cleaned = [clean_event(event, deps.config.max_text_chars) for event in events if event.decidable]
    stored = deps.store.accept_events(cleaned, now)
    if not stored:
        return Accepted(0, 0)
    queued = 0
    try:
        if len(stored) > deps.config.direct_enqueue_max:
            # One task queues them from a worker: the webhook answers within the platform's deadline.
            deps.enqueue_stored([inbox_id for inbox_id, _ in stored])
            return Accepted(len(stored), len(stored))
        for _, event in stored:
            deps.enqueue(event)
            queued += 1
    except QueueUnavailableError as error:
        log.warning("%d stored events not queued (%s): the inbox sweeper queues them", len(stored) - queued, error)
        return Accepted(len(stored), queued, deferred=True)
    return Accepted(len(stored), queued)


def queue_stored(deps: Intake, inbox_ids: Sequence[int]) -> int:
    """Queue the decisions of stored events (a large delivery's, handed over by `accept`); how many were queued.
    An event decided meanwhile (a sweep got there first) is skipped."""
    queued = 0
    for record in deps.store.inbox_events(inbox_ids):
        if record.status != InboxStatus.RECEIVED or record.payload is None:
            continue
        deps.enqueue(InboundEvent.from_dict(record.payload))
        queued += 1
    return queued
