"""A unit of work on SQLite and PostgreSQL: the store calls inside it commit together or not at all, read what the
unit wrote before it commits, and stay invisible to other connections until then."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.domain.messages import HandoffState
from assistant.store import Store, migrate

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class BoomError(Exception):
    pass


def test_the_calls_in_a_unit_commit_together(store: Store, database_url: str) -> None:
    conversation = store.conversation("telegram", "chat-1")
    other = Store.from_url(database_url)  # another pool: sees only what was committed
    try:
        with store.unit_of_work():
            message_id = store.record_inbound(conversation.id, "telegram", "ev-1", "hi", "en", False, T0)
            store.set_handoff(conversation.id, HandoffState.WAITING_FOR_HUMAN)
            # Inside the unit its own writes are read back...
            assert store.inbound_message_id("telegram", "ev-1") == message_id
            assert store.conversation_state(conversation.id).handoff == HandoffState.WAITING_FOR_HUMAN
            if store.engine.dialect.name == "postgresql":
                # ...and another connection does not see them before the commit (SQLite's readers would wait
                # for the write lock the unit holds, so only PostgreSQL can show this without blocking).
                assert other.inbound_message_id("telegram", "ev-1") is None
        assert other.inbound_message_id("telegram", "ev-1") == message_id
        assert other.conversation_state(conversation.id).handoff == HandoffState.WAITING_FOR_HUMAN
    finally:
        other.close()


def test_a_unit_that_raises_leaves_nothing(store: Store) -> None:
    conversation = store.conversation("telegram", "chat-2")
    with pytest.raises(BoomError), store.unit_of_work():
        store.record_inbound(conversation.id, "telegram", "ev-2", "hi", "en", False, T0)
        store.set_handoff(conversation.id, HandoffState.WAITING_FOR_HUMAN)
        raise BoomError
    assert store.inbound_message_id("telegram", "ev-2") is None
    assert store.conversation_state(conversation.id).handoff == HandoffState.BOT


def test_a_unit_inside_a_unit_is_the_same_unit(store: Store) -> None:
    conversation = store.conversation("telegram", "chat-3")
    with pytest.raises(BoomError), store.unit_of_work():
        with store.unit_of_work():
            store.record_inbound(conversation.id, "telegram", "ev-3", "hi", "en", False, T0)
        raise BoomError  # the inner block did not commit on its own: the outer one rolls it back
    assert store.inbound_message_id("telegram", "ev-3") is None


def test_on_sqlite_a_store_on_another_engine_inside_a_unit_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    store, other = Store.from_url(url), Store.from_url(url)
    try:
        conversation = store.conversation("telegram", "chat-4")
        with pytest.raises(RuntimeError, match="another engine"), store.unit_of_work():
            store.record_inbound(conversation.id, "telegram", "ev-4", "hi", "en", False, T0)
            other.conversation("telegram", "chat-5")  # it would wait for the write lock the unit itself holds
        assert store.inbound_message_id("telegram", "ev-4") is None
    finally:
        store.close()
        other.close()
