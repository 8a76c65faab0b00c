"""The agents' inbox in the store, on SQLite and PostgreSQL: one list across queues with its filters and the
customer's waiting time, full-text search kept in step by the write path and backfilled by migration 0008, the
customer's other conversations, and labels."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from assistant.domain.messages import HandoffState
from assistant.store import AccountStore, ConsoleStore, Store, make_engine, migrate
from assistant.store.inbox_records import InboxFilters
from assistant.store.tables import Conversation, Escalation, Message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def escalate(
    store: Store,
    text: str,
    *,
    queue: str = "support",
    platform: str = "telegram",
    sender: str | None = None,
    language: str = "en",
    at: datetime = T0,
    priority: int = 2,
) -> tuple[int, int]:
    """A customer message that raised an escalation: (conversation id, escalation id)."""
    number = next(_numbers)
    conversation = store.conversation(platform, f"chat-{number}", sender or f"user-{number}", f"Person {number}")
    message_id = store.record_inbound(conversation.id, platform, f"evt-{number}", text, language, False, at)
    assert message_id is not None
    escalation_id = store.open_escalation(
        conversation.id, message_id, queue, priority, "human_requested", None, at + timedelta(hours=4), at=at
    )
    return conversation.id, escalation_id


def listed(console: ConsoleStore, **filters: object) -> list[int]:
    filters.setdefault("queues", ("support", "billing"))
    page = console.inbox_page(InboxFilters(**filters))  # type: ignore[arg-type]
    assert page.total == len(page.rows)
    return [row.item.escalation.id for row in page.rows]


def test_the_inbox_lists_the_callers_queues_with_every_filter(store: Store) -> None:
    console = ConsoleStore(store.engine)
    accounts = AccountStore(store.engine)
    ann = accounts.create_user("ann", "a-long-password", "agent", queues=("support", "billing"))
    _, support = escalate(store, "where is my parcel", priority=2)
    billing_conversation, billing = escalate(store, "double charge", queue="billing", platform="slack", priority=3)
    _, urgent = escalate(store, "burn", queue="urgent")  # not one of ann's queues
    _, french = escalate(store, "où est mon colis", language="fr", priority=1)
    store.claim(billing, ann.id, "ann")

    assert listed(console) == [billing, support, french]  # most urgent first, never another queue's
    assert urgent in listed(console, queues=None)  # an admin's inbox: every queue
    assert listed(console, scope="mine", agent_id=ann.id) == [billing]
    assert listed(console, scope="unassigned") == [support, french]
    assert listed(console, status="claimed") == [billing]
    assert listed(console, queue="support") == [support, french]
    assert listed(console, platform="slack") == [billing]
    assert listed(console, language="fr") == [french]
    console.add_label(billing_conversation, "vip", ann.id)
    assert listed(console, label="vip") == [billing]
    store.settle(billing, HandoffState.CLOSED)
    store.settle(support, HandoffState.CLOSED)
    assert listed(console, status="resolved") == [support, billing]  # the latest resolved first
    assert listed(console) == [french]


def test_waiting_since_is_the_first_customer_message_after_a_persons_last_reply(store: Store) -> None:
    console = ConsoleStore(store.engine)
    conversation_id, escalation_id = escalate(store, "I need a person", at=T0)

    def waiting() -> datetime | None:
        (row,) = console.inbox_page(InboxFilters(queues=None)).rows
        return row.waiting_since

    store.record_outbound_message(conversation_id, "bot", "A colleague will answer", at=T0 + timedelta(seconds=1))
    assert waiting() == T0  # the bot's holding reply does not answer the customer
    store.record_inbound(conversation_id, "telegram", "evt-more", "hello?", "en", False, T0 + timedelta(minutes=5))
    assert waiting() == T0  # still since the first unanswered message
    store.record_outbound_message(conversation_id, "agent", "Hi, Ann here", at=T0 + timedelta(minutes=7))
    assert waiting() is None  # a person answered last
    later = T0 + timedelta(minutes=9)
    store.record_inbound(conversation_id, "telegram", "evt-again", "thanks, and?", "en", False, later)
    assert waiting() == later
    store.settle(escalation_id, HandoffState.CLOSED)
    (row,) = console.inbox_page(InboxFilters(queues=None, status="resolved")).rows
    assert row.waiting_since is None


def test_search_finds_what_the_write_path_recorded_and_only_in_the_callers_queues(store: Store) -> None:
    console = ConsoleStore(store.engine)
    parcel, _ = escalate(store, "My PARCEL never arrived, tracking says Lyon", at=T0)
    refund, _ = escalate(store, "I want a refund for the jacket", queue="billing", at=T0 + timedelta(minutes=1))
    hidden, _ = escalate(store, "refund the burnt stove", queue="urgent", at=T0 + timedelta(minutes=2))
    store.record_outbound_message(parcel, "agent", "The courier confirms the parcel is in Lyon depot")
    mine = ("support", "billing")

    def found(query: str, queues: tuple[str, ...] | None = mine) -> list[int]:
        return [hit.conversation_id for hit in console.search_conversations(query, queues)]

    assert found("parcel") == [parcel]  # case folded; two matching messages, one result
    (hit,) = console.search_conversations("courier depot", mine)
    assert (hit.author, hit.queue) == ("agent", "support")  # an agent's message is indexed too
    assert found("parcel lyon") == [parcel]  # every word must occur
    assert found("parcel refund") == []
    assert found("refund") == [refund]  # not the urgent queue's conversation
    assert found("refund", None) == [hidden, refund]  # admins: every queue, latest first
    assert found('"refund* -(') == [refund]  # punctuation is never query syntax
    assert found("   ") == []
    assert [hit.conversation_id for hit in console.search_conversations("refund", None, limit=1)] == [hidden]


def test_sqlite_folds_accents_and_postgresql_does_not(store: Store, backend: str) -> None:
    console = ConsoleStore(store.engine)
    conversation_id, _ = escalate(store, "Le café était froid")
    assert [hit.conversation_id for hit in console.search_conversations("CAFÉ", None)] == [conversation_id]
    folded = [hit.conversation_id for hit in console.search_conversations("cafe", None)]
    assert folded == ([conversation_id] if backend == "sqlite" else [])


def test_migration_0008_indexes_the_messages_already_stored(database_url: str) -> None:
    migrate(database_url, "0007")
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            conversation_id = session.execute(
                insert(Conversation)
                .values(platform="slack", conversation_key="old", handoff="bot", created_at=T0, updated_at=T0)
                .returning(Conversation.id)
            ).scalar_one()
            message_id = session.execute(
                insert(Message)
                .values(
                    conversation_id=conversation_id,
                    platform="slack",
                    direction="in",
                    author="customer",
                    text="An invoice from last winter",
                    is_public=False,
                    created_at=T0,
                )
                .returning(Message.id)
            ).scalar_one()
            session.execute(
                insert(Escalation).values(
                    conversation_id=conversation_id,
                    message_id=message_id,
                    queue="billing",
                    priority=2,
                    reason="human_requested",
                    status="open",
                    sla_due_at=T0,
                    created_at=T0,
                    updated_at=T0,
                    version=1,
                )
            )
        migrate(database_url)
        (hit,) = ConsoleStore(engine).search_conversations("invoice winter", None)
        assert hit.message_id == message_id
    finally:
        engine.dispose()


def test_the_customer_panel_links_the_same_platform_user_and_labels_stick(store: Store) -> None:
    console = ConsoleStore(store.engine)
    now_id, _ = escalate(store, "today's question", sender="u-42", at=T0 + timedelta(days=3))
    before_id, _ = escalate(store, "last month's question", sender="u-42", queue="billing", at=T0)
    secret_id, _ = escalate(store, "a risky one", sender="u-42", queue="urgent", at=T0 + timedelta(days=1))
    escalate(store, "same id, other platform", sender="u-42", platform="slack")
    bot_only = store.conversation("telegram", "bot-only", "u-42", "Person")
    store.record_inbound(bot_only.id, "telegram", "evt-bot-only", "opening hours?", "en", False, T0)

    others = console.customer_conversations(now_id, ("support", "billing"))
    assert [o.conversation_id for o in others] == [bot_only.id, secret_id, before_id]  # never the slack one
    by_id = {o.conversation_id: o for o in others}
    assert by_id[before_id].preview == "last month's question" and by_id[before_id].escalation_id is not None
    assert by_id[secret_id].preview is None and by_id[secret_id].escalation_id is None  # not the caller's queue
    assert by_id[secret_id].latest_queue == "urgent"
    assert by_id[bot_only.id].escalations == 0 and by_id[bot_only.id].messages == 1

    assert console.add_label(before_id, "vip", None) is True
    assert console.add_label(before_id, "vip", None) is False  # once
    console.add_label(before_id, "refund", None)
    assert console.labels(before_id) == ("refund", "vip")
    assert console.customer_conversations(now_id, None)[-1].labels == ("refund", "vip")
    assert console.remove_label(before_id, "vip") is True
    assert console.remove_label(before_id, "vip") is False
    assert console.labels(before_id) == ("refund",)
    assert console.known_labels() == ["refund"]
