"""The console's timers, run by Celery beat: flag escalations whose SLA ran out without a first response, and
hand open escalations to online agents with spare capacity (round robin or least busy, per settings)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from assistant.assignment import Agent, Unassigned, plan
from assistant.store.accounts import AccountStore
from assistant.store.console import ConsoleStore
from webhooks.runtime import Runtime

log = logging.getLogger("community_assistant.sla")
# Where round robin remembers who got the last escalation of each queue (shared by every beat and worker).
ROUND_ROBIN_KEY = "ca:console:round-robin"
WORKING_ROLES = ("agent", "admin")


def flag_breaches(runtime: Runtime, now: datetime | None = None) -> int:
    """Flag every active, unanswered escalation past its due time once, with an audit line each."""
    moment = now or datetime.now(UTC)
    engine = runtime.store.engine
    flagged = ConsoleStore(engine).flag_sla_breaches(moment)
    accounts = AccountStore(engine)
    for escalation in flagged:
        accounts.audit(
            None,
            "sla_breached",
            "escalation",
            str(escalation.id),
            {"queue": escalation.queue, "priority": int(escalation.priority), "due": escalation.sla_due_at.isoformat()},
            None,
        )
    if flagged:
        log.info("SLA breached: %d escalations flagged", len(flagged))
    return len(flagged)


def online_agents(runtime: Runtime, console: ConsoleStore) -> list[Agent]:
    loads = console.agent_loads()
    return [
        Agent(
            id=user.id,
            username=user.username,
            queues=frozenset(user.queues),
            capacity=user.capacity,
            load=loads.get(user.id, 0),
            admin=user.role == "admin",
        )
        for user in AccountStore(runtime.store.engine).users(online=True)
        if user.is_active and user.role in WORKING_ROLES
    ]


def auto_assign(runtime: Runtime, limit: int = 200) -> int:
    """Give unassigned open escalations to online queue members; each hand-out is a conditional claim, so an
    agent who claims at the same moment wins cleanly and the beat moves on."""
    strategy = runtime.settings.console.assignment
    if strategy == "manual":
        return 0
    console = ConsoleStore(runtime.store.engine)
    pending = [Unassigned(item.id, item.queue) for item in console.unassigned(limit)]
    if not pending:
        return 0
    agents = online_agents(runtime, console)
    if not agents:
        return 0
    raw = runtime.redis.hgetall(ROUND_ROBIN_KEY)
    last = {(key.decode() if isinstance(key, bytes) else key): int(value) for key, value in raw.items()}
    pairs, after = plan(pending, agents, strategy, last)
    accounts = AccountStore(runtime.store.engine)
    given = 0
    for escalation_id, agent in pairs:
        if console.assign(escalation_id, agent.id, agent.username):
            given += 1
            accounts.audit(
                None, "auto_assigned", "escalation", str(escalation_id), {"agent": agent.username, "by": strategy}, None
            )
    if after:
        runtime.redis.hset(ROUND_ROBIN_KEY, mapping={queue: str(agent_id) for queue, agent_id in after.items()})
    return given
