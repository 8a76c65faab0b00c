"""The console's timers (run by Celery beat): flag escalations whose SLA ran out without a first response, and
hand open escalations to online agents with spare capacity (round robin or least busy, per settings)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from assistant.domain.assignment import Agent, Strategy, Unassigned, plan
from assistant.domain.presence import Presence, presence
from assistant.store import AccountStore, ConsoleStore

log = logging.getLogger("community_assistant.sla")
WORKING_ROLES = ("agent", "admin")


class RoundRobinMemory(Protocol):
    """Who got the last escalation of each queue (queue → agent id), shared by every beat and worker."""

    def load(self) -> dict[str, int]: ...

    def save(self, last: Mapping[str, int]) -> None: ...


def flag_sla_breaches(console: ConsoleStore, accounts: AccountStore, now: datetime) -> int:
    """Flag every active, unanswered escalation past its due time once, with an audit line each."""
    flagged = console.flag_sla_breaches(now)
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


def online_agents(
    console: ConsoleStore, accounts: AccountStore, now: datetime | None = None, away_after: timedelta | None = None
) -> list[Agent]:
    """Active working users who are online and not away (`away_after` None: online is enough)."""
    loads = console.agent_loads()
    moment = now or datetime.now(UTC)
    return [
        Agent(
            id=user.id,
            username=user.username,
            queues=frozenset(user.queues),
            capacity=user.capacity,
            load=loads.get(user.id, 0),
            admin=user.role == "admin",
        )
        for user in accounts.users(online=True)
        if user.is_active
        and user.role in WORKING_ROLES
        and presence(user.is_online, user.last_seen_at, moment, away_after) == Presence.ONLINE
    ]


def auto_assign(
    console: ConsoleStore,
    accounts: AccountStore,
    strategy: Strategy,
    memory: RoundRobinMemory,
    limit: int = 200,
    *,
    away_after: timedelta | None = None,
    now: datetime | None = None,
) -> int:
    """Give unassigned open escalations to online queue members (`strategy`: the settings' `console.assignment`),
    skipping those away for longer than `away_after` (the settings' `console.away_after_minutes`); each hand-out
    is a conditional claim, so an agent who claims at the same moment wins cleanly and the beat moves on."""
    if strategy == "manual":
        return 0
    pending = [Unassigned(item.id, item.queue) for item in console.unassigned(limit)]
    if not pending:
        return 0
    agents = online_agents(console, accounts, now, away_after)
    if not agents:
        return 0
    pairs, after = plan(pending, agents, strategy, memory.load())
    given = 0
    for escalation_id, agent in pairs:
        if console.assign(escalation_id, agent.id, agent.username):
            given += 1
            accounts.audit(
                None, "auto_assigned", "escalation", str(escalation_id), {"agent": agent.username, "by": strategy}, None
            )
    if after:
        memory.save(after)
    return given
