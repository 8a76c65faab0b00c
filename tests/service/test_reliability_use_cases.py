"""The reliability use cases on their own (a SQLite store, no Flask, Celery or Redis): intake stores before it
queues and loses nothing when the queue is down; a decision that keeps failing goes to a person; the sweepers queue
again what a lost task left, hand over what cannot be decided, and settle a send a dead worker held."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.domain.business_hours import BusinessHours
from assistant.domain.channels import NO_RULES, InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import HandoffState, InboundMessage, InboxStatus, OutboundStatus, Priority
from assistant.pipeline import Engine
from assistant.services import intake, sweeps
from assistant.services.delivery import DeliveryOutcome, Outbox, deliver_reply
from assistant.services.escalate import Escalations
from assistant.services.inbound import Inbound, failed_attempt
from assistant.services.inbound import process_event as inbound_process
from assistant.settings import ReliabilityConfig, Settings, load_settings
from assistant.store import Store, StoreUnavailableError
from assistant.store.db import migrate

NOW = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
CONFIG = ReliabilityConfig(inbox_grace_seconds=60, outbox_grace_seconds=60, inbox_max_attempts=3, direct_enqueue_max=3)


def message_event(n: int, text: str = "Where is my order?") -> InboundEvent:
    message = InboundMessage(text=text, sender_id=f"u{n}", sender_name="Anna", platform="telegram")
    return InboundEvent("telegram", f"ev-{n}", f"chat-{n}", "message", message, reply_target={"chat_id": str(n)})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'reliability.db'}"
    migrate(url)
    return load_settings(service={"database_url": url, "send_max_retries": 2})


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store.from_url(settings.service.database_url)
    yield store
    store.close()


def escalations(store: Store, settings: Settings) -> Escalations:
    return Escalations(store, settings, BusinessHours.from_config(settings.business_hours))


def no_engine() -> Engine:
    raise AssertionError("nothing here decides")


def inbound(store: Store, settings: Settings, max_retries: int = 2) -> Inbound:
    return Inbound(store, no_engine, lambda _key: contextlib.nullcontext(), escalations(store, settings), max_retries)


class Queue:
    """What the broker would hold; `down` makes it refuse as an unreachable Redis does."""

    def __init__(self, down: bool = False) -> None:
        self.events: list[InboundEvent] = []
        self.batches: list[Sequence[int]] = []
        self.deliveries: list[tuple[int, dict[str, str], str]] = []
        self.down = down

    def _check(self) -> None:
        if self.down:
            raise intake.QueueUnavailableError("broker down")

    def enqueue(self, event: InboundEvent) -> None:
        self._check()
        self.events.append(event)

    def enqueue_stored(self, ids: Sequence[int]) -> None:
        self._check()
        self.batches.append(list(ids))

    def enqueue_delivery(self, outbound_id: int, target: dict[str, str], key: str) -> None:
        self._check()
        self.deliveries.append((outbound_id, target, key))


def intake_deps(store: Store, queue: Queue) -> intake.Intake:
    return intake.Intake(store, queue.enqueue, queue.enqueue_stored, CONFIG)


def test_intake_cleans_stores_and_queues_each_new_event_once(store: Store) -> None:
    queue = Queue()
    accepted = intake.accept(intake_deps(store, queue), [message_event(1, "late \ud800 order"), message_event(2)], NOW)
    assert (accepted.stored, accepted.queued, accepted.deferred) == (2, 2, False)
    assert [e.message.text for e in queue.events if e.message] == ["late \ufffd order", "Where is my order?"]
    again = intake.accept(intake_deps(store, queue), [message_event(1), message_event(2)], NOW)
    assert (again.stored, again.queued) == (0, 0) and len(queue.events) == 2


def test_events_without_a_message_are_acknowledged_but_not_stored(store: Store) -> None:
    read = InboundEvent("telegram", "read-1", "chat-1", "read", None)
    assert intake.accept(intake_deps(store, Queue()), [read], NOW) == intake.Accepted(0, 0)
    assert store.inbox_event("telegram", "read-1") is None


def test_with_the_queue_down_intake_still_stores_and_says_the_sweeper_has_it(store: Store) -> None:
    accepted = intake.accept(intake_deps(store, Queue(down=True)), [message_event(1)], NOW)
    assert (accepted.stored, accepted.queued, accepted.deferred) == (1, 0, True)
    stored = store.inbox_event("telegram", "ev-1")
    assert stored is not None and stored.status == InboxStatus.RECEIVED


def test_a_large_delivery_is_handed_to_one_task_that_queues_it_from_the_worker(store: Store) -> None:
    queue = Queue()
    events = [message_event(n) for n in range(1, 11)]
    accepted = intake.accept(intake_deps(store, queue), events, NOW)
    assert accepted.stored == 10 and queue.events == [] and len(queue.batches) == 1
    store.inbox_done("telegram", "ev-1", NOW)  # a sweep got to one first: it is not queued twice
    assert intake.queue_stored(intake_deps(store, queue), queue.batches[0]) == 9
    assert [e.event_id for e in queue.events] == [f"ev-{n}" for n in range(2, 11)]


def test_a_database_that_refuses_the_write_is_store_unavailable(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'locked.db'}"
    migrate(url)
    locked = Store.from_url(url, busy_timeout_ms=50)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailableError):
            intake.accept(intake_deps(locked, Queue()), [message_event(1)], NOW)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.inbox_event("telegram", "ev-1") is None


def test_a_failing_decision_is_retried_with_backoff_then_handed_to_a_person(store: Store, settings: Settings) -> None:
    deps = inbound(store, settings, max_retries=2)
    event = message_event(1, "Why was I charged twice?")
    store.accept_events([event], NOW)
    assert failed_attempt(deps, event, 0, RuntimeError("engine crashed"), NOW) == 2.0
    postponed = store.inbox_event("telegram", "ev-1")
    assert postponed is not None and postponed.due_at == NOW + timedelta(seconds=2) and postponed.last_error
    assert failed_attempt(deps, event, 1, RuntimeError("engine crashed"), NOW) == 4.0
    assert failed_attempt(deps, event, 2, RuntimeError("engine crashed"), NOW) is None
    failed = store.inbox_event("telegram", "ev-1")
    assert failed is not None and failed.status == InboxStatus.FAILED and "engine crashed" in (failed.last_error or "")
    [escalation] = store.escalations(status="open", limit=10)
    assert escalation.reason == "processing_failed" and escalation.priority == Priority.HIGH
    conversation = store.conversation_by_id(escalation.conversation_id)
    assert conversation.handoff == HandoffState.WAITING_FOR_HUMAN
    # The person sees the message itself.
    [message] = [m for m in store.history(conversation.id) if m.id == escalation.message_id]
    assert message.text == "Why was I charged twice?"
    # A late retry of the same event changes nothing: one escalation.
    assert failed_attempt(deps, event, 3, RuntimeError("again"), NOW) is None
    assert len(store.escalations(status="open", limit=10)) == 1


def test_the_inbox_sweeper_queues_again_what_stalled_and_hands_over_what_never_got_decided(
    store: Store, settings: Settings
) -> None:
    deps = inbound(store, settings)
    store.accept_events([message_event(1), message_event(2), message_event(3)], NOW)
    store.inbox_done("telegram", "ev-3", NOW)
    queue = Queue()
    early = sweeps.sweep_inbox(deps, queue.enqueue, CONFIG, NOW + timedelta(seconds=30))
    assert early == sweeps.Swept() and queue.events == []  # within the grace period: their tasks may be running
    swept = sweeps.sweep_inbox(deps, queue.enqueue, CONFIG, NOW + timedelta(seconds=61))
    assert swept.requeued == 2 and [e.event_id for e in queue.events] == ["ev-1", "ev-2"]
    # Their new tasks vanish too (a worker that dies on them): queued three times, then a person has them.
    sweeps.sweep_inbox(deps, queue.enqueue, CONFIG, NOW + timedelta(seconds=200))
    last = sweeps.sweep_inbox(deps, queue.enqueue, CONFIG, NOW + timedelta(seconds=400))
    assert last.to_person == 2 and len(queue.events) == 4
    assert sorted(e.reason for e in store.escalations(status="open", limit=10)) == ["processing_failed"] * 2
    assert store.inbox_counts()[InboxStatus.FAILED] == 2


def test_the_inbox_sweeper_stops_at_a_queue_that_is_down_and_loses_nothing(store: Store, settings: Settings) -> None:
    store.accept_events([message_event(1)], NOW)
    swept = sweeps.sweep_inbox(inbound(store, settings), Queue(down=True).enqueue, CONFIG, NOW + timedelta(hours=1))
    assert swept.queue_down and swept.requeued == 0
    stored = store.inbox_event("telegram", "ev-1")
    assert stored is not None and stored.status == InboxStatus.RECEIVED and stored.attempts == 1


class OkChannel:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    @property
    def rules(self) -> PlatformRules:
        return NO_RULES

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(ok=True, status=200, platform_message_id="m-1")


def outbox(store: Store, settings: Settings, channel: OkChannel, now: datetime) -> Outbox:
    return Outbox(
        store, {"telegram": channel}, lambda _p, _k: True, escalations(store, settings), 2, lambda: now, 2.0, 3600
    )


def reserve(store: Store, n: int, at: datetime) -> int:
    conversation = store.conversation("telegram", f"chat-{n}", f"u{n}")
    message_id = store.record_inbound(conversation.id, "telegram", f"ev-{n}", "hi", "en", False, at)
    record, _ = store.reserve_outbound(
        f"reply:telegram:ev-{n}",
        conversation.id,
        message_id,
        "telegram",
        "reply",
        "Hello!",
        at=at,
        reply_target={"chat_id": str(n)},
    )
    return record.id


def test_the_outbox_sweeper_queues_a_reply_whose_task_was_lost_and_it_goes_out_once(
    store: Store, settings: Settings
) -> None:
    lost = reserve(store, 1, NOW)
    fresh = reserve(store, 2, NOW + timedelta(seconds=50))
    channel, queue = OkChannel(), Queue()
    swept = sweeps.sweep_outbox(
        outbox(store, settings, channel, NOW + timedelta(seconds=70)), queue.enqueue_delivery, CONFIG
    )
    assert swept.requeued == 1 and queue.deliveries == [(lost, {"chat_id": "1"}, "chat-1")]
    assert fresh not in [d[0] for d in queue.deliveries]
    # The next sweep leaves it to the task just queued.
    again = sweeps.sweep_outbox(
        outbox(store, settings, channel, NOW + timedelta(seconds=80)), queue.enqueue_delivery, CONFIG
    )
    assert again.requeued == 0
    deps = outbox(store, settings, channel, NOW + timedelta(seconds=81))
    assert deliver_reply(deps, lost, {"chat_id": "1"}, "chat-1").outcome == DeliveryOutcome.SENT
    assert deliver_reply(deps, lost, {"chat_id": "1"}, "chat-1").outcome == DeliveryOutcome.ALREADY_DONE
    assert len(channel.sent) == 1


def test_a_send_held_by_a_dead_worker_is_settled_unknown_and_handed_to_a_person(
    store: Store, settings: Settings
) -> None:
    held = reserve(store, 1, NOW)
    assert store.mark_sending(held, NOW)
    channel, queue = OkChannel(), Queue()
    # Held for less than a send can take: maybe still sending, left alone.
    assert (
        sweeps.sweep_outbox(
            outbox(store, settings, channel, NOW + timedelta(seconds=62)), queue.enqueue_delivery, CONFIG
        )
        == sweeps.Swept()
    )
    swept = sweeps.sweep_outbox(
        outbox(store, settings, channel, NOW + timedelta(seconds=70)), queue.enqueue_delivery, CONFIG
    )
    assert swept.to_person == 1 and queue.deliveries == [] and channel.sent == []
    assert store.outbound(held).status == OutboundStatus.UNKNOWN
    assert [e.reason for e in store.escalations(status="open", limit=10)] == ["delivery_failed"]


def test_a_second_task_finding_a_send_in_progress_waits_instead_of_calling_it_unknown(
    store: Store, settings: Settings
) -> None:
    held = reserve(store, 1, NOW)
    assert store.mark_sending(held, NOW)
    early = deliver_reply(outbox(store, settings, OkChannel(), NOW + timedelta(seconds=1)), held, {"chat_id": "1"})
    assert early.outcome == DeliveryOutcome.RETRY and early.retry_after == pytest.approx(6.0)
    assert store.outbound(held).status == OutboundStatus.SENDING


def test_a_reply_not_out_by_the_deadline_goes_to_a_person_instead(store: Store, settings: Settings) -> None:
    late = reserve(store, 1, NOW)
    channel = OkChannel()
    delivery = deliver_reply(outbox(store, settings, channel, NOW + timedelta(hours=2)), late, {"chat_id": "1"})
    assert delivery.outcome == DeliveryOutcome.FAILED and channel.sent == []
    assert store.outbound(late).status == OutboundStatus.DEAD
    assert [e.reason for e in store.escalations(status="open", limit=10)] == ["delivery_failed"]


def test_the_engine_is_loaded_before_the_conversation_is_locked(store: Store, settings: Settings) -> None:
    locked: list[str] = []

    @contextlib.contextmanager
    def lock(key: str) -> Iterator[None]:
        locked.append(key)
        yield

    def loading() -> Engine:
        assert locked == [], "the engine must be loaded before the lock is taken"
        raise RuntimeError("still loading")  # enough: nothing was locked for the model's load

    deps = Inbound(store, loading, lock, escalations(store, settings))
    with pytest.raises(RuntimeError, match="still loading"):
        inbound_process(deps, message_event(1), NOW)
    assert locked == []


def test_a_conversation_lock_left_by_a_dead_task_is_waited_for_briefly_and_expires(tmp_path: Path) -> None:
    from assistant.services.inbound import ConversationBusyError
    from tests.conftest import TEST_REDIS_URL
    from webhooks.runtime import Runtime

    def runtime(lock_seconds: int) -> Runtime:
        service = {
            "redis_url": TEST_REDIS_URL,
            "database_url": f"sqlite:///{tmp_path / 'x.db'}",
            "conversation_lock_seconds": lock_seconds,
            "conversation_lock_wait_seconds": 0.2,
        }
        return Runtime(load_settings(data_dir=tmp_path, service=service))

    # A task killed while deciding: nobody releases its lock. The next one gives up waiting (and is retried later)
    # long before the lock's 30 s are over, so its worker goes on with other conversations.
    long_lived, key = runtime(30), f"telegram:chat-{time.time_ns()}"
    assert long_lived.conversation_lock(key).acquire()
    with pytest.raises(ConversationBusyError), long_lived.inbound().lock(key):
        pass
    long_lived.redis.delete(f"ca:lock:conversation:{key}")
    # The lock expires after `conversation_lock_seconds`: the retry then gets it.
    short_lived = runtime(1)
    assert short_lived.conversation_lock(key).acquire()
    deadline = time.monotonic() + 10
    while short_lived.redis.exists(f"ca:lock:conversation:{key}") and time.monotonic() < deadline:
        time.sleep(0.05)
    with short_lived.inbound().lock(key):
        pass


def test_behind_a_backlog_the_sweepers_wait_instead_of_queueing_again_or_handing_over(
    store: Store, settings: Settings
) -> None:
    # A surge: thousands of tasks still in the queue, so events past their grace period may only be waiting their
    # turn. Queueing them again would grow the backlog, and counting those queueings would hand them to people.
    deps = inbound(store, settings)
    store.accept_events([message_event(1)], NOW)
    queue = Queue()
    for minutes in (2, 4, 6, 8, 10):
        swept = sweeps.sweep_inbox(deps, queue.enqueue, CONFIG, NOW + timedelta(minutes=minutes), backlog=3000)
        assert swept == sweeps.Swept(behind_backlog=True)
    stored = store.inbox_event("telegram", "ev-1")
    assert queue.events == [] and stored is not None and stored.attempts == 1 and stored.status == "received"
    assert store.escalations(status="open", limit=10) == []
    # The queue drained (or Redis came back empty): the next sweep queues it.
    assert sweeps.sweep_inbox(deps, queue.enqueue, CONFIG, NOW + timedelta(minutes=12), backlog=0).requeued == 1

    pending = reserve(store, 2, NOW)
    held = reserve(store, 3, NOW)
    assert store.mark_sending(held, NOW)
    later = outbox(store, settings, OkChannel(), NOW + timedelta(minutes=5))
    behind = sweeps.sweep_outbox(later, queue.enqueue_delivery, CONFIG, backlog=3000)
    # A send a dead worker held is settled whatever the queue holds; a pending reply's task may be in the backlog.
    assert (behind.requeued, behind.to_person, behind.behind_backlog) == (0, 1, True) and queue.deliveries == []
    assert store.outbound(pending).status == OutboundStatus.PENDING
