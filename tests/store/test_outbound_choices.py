"""The options of a clarification are stored with the reserved send (SQLite and PostgreSQL), so a retried, resumed or
redelivered delivery offers exactly the buttons the first attempt would have."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.domain.messages import HUMAN_CHOICE, Choice
from assistant.store import Store

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
CHOICES = (Choice("Shipping times", "choose:shipping-times"), Choice("Rozmowa z człowiekiem", HUMAN_CHOICE))


def reserve(store: Store, key: str, choices: tuple[Choice, ...] = ()) -> tuple[int, bool]:
    conversation = store.conversation("telegram", "chat-1", sender_id="U1")
    message_id = store.record_inbound(conversation.id, "telegram", f"e-{key}", "hi", None, False, T0)
    record, created = store.reserve_outbound(
        key, conversation.id, message_id, "telegram", "reply", "Did you mean: …", choices=choices
    )
    return record.id, created


def test_choices_survive_the_reservation_in_order(store: Store) -> None:
    outbound_id, created = reserve(store, "reply:telegram:1", CHOICES)
    assert created
    assert store.outbound(outbound_id).choices == CHOICES
    assert store.outbound_by_key("reply:telegram:1") == store.outbound(outbound_id)


def test_a_second_reservation_keeps_the_first_choices(store: Store) -> None:
    first, _ = reserve(store, "reply:telegram:2", CHOICES)
    again, created = reserve(store, "reply:telegram:2", (Choice("Other", "choose:other"),))
    assert not created and again == first and store.outbound(first).choices == CHOICES


def test_a_reply_without_choices_has_none(store: Store) -> None:
    outbound_id, _ = reserve(store, "reply:telegram:3")
    assert store.outbound(outbound_id).choices == ()
