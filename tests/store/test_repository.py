"""The store on SQLite and PostgreSQL: migrations, duplicate deliveries, races between workers, escalations,
idempotent sends, time zones and report metrics."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from assistant.domain.messages import Action, ConversationState, Decision, EscalationReason, HandoffState, Priority
from assistant.store import (
    AccountStore,
    ClaimConflictError,
    NotFoundError,
    Store,
    current_revision,
    head_revision,
    make_engine,
    migrate,
)
from assistant.store.tables import Base, Conversation, Escalation, Message, include_in_comparison

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
THREADS = 8
R = TypeVar("R")


def race(worker: Callable[[int], R], threads: int = THREADS) -> list[R]:
    """Run `worker(i)` in `threads` threads released at the same instant."""
    barrier = threading.Barrier(threads)

    def run(index: int) -> R:
        barrier.wait()
        return worker(index)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, range(threads)))


def count(store: Store, model: type[Base]) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def agent(store: Store, name: str) -> int:
    """A console user to hold escalations (escalations.assigned_agent_id refers to users.id)."""
    return AccountStore(store.engine).create_user(name, "correct horse battery", "agent").id


def new_message(store: Store, key: str = "c1", event: str = "e1", at: datetime = T0) -> tuple[int, int]:
    conversation = store.conversation("slack", key, sender_id="U1")
    message_id = store.record_inbound(conversation.id, "slack", event, "hello", None, False, at)
    assert message_id is not None
    return conversation.id, message_id


# Migrations


def test_migrate_is_idempotent(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision() == "0010"
        tables = set(inspect(engine).get_table_names())
        assert {"conversations", "messages", "decisions", "escalations", "outbound", "alembic_version"} <= tables
    finally:
        engine.dispose()


def test_concurrent_migrate_from_processes(database_url: str) -> None:
    # Several workers start at once on an empty database: one migrates, the others wait and find head.
    # Each child imports first, says "ready", and migrates on "go", so the upgrades really overlap.
    code = (
        "import sys; from assistant.store import migrate; print('ready', flush=True); sys.stdin.readline();"
        "migrate(sys.argv[1])"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, errors
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        opts = {"compare_type": True, "include_object": include_in_comparison}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def test_constraint_and_index_names_match_the_models(store: Store) -> None:
    # compare_metadata ignores CHECK constraints and names; later migrations address constraints by name.
    inspector = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        found = {str(c["name"]) for c in inspector.get_check_constraints(table.name)}
        found |= {str(c["name"]) for c in inspector.get_unique_constraints(table.name)}
        found |= {str(c["name"]) for c in inspector.get_foreign_keys(table.name)}
        found.add(str(inspector.get_pk_constraint(table.name)["name"]))
        assert found == {str(c.name) for c in table.constraints}, table.name
        indexes = {
            (str(i["name"]), bool(i["unique"]))
            for i in inspector.get_indexes(table.name)
            if not i.get("duplicates_constraint")
        }
        assert indexes == {(str(i.name), bool(i.unique)) for i in table.indexes}, table.name


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'folder' / 'db.sqlite'}"
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


def test_store_never_imports_the_runtime() -> None:
    code = (
        "import sys, assistant.store, assistant.store.db, assistant.store.stores;"
        "bad = sorted({'flask', 'celery', 'webhooks'} & {m.split('.')[0] for m in sys.modules});"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# Conversations and messages


def test_conversation_get_or_create(store: Store) -> None:
    first = store.conversation("telegram", "42", sender_id="7", sender_name="Ann")
    again = store.conversation("telegram", "42", sender_name="Ann B.")
    other_platform = store.conversation("discord", "42")
    assert again.id == first.id and again.sender_name == "Ann B." and again.sender_id == "7"
    assert other_platform.id != first.id
    assert first.handoff is HandoffState.BOT and not first.rephrase_asked and first.assigned_agent is None


def test_conversation_race_creates_one_row(store: Store) -> None:
    ids = race(lambda i: store.conversation("whatsapp", "+48123", sender_id=f"worker-{i}").id)
    assert len(set(ids)) == 1
    assert count(store, Conversation) == 1


def test_duplicate_inbound_event_is_none(store: Store) -> None:
    conversation = store.conversation("messenger", "psid-1")
    first = store.record_inbound(conversation.id, "messenger", "mid.1", "hi", "en", False, T0)
    duplicate = store.record_inbound(conversation.id, "messenger", "mid.1", "hi", "en", False, T0)
    # The same event id on another platform is another event.
    elsewhere = store.conversation("instagram", "psid-1")
    other = store.record_inbound(elsewhere.id, "instagram", "mid.1", "hi", "en", False, T0)
    assert isinstance(first, int) and duplicate is None and isinstance(other, int)
    # Events without ids (CLI, some platforms) are never deduplicated.
    assert store.record_inbound(conversation.id, "messenger", None, "a", None, False, T0) is not None
    assert store.record_inbound(conversation.id, "messenger", None, "a", None, False, T0) is not None
    assert count(store, Message) == 4
    with pytest.raises(IntegrityError):  # foreign keys are enforced on SQLite too
        store.record_inbound(999_999, "messenger", "mid.2", "hi", "en", False, T0)


def test_concurrent_redelivery_records_one_message(store: Store) -> None:
    conversation = store.conversation("slack", "T1:C1")
    results = race(lambda _: store.record_inbound(conversation.id, "slack", "Ev123", "refund?", None, True, T0))
    assert len([result for result in results if result is not None]) == 1
    assert results.count(None) == THREADS - 1
    assert count(store, Message) == 1
    assert store.conversation_by_id(conversation.id).last_inbound_at == T0


def test_last_inbound_never_moves_back(store: Store) -> None:
    conversation = store.conversation("slack", "c")
    store.record_inbound(conversation.id, "slack", "late", "b", None, False, T0 + timedelta(minutes=5))
    store.record_inbound(conversation.id, "slack", "early", "a", None, False, T0)
    assert store.conversation_by_id(conversation.id).last_inbound_at == T0 + timedelta(minutes=5)


def test_history_state_and_updates(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    decision = Decision(
        action=Action.ANSWER,
        language="pl",
        reply="Zwroty w 30 dni.",
        reply_kind="faq",
        entry_id="returns.window",
        intent="refund",
        confidence=0.93,
        reasons=["faq match"],
        scores={"faq": 0.93, "negative": 0.1},
        latency_ms=12.5,
    )
    decision_id = store.record_decision(message_id, decision)
    # A retried task records nothing new and gets the first decision back.
    assert store.record_decision(message_id, Decision(action=Action.IGNORE, language="en")) == decision_id
    store.record_outbound_message(conversation_id, "bot", "Zwroty w 30 dni.", "ts.1", at=T0 + timedelta(seconds=2))
    history = store.history(conversation_id)
    assert [(m.direction, m.author) for m in history] == [("in", "customer"), ("out", "bot")]
    recorded = history[0].decision
    assert recorded is not None and recorded.action is Action.ANSWER and recorded.entry_id == "returns.window"
    assert recorded.scores == {"faq": 0.93, "negative": 0.1} and recorded.reasons == ["faq match"]
    assert history[0].language == "pl"  # filled in from the decision
    assert history[1].decision is None and history[1].platform_message_id == "ts.1"
    assert [m.text for m in store.history(conversation_id, limit=1)] == ["Zwroty w 30 dni."]

    store.set_handoff(conversation_id, HandoffState.HUMAN)
    store.update_conversation(conversation_id, rephrase_asked=True, language="pl", assigned_agent="eve")
    store.update_conversation(conversation_id, holding_reply_sent=True)  # leaves the agent alone
    record = store.conversation_by_id(conversation_id)
    assert record.handoff is HandoffState.HUMAN and record.assigned_agent == "eve" and record.language == "pl"
    assert record.last_bot_reply_at == T0 + timedelta(seconds=2)
    assert store.conversation_state(conversation_id) == ConversationState(
        handoff=HandoffState.HUMAN, rephrase_asked=True, holding_reply_sent=True, turns=1, language="pl"
    )
    store.update_conversation(conversation_id, assigned_agent=None)
    assert store.conversation_by_id(conversation_id).assigned_agent is None

    with pytest.raises(NotFoundError):
        store.update_conversation(999_999, language="en")
    with pytest.raises(NotFoundError):
        store.set_handoff(999_999, HandoffState.BOT)
    with pytest.raises(NotFoundError):
        store.conversation_state(999_999)
    with pytest.raises(ValueError, match="author"):
        store.record_outbound_message(conversation_id, "customer", "x")


# Escalations


def test_one_open_escalation_per_conversation_with_priority_raise(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    first = store.open_escalation(
        conversation_id, message_id, "support", Priority.NORMAL, "low_confidence", "Try this", T0 + timedelta(hours=4)
    )
    raised = store.open_escalation(
        conversation_id, message_id, "support", Priority.URGENT, "complaint", None, T0 + timedelta(minutes=30)
    )
    lower = store.open_escalation(
        conversation_id, message_id, "support", Priority.LOW, "feedback", None, T0 + timedelta(days=1)
    )
    assert first == raised == lower
    escalation = store.escalation(first)
    assert escalation.priority is Priority.URGENT and escalation.sla_due_at == T0 + timedelta(minutes=30)
    assert escalation.reason == "low_confidence" and escalation.suggested_answer == "Try this"
    assert [e.id for e in store.escalations()] == [first]

    # Claimed still counts as open; once resolved, a new escalation may start.
    eve, bob = (agent(store, name) for name in ("eve", "bob"))
    assert store.claim(first, eve, "eve")[1]
    with pytest.raises(ClaimConflictError):
        store.claim(first, bob, "bob")
    assert store.conversation_by_id(conversation_id).assigned_agent == "eve"
    assert store.open_escalation(conversation_id, None, "support", 2, "complaint", None, T0) == first
    assert store.settle(first, HandoffState.CLOSED, at=T0 + timedelta(hours=1)).status == "resolved"
    with pytest.raises(ClaimConflictError):
        store.settle(first, HandoffState.CLOSED, at=T0 + timedelta(hours=2))
    second = store.open_escalation(conversation_id, None, "support", 2, "complaint", None, T0 + timedelta(hours=3))
    assert second != first
    assert store.escalation(first).resolved_at == T0 + timedelta(hours=1)


def test_concurrent_escalations_open_one(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    ids = race(
        lambda i: store.open_escalation(
            conversation_id, message_id, "support", 1 + i % 4, "complaint", None, T0 + timedelta(hours=8 - i)
        )
    )
    assert len(set(ids)) == 1
    assert count(store, Escalation) == 1
    escalation = store.escalation(ids[0])
    assert escalation.priority is Priority.URGENT and escalation.sla_due_at == T0 + timedelta(hours=1)


def test_escalation_queue_order_and_helpdesk_push(store: Store) -> None:
    ids = {}
    for key, queue, priority, due_minutes in [
        ("a", "support", Priority.NORMAL, 60),
        ("b", "support", Priority.HIGH, 240),
        ("c", "support", Priority.HIGH, 30),
        ("d", "complaints", Priority.URGENT, 10),
    ]:
        conversation_id, message_id = new_message(store, key=key, event=key)
        ids[key] = store.open_escalation(
            conversation_id, message_id, queue, priority, "complaint", None, T0 + timedelta(minutes=due_minutes)
        )
    assert [e.id for e in store.escalations()] == [ids["d"], ids["c"], ids["b"], ids["a"]]
    assert [e.id for e in store.escalations(queue="support", limit=2)] == [ids["c"], ids["b"]]
    assert store.escalations(status="resolved") == []
    assert len(store.escalations(status=None)) == 4
    with pytest.raises(ValueError):
        store.escalations(status="bogus")

    assert [e.id for e in store.unpushed_escalations(limit=10)] == [ids[k] for k in "abcd"]
    store.mark_escalation_pushed(ids["a"], "ZD-1", T0)
    store.settle(ids["b"], HandoffState.CLOSED, at=T0)
    assert [e.id for e in store.unpushed_escalations(limit=10)] == [ids["c"], ids["d"]]
    assert store.escalation(ids["a"]).helpdesk_ticket_id == "ZD-1"
    with pytest.raises(NotFoundError):
        store.mark_escalation_pushed(999_999, "ZD-2", T0)


def test_agent_reply_is_the_escalation_first_response(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    escalation_id = store.open_escalation(conversation_id, message_id, "support", 2, "complaint", None, T0)
    store.record_outbound_message(conversation_id, "bot", "holding reply", at=T0 + timedelta(seconds=1))
    assert store.escalation(escalation_id).first_response_at is None
    store.record_outbound_message(conversation_id, "agent", "Hi, Eve here", at=T0 + timedelta(minutes=7))
    store.record_outbound_message(conversation_id, "agent", "Done", at=T0 + timedelta(minutes=9))
    assert store.escalation(escalation_id).first_response_at == T0 + timedelta(minutes=7)


# Outbound idempotency


def test_reserve_outbound_same_key_returns_the_same_row(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    key = f"private_reply:instagram:{message_id}"
    row, created = store.reserve_outbound(key, conversation_id, message_id, "instagram", "private_reply", "Hi!")
    again, created_again = store.reserve_outbound(key, conversation_id, message_id, "instagram", "dm", "Other")
    assert created and not created_again
    assert again == row and again.text == "Hi!" and again.mode == "private_reply" and row.sendable
    assert store.outbound_by_key(key) == row and store.outbound_by_key("missing") is None


def test_concurrent_reserve_outbound_creates_one(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    results = race(lambda i: store.reserve_outbound("reply:1", conversation_id, message_id, "slack", "reply", f"{i}"))
    assert sum(created for _, created in results) == 1
    assert len({row.id for row, _ in results}) == 1


def test_mark_sending_is_a_compare_and_set(store: Store) -> None:
    conversation_id, message_id = new_message(store)
    row, _ = store.reserve_outbound("reply:cas", conversation_id, message_id, "slack", "reply", "Hi")
    results = race(lambda _: store.mark_sending(row.id, T0))
    assert results.count(True) == 1
    held = store.outbound(row.id)
    assert held.status == "sending" and held.attempts == 1 and not held.sendable


def test_outbound_lifecycle_never_resends_sent_or_unknown(store: Store) -> None:
    conversation_id, message_id = new_message(store)

    def reserve(key: str) -> int:
        return store.reserve_outbound(key, conversation_id, message_id, "slack", "reply", "Hi")[0].id

    retried = reserve("retry")
    assert not store.mark_failed(retried, "not sending yet", T0)
    assert store.mark_sending(retried, T0)
    assert store.mark_failed(retried, "429 rate limited", T0 + timedelta(seconds=4))
    waiting = store.outbound(retried)
    assert waiting.status == "failed" and waiting.sendable and waiting.due_at == T0 + timedelta(seconds=4)
    assert store.mark_sending(retried, T0)
    assert store.mark_sent(retried, "ts.9", T0)
    sent = store.outbound(retried)
    assert sent.status == "sent" and sent.attempts == 2 and sent.platform_message_id == "ts.9" and sent.sent_at == T0
    assert not store.mark_sending(retried, T0)
    assert not store.mark_sent(retried, "ts.10", T0)

    unknown = reserve("timeout")
    assert store.mark_sending(unknown, T0)
    assert store.mark_unknown(unknown, "read timeout after 10 s")
    assert not store.mark_sending(unknown, T0)
    assert store.outbound(unknown).status == "unknown" and store.outbound(unknown).last_error
    # A late confirmation may still settle it.
    assert store.mark_sent(unknown, "ts.11", T0)

    dead = reserve("dead")
    assert store.mark_sending(dead, T0)
    assert store.mark_failed(dead, "400 window closed" + "x" * 10_000, None)
    assert not store.mark_sending(dead, T0)
    final = store.outbound(dead)
    assert final.status == "dead" and final.last_error is not None and len(final.last_error) == 4000
    with pytest.raises(NotFoundError):
        store.outbound(999_999)


# Time


def test_datetimes_come_back_aware_utc(store: Store) -> None:
    warsaw_morning = datetime(2025, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    conversation_id, message_id = new_message(store, at=warsaw_morning)
    escalation_id = store.open_escalation(
        conversation_id, message_id, "support", 2, "complaint", None, warsaw_morning + timedelta(hours=2)
    )
    message = store.history(conversation_id)[0]
    escalation = store.escalation(escalation_id)
    conversation = store.conversation_by_id(conversation_id)
    for value in (message.created_at, escalation.sla_due_at, escalation.created_at, conversation.created_at):
        assert value.tzinfo is UTC
    assert message.created_at == T0 and message.created_at.hour == 9
    assert conversation.last_inbound_at == T0 and escalation.sla_due_at == T0 + timedelta(hours=2)
    # Comparisons run in the database on normalised values: an earlier instant in another zone sorts first.
    earlier = datetime(2025, 3, 10, 8, 30, tzinfo=timezone(timedelta(hours=-1)))  # 09:30 UTC
    assert store.open_escalation(conversation_id, None, "support", 2, "complaint", None, earlier) == escalation_id
    assert store.escalation(escalation_id).sla_due_at == T0 + timedelta(minutes=30)
    with pytest.raises(Exception, match="naive"):
        store.record_inbound(conversation_id, "slack", "naive", "x", None, False, datetime(2025, 1, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2099, 12, 30)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_aware_time_round_trips_as_the_same_utc_instant(
    store: Store, moment: datetime, offset_minutes: int
) -> None:
    at = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    conversation = store.conversation("generic", "round-trip")
    message_id = store.record_inbound(conversation.id, "generic", None, "t", None, False, at)
    created_at = next(m.created_at for m in store.history(conversation.id, limit=500) if m.id == message_id)
    assert created_at == at and created_at.tzinfo is UTC


# Metrics


def test_metrics_on_a_scripted_history(store: Store) -> None:
    since = T0 - timedelta(minutes=1)

    def decide(message_id: int, action: Action, reason: EscalationReason | None = None, at: datetime = T0) -> None:
        store.record_decision(message_id, Decision(action=action, language="en", reason=reason), at=at)

    # Before the window: counted nowhere.
    old, old_message = new_message(store, key="old", event="old", at=T0 - timedelta(days=1))
    decide(old_message, Action.ANSWER, at=T0 - timedelta(days=1))
    store.record_outbound_message(old, "bot", "old reply", at=T0 - timedelta(days=1) + timedelta(seconds=5))

    # A: answered by the bot 4 s after the first question; a second question later does not count again.
    a, a1 = new_message(store, key="a", event="a1", at=T0)
    decide(a1, Action.ANSWER)
    store.record_outbound_message(a, "bot", "answer", at=T0 + timedelta(seconds=4))
    _, a2 = new_message(store, key="a", event="a2", at=T0 + timedelta(minutes=5))
    decide(a2, Action.ANSWER)
    store.record_outbound_message(a, "bot", "answer 2", at=T0 + timedelta(minutes=5, seconds=1))

    # B: escalated, a system note does not count, the agent answers after 10 minutes.
    b, b1 = new_message(store, key="b", event="b1", at=T0 + timedelta(seconds=30))
    decide(b1, Action.ESCALATE, EscalationReason.COMPLAINT)
    store.open_escalation(b, b1, "complaints", Priority.HIGH, EscalationReason.COMPLAINT, None, T0, at=T0)
    store.record_outbound_message(b, "system", "ticket opened", at=T0 + timedelta(seconds=31))
    store.record_outbound_message(b, "agent", "sorry", at=T0 + timedelta(minutes=10, seconds=30))

    # C: escalated, nobody answered yet; D: moderated spam, no reply.
    c, c1 = new_message(store, key="c", event="c1", at=T0 + timedelta(minutes=1))
    decide(c1, Action.ESCALATE, EscalationReason.HUMAN_REQUESTED)
    store.open_escalation(c, c1, "support", Priority.NORMAL, EscalationReason.HUMAN_REQUESTED, None, T0, at=T0)
    _, d1 = new_message(store, key="d", event="d1", at=T0 + timedelta(minutes=2))
    decide(d1, Action.MODERATE, EscalationReason.SPAM)

    assert store.first_response_times(since) == [4.0, 600.0]
    assert store.action_counts(since) == {"answer": 2, "escalate": 2, "moderate": 1}
    assert store.escalations_by_reason(since) == {"complaint": 1, "human_requested": 1}
    assert store.action_counts(T0 + timedelta(hours=1)) == {}
    assert store.first_response_times(T0 + timedelta(hours=1)) == []
