"""Routing rules, automatic assignment and the SLA timers: the pure rules, then the beat's work against the
real database and Redis (db 13), then the Celery beat schedule and the worker's use of the routing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from assistant.domain.assignment import Agent, Unassigned, check_claim, pick, plan
from assistant.domain.messages import Action, Decision, EscalationReason, Priority
from assistant.domain.routing import RoutingInput, route
from assistant.services.timers import auto_assign as timers_auto_assign
from assistant.services.timers import flag_sla_breaches
from assistant.settings import ConsoleConfig, QueueConfig, QueueRule, Settings
from assistant.store import AccountStore, ConsoleStore, Store
from tests.console.seeding import seed_escalation
from tests.console.support import MakeUser
from webhooks.runtime import Runtime

ROUTING = ConsoleConfig(
    queues=[
        QueueConfig(name="urgent", rules=[QueueRule(reasons=["risky_topic"])]),
        QueueConfig(name="french", rules=[QueueRule(languages=["fr"], platforms=["messenger", "instagram"])]),
        QueueConfig(name="billing", rules=[QueueRule(intents=["billing"]), QueueRule(reasons=["complaint"])]),
        QueueConfig(name="moderation", rules=[QueueRule(reasons=["moderation"])]),
        QueueConfig(name="human", rules=[QueueRule(reasons=["human_requested"], engine_queues=["support"])]),
        QueueConfig(name="support"),
        QueueConfig(name="complaints"),
    ],
    default_queue="support",
)


@pytest.mark.parametrize(
    ("item", "queue", "why"),
    [
        (RoutingInput("messenger", "risky_topic", language="fr"), "urgent", "rule urgent#1"),
        (RoutingInput("messenger", "out_of_scope", language="fr"), "french", "rule french#1"),
        (RoutingInput("telegram", "out_of_scope", language="fr"), "support", "default queue"),
        (RoutingInput("slack", "low_confidence", entry_id="refunds", tags=("Billing",)), "billing", "rule billing#1"),
        (RoutingInput("slack", "complaint", engine_queue="complaints"), "billing", "rule billing#2"),
        (RoutingInput("x", "spam"), "moderation", "rule moderation#1"),
        (RoutingInput("x", "abuse"), "moderation", "rule moderation#1"),
        (RoutingInput("x", "human_requested", engine_queue="support"), "human", "rule human#1"),
        (RoutingInput("x", "human_requested", engine_queue="urgent"), "urgent", "engine queue"),
        (RoutingInput("x", "negative_sentiment", engine_queue="complaints"), "complaints", "engine queue"),
        (RoutingInput("x", "delivery_failed", engine_queue="gone-queue"), "support", "default queue"),
    ],
)
def test_routing_first_matching_rule_then_engine_queue_then_default(item: RoutingInput, queue: str, why: str) -> None:
    found = route(ROUTING, item)
    assert (found.queue, found.why) == (queue, why)


def test_console_settings_refuse_duplicate_queues_and_an_unknown_default() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        ConsoleConfig(queues=[QueueConfig(name="a"), QueueConfig(name="a")], default_queue="a")
    with pytest.raises(ValueError, match="default_queue"):
        ConsoleConfig(queues=[QueueConfig(name="a")], default_queue="b")
    with pytest.raises(ValueError):
        QueueConfig(name="Not A Name")


def _agents() -> list[Agent]:
    return [
        Agent(1, "ann", frozenset({"support"}), capacity=3, load=2),
        Agent(2, "bob", frozenset({"support", "billing"}), capacity=2, load=0),
        Agent(3, "cyd", frozenset({"support"}), capacity=1, load=1),  # full
    ]


def test_least_busy_picks_the_fewest_held_and_respects_capacity() -> None:
    assert pick(_agents(), "support", "least_busy").username == "bob"  # type: ignore[union-attr]
    assert pick(_agents(), "nowhere", "least_busy") is None
    assert pick(_agents(), "support", "manual") is None
    pairs, _ = plan([Unassigned(i, "support") for i in range(10, 15)], _agents(), "least_busy")
    given = [agent.username for _, agent in pairs]
    # bob 0→1→2 (full), ann 2→3 (full), cyd full: three fit, the rest wait for someone to come online.
    assert sorted(given) == ["ann", "bob", "bob"] and len(pairs) == 3


def test_round_robin_rotates_after_the_last_one_served() -> None:
    agents = [Agent(i, f"a{i}", frozenset({"support"}), capacity=10) for i in (4, 7, 9)]
    pairs, last = plan([Unassigned(i, "support") for i in range(5)], agents, "round_robin", {"support": 7})
    assert [agent.id for _, agent in pairs] == [9, 4, 7, 9, 4]
    assert last == {"support": 4}


def test_claim_rules() -> None:
    assert check_claim("open", None, 1).outcome == "ok"
    assert check_claim("claimed", 1, 1).outcome == "already_yours"
    assert check_claim("claimed", 2, 1) == check_claim("claimed", 2, 1) and not check_claim("claimed", 2, 1).allowed
    assert check_claim("resolved", None, 1).outcome == "resolved"


@pytest.fixture()
def runtime(console_app: Flask) -> Runtime:
    result: Runtime = console_app.extensions["console.queues.runtime"]
    return result


def flag_breaches(runtime: Runtime, now: datetime) -> int:
    engine = runtime.store.engine
    return flag_sla_breaches(ConsoleStore(engine), AccountStore(engine), now)


def auto_assign(runtime: Runtime) -> int:
    engine = runtime.store.engine
    strategy = runtime.settings.console.assignment
    return timers_auto_assign(ConsoleStore(engine), AccountStore(engine), strategy, runtime.round_robin)


def test_sla_breaches_are_flagged_once_audited_and_counted(
    runtime: Runtime, accounts: AccountStore, make_user: MakeUser
) -> None:
    store = runtime.store
    now = datetime.now(UTC)
    late = seed_escalation(store, sla_due_at=now - timedelta(minutes=1))
    answered = seed_escalation(store, sla_due_at=now - timedelta(minutes=1))
    store.record_outbound_message(answered.conversation_id, "agent", "on it")  # first response before the due time
    seed_escalation(store, sla_due_at=now + timedelta(hours=1))
    assert flag_breaches(runtime, now) == 1
    assert flag_breaches(runtime, now + timedelta(seconds=10)) == 0  # flagged once
    escalation = store.escalation(late.escalation_id)
    assert escalation.sla_breached_at is not None and escalation.version == 2
    (entry,) = [e for e in accounts.audit_entries(limit=20) if e.action == "sla_breached"]
    assert entry.object_id == str(late.escalation_id) and entry.user_id is None
    console = ConsoleStore(store.engine)
    assert console.breach_counts(now - timedelta(hours=1)) == {"support": 1}
    assert console.queue_counts(now)["support"].breached == 1


def test_auto_assignment_gives_work_to_online_members_with_room(
    runtime: Runtime, accounts: AccountStore, make_user: MakeUser, console_settings: Settings
) -> None:
    from webhooks.runtime import ROUND_ROBIN_KEY

    store = runtime.store
    seeded = [seed_escalation(store, priority=Priority(p)) for p in (1, 4, 2, 2)]
    online = make_user("agent", queues=["support"], capacity=2, username="olga")
    offline = make_user("agent", queues=["support"], capacity=5, username="oscar")
    elsewhere = make_user("agent", queues=["complaints"], capacity=5, username="eve")
    for user in (online, elsewhere):
        accounts.set_online(user.id, True)
    assert auto_assign(runtime) == 2
    console = ConsoleStore(store.engine)
    assert console.agent_loads() == {online.id: 2}
    urgent = store.escalation(seeded[1].escalation_id)
    assert urgent.assigned_agent_id == online.id and urgent.status == "claimed"  # most urgent first
    assert store.escalation(seeded[0].escalation_id).assigned_agent_id is None  # the low one waits
    assert offline.id not in console.agent_loads()
    assert auto_assign(runtime) == 0  # olga is full
    assert any(e.action == "auto_assigned" for e in accounts.audit_entries(limit=20))
    assert runtime.redis.hget(ROUND_ROBIN_KEY, "support") == str(online.id).encode()


def test_manual_assignment_assigns_nothing(
    console_settings: Settings, make_user: MakeUser, accounts: AccountStore
) -> None:
    manual = console_settings.model_copy(
        update={"console": console_settings.console.model_copy(update={"assignment": "manual"})}
    )
    runtime = Runtime(manual)
    seed_escalation(runtime.store)
    accounts.set_online(make_user("agent", queues=["support"]).id, True)
    assert auto_assign(runtime) == 0


def test_beat_schedule_runs_the_timers_and_the_sweepers(
    console_app: Flask, runtime: Runtime, accounts: AccountStore, make_user: MakeUser
) -> None:
    """Every entry of the beat schedule is run as beat would have it run (its task, by name, through Celery) and
    together they do the timers' work: the late escalation is flagged and handed to the online agent."""
    celery_app = console_app.extensions["celery"]

    store = runtime.store
    late = seed_escalation(store, sla_due_at=datetime.now(UTC) - timedelta(minutes=1))
    agent = make_user("agent", queues=["support"], capacity=2, username="bea")
    accounts.set_online(agent.id, True)
    schedule = celery_app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} == {"ca.flag_sla_breaches", "ca.auto_assign", "ca.sweep"}
    for name, entry in schedule.items():
        # apply() runs the registered task in this process, in the app's context and so on the app's runtime.
        result = celery_app.tasks[entry["task"]].apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        assert result.successful(), (name, result.traceback)
        if entry["task"] == "ca.sweep":
            # Nothing stalled here: the sweepers find nothing to queue again (tests/service covers what they do).
            assert result.get() == {"inbox_requeued": 0, "outbox_requeued": 0, "to_person": 0}, name
        else:
            assert result.get() == 1, name  # one escalation flagged, one handed out
    escalation = store.escalation(late.escalation_id)
    assert escalation.sla_breached_at is not None
    assert (escalation.status, escalation.assigned_agent_id) == ("claimed", agent.id)
    actions = {(e.action, e.object_id) for e in accounts.audit_entries(limit=20)}
    assert {("sla_breached", str(late.escalation_id)), ("auto_assigned", str(late.escalation_id))} <= actions


def test_the_worker_opens_escalations_in_the_routed_queue(console_settings: Settings) -> None:
    from assistant.services.inbound import apply_decision

    settings = console_settings.model_copy(
        update={
            "console": ConsoleConfig(
                queues=[
                    QueueConfig(name="vip", rules=[QueueRule(platforms=["slack"], reasons=["human_requested"])]),
                    QueueConfig(name="support"),
                ],
                default_queue="support",
            )
        }
    )
    runtime = Runtime(settings)
    store: Store = runtime.store
    conversation = store.conversation("slack", "C1", "U1", "Uma")
    message_id = store.record_inbound(conversation.id, "slack", "ev1", "a human please", "en", False, datetime.now(UTC))
    assert message_id is not None
    decision = Decision(
        Action.ESCALATE,
        "en",
        queue="support",
        priority=Priority.NORMAL,
        reason=EscalationReason.HUMAN_REQUESTED,
    )
    escalations = runtime.escalations
    escalation_id = apply_decision(escalations, None, conversation.id, message_id, decision, datetime.now(UTC), "slack")
    assert escalation_id is not None and store.escalation(escalation_id).queue == "vip"
    assert escalations.queue_for("telegram", "delivery_failed") == "support"
