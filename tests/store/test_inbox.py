"""The durable inbox and the outbox's due times on SQLite and PostgreSQL: a delivery is stored in one go and its
duplicates skipped, settled once, found again by the sweeper when stalled; a text that is not storable as it came
is refused by both databases, and stored once cleaned at the edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError, StatementError

from assistant.domain.channels import InboundEvent
from assistant.domain.inbound_text import clean_event
from assistant.domain.messages import InboundMessage, InboxStatus, OutboundStatus
from assistant.store import Store

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def event(n: int, text: str = "Where is my order?", platform: str = "telegram") -> InboundEvent:
    message = InboundMessage(text=text, sender_id=f"u{n}", platform=platform)
    return InboundEvent(platform, f"ev-{n}", f"chat-{n}", "message", message, reply_target={"chat_id": str(n)})


def test_a_delivery_is_stored_once_and_redeliveries_are_skipped(store: Store) -> None:
    first = store.accept_events([event(1), event(2), event(1)], T0)
    assert [(e.event_id, i > 0) for i, e in first] == [("ev-1", True), ("ev-2", True)]
    again = store.accept_events([event(2), event(3)], T0)
    assert [e.event_id for _, e in again] == ["ev-3"]
    stored = store.inbox_event("telegram", "ev-1")
    assert stored is not None and stored.status == InboxStatus.RECEIVED and stored.attempts == 1
    assert InboundEvent.from_dict(stored.payload or {}) == event(1)


def test_a_large_delivery_is_stored_in_chunks_with_every_id(store: Store) -> None:
    accepted = store.accept_events([event(n) for n in range(1, 1201)], T0)
    assert len(accepted) == 1200 and len({inbox_id for inbox_id, _ in accepted}) == 1200
    assert [r.event_id for r in store.inbox_events([accepted[0][0], accepted[-1][0]])] == ["ev-1", "ev-1200"]


def test_settling_happens_once_and_done_drops_the_payload(store: Store) -> None:
    store.accept_events([event(1), event(2)], T0)
    assert store.inbox_done("telegram", "ev-1", T0)
    assert not store.inbox_done("telegram", "ev-1", T0) and not store.inbox_failed("telegram", "ev-1", "x", T0)
    done = store.inbox_event("telegram", "ev-1")
    assert done is not None and done.status == InboxStatus.DONE and done.payload is None and done.done_at == T0
    assert store.inbox_failed("telegram", "ev-2", "RuntimeError: boom", T0)
    failed = store.inbox_event("telegram", "ev-2")
    assert failed is not None and failed.status == InboxStatus.FAILED and failed.payload is not None
    counts = store.inbox_counts()
    assert (counts[InboxStatus.DONE], counts[InboxStatus.FAILED], counts[InboxStatus.RECEIVED]) == (1, 1, 0)


def test_the_sweeper_finds_what_is_past_due_and_a_postponed_retry_is_left_alone(store: Store) -> None:
    store.accept_events([event(1), event(2), event(3)], T0)
    store.inbox_done("telegram", "ev-3", T0)
    store.inbox_postponed("telegram", "ev-2", T0 + timedelta(seconds=30), "OperationalError: locked")
    assert [r.event_id for r in store.stalled_inbox(T0 + timedelta(seconds=10), limit=10)] == ["ev-1"]
    [stalled] = store.stalled_inbox(T0 + timedelta(seconds=10), limit=10)
    store.inbox_requeued([stalled.id], T0 + timedelta(seconds=10))
    requeued = store.inbox_event("telegram", "ev-1")
    assert requeued is not None and requeued.attempts == 2
    later = [r.event_id for r in store.stalled_inbox(T0 + timedelta(seconds=40), limit=10)]
    assert later == ["ev-1", "ev-2"]


def test_a_lone_surrogate_is_refused_by_the_database_and_stored_once_cleaned(store: Store) -> None:
    raw = event(1, text="my order \ud800 is late")
    conversation = store.conversation("telegram", "chat-1", "u1")
    with pytest.raises((UnicodeEncodeError, DBAPIError, StatementError)):
        store.record_inbound(conversation.id, "telegram", "ev-1", raw.message.text, None, False, T0)  # type: ignore[union-attr]
    cleaned = clean_event(raw, max_text_chars=20_000)
    [(_, accepted)] = store.accept_events([cleaned], T0)
    message = accepted.message
    assert message is not None
    message_id = store.record_inbound(conversation.id, "telegram", "ev-1", message.text, None, False, T0)
    assert message_id is not None
    [stored] = [m for m in store.history(conversation.id) if m.id == message_id]
    assert stored.text == "my order \ufffd is late"


def test_a_cut_text_keeps_the_length_it_came_with(store: Store) -> None:
    conversation = store.conversation("telegram", "chat-1", "u1")
    cut = clean_event(event(1, text="x" * 50_000), max_text_chars=20_000).message
    assert cut is not None and cut.received_chars == 50_000
    message_id = store.record_inbound(
        conversation.id, "telegram", "ev-1", cut.text, None, False, T0, received_chars=cut.received_chars
    )
    [stored] = [m for m in store.history(conversation.id) if m.id == message_id]
    assert len(stored.text) == 20_000 and stored.received_chars == 50_000


def test_outbound_rows_are_due_when_reserved_and_after_a_retry_wait(store: Store) -> None:
    conversation = store.conversation("telegram", "chat-1", "u1")
    row, _ = store.reserve_outbound(
        "reply:1", conversation.id, None, "telegram", "reply", "Hi", at=T0, reply_target={"chat_id": "1"}
    )
    assert row.due_at == T0 and row.reply_target == {"chat_id": "1"}
    before, sending_before = T0 + timedelta(seconds=5), T0 - timedelta(seconds=30)
    assert [r.id for r in store.stalled_outbound(before, sending_before, 10)] == [row.id]
    assert store.mark_sending(row.id, T0 + timedelta(seconds=1))
    assert store.stalled_outbound(before, sending_before, 10) == []  # being sent: not before it can have ended
    held = store.stalled_outbound(before, T0 + timedelta(seconds=40), 10)
    assert [(r.id, r.status) for r in held] == [(row.id, OutboundStatus.SENDING)]
    assert store.mark_failed(row.id, "HTTP 503", T0 + timedelta(seconds=60))
    assert store.stalled_outbound(T0 + timedelta(seconds=59), sending_before, 10) == []
    assert [r.id for r in store.stalled_outbound(T0 + timedelta(seconds=61), sending_before, 10)] == [row.id]
    assert store.outbound_requeued(row.id, T0 + timedelta(seconds=61))
    assert store.stalled_outbound(T0 + timedelta(seconds=61), sending_before, 10) == []
