"""The console store's canned replies and "did a person answer?" on SQLite and PostgreSQL: a reply moved onto
another reply's key is refused, and an escalation counts as answered from the moment a person's reply is
reserved (one given up on does not count) or delivered."""

from __future__ import annotations

import pytest

from assistant.errors import Conflict
from assistant.store import AccountStore, ConsoleStore, Store
from tests.console.seeding import seed_escalation
from tests.console.support import PASSWORD


def test_changing_a_canned_reply_onto_another_ones_key_is_a_conflict(store: Store) -> None:
    console = ConsoleStore(store.engine)
    sorry = console.save_canned_reply("sorry", "en", "Sorry!")
    late = console.save_canned_reply("late", "en", "Sorry for the wait.", "support")
    changed = console.update_canned_reply(late.id, "late", "en", "Sorry it took so long.", None)
    assert changed is not None and changed.queue is None and changed.text == "Sorry it took so long."
    with pytest.raises(Conflict, match="already a canned reply /sorry in en for all queues"):
        console.update_canned_reply(late.id, "sorry", "en", "x", None)
    assert console.canned_reply(sorry.id) == sorry  # untouched
    assert console.update_canned_reply(10_000, "x", "en", "x", None) is None
    assert console.canned_reply(10_000) is None


def test_an_escalation_is_answered_once_a_persons_reply_is_reserved_or_delivered(store: Store) -> None:
    console = ConsoleStore(store.engine)
    agent = AccountStore(store.engine).create_user("ann", PASSWORD, "agent", queues=("support",))
    seeded = seed_escalation(store)
    assert console.human_replied(seeded.escalation_id) is False
    store.record_outbound_message(seeded.conversation_id, "bot", "A colleague will get back to you.")
    assert console.human_replied(seeded.escalation_id) is False  # the bot's holding reply is no answer
    reserved = console.reserve_reply(seeded.escalation_id, agent.id, "ann", "k-1", "On its way.", "reply")
    assert console.human_replied(seeded.escalation_id) is True
    assert store.mark_refused(reserved.outbound.id, "window closed")
    assert console.human_replied(seeded.escalation_id) is False  # given up on: the customer got nothing

    other = seed_escalation(store)
    store.record_outbound_message(other.conversation_id, "agent", "Answered on the platform.", agent_id=agent.id)
    assert console.human_replied(other.escalation_id) is True
