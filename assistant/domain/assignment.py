"""Who works an escalation: whether a person may claim it, and automatic assignment (round robin or least busy)
among the online members of its queue who have spare capacity. Pure: the store applies the plan conditionally."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from assistant.domain.messages import EscalationStatus

Strategy = Literal["manual", "round_robin", "least_busy"]


@dataclass(frozen=True)
class Agent:
    """A person who may be given work: online, active, in these queues, holding `load` of `capacity`."""

    id: int
    username: str
    queues: frozenset[str]
    capacity: int
    load: int = 0
    admin: bool = False  # admins see every queue, but are given work only in queues they belong to

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class Unassigned:
    """An open escalation nobody holds, in the order it should be given out."""

    id: int
    queue: str


@dataclass(frozen=True)
class ClaimCheck:
    allowed: bool
    # "ok", "already_yours" (nothing to do), "held" (someone else has it), "resolved"
    outcome: str


def check_claim(status: str, holder_id: int | None, agent_id: int | None) -> ClaimCheck:
    """Whether `agent_id` may act on an escalation in this state as its holder (claim it, reply, settle it).
    `agent_id` None is a change made without a holder check (an admin, the system): only resolved is refused.
    The one rule: the store applies it inside the transaction, to the row it has locked."""
    if status == EscalationStatus.RESOLVED:
        return ClaimCheck(False, "resolved")
    if agent_id is None or holder_id is None or status == EscalationStatus.OPEN:
        return ClaimCheck(True, "ok")
    if holder_id == agent_id:
        return ClaimCheck(True, "already_yours")
    return ClaimCheck(False, "held")


def _candidates(agents: Sequence[Agent], queue: str) -> list[Agent]:
    return [agent for agent in agents if queue in agent.queues and agent.spare > 0]


def pick(agents: Sequence[Agent], queue: str, strategy: Strategy, last_agent_id: int | None = None) -> Agent | None:
    """The person to give one escalation of `queue` to, or None when nobody online has room.

    least_busy: the fewest escalations held, then the most spare capacity, then the lowest id (stable).
    round_robin: the next member by id after the one who got the previous escalation of this queue.
    """
    candidates = _candidates(agents, queue)
    if strategy == "manual" or not candidates:
        return None
    if strategy == "least_busy":
        return min(candidates, key=lambda agent: (agent.load, -agent.spare, agent.id))
    ordered = sorted(candidates, key=lambda agent: agent.id)
    if last_agent_id is None:
        return ordered[0]
    return next((agent for agent in ordered if agent.id > last_agent_id), ordered[0])


def plan(
    escalations: Sequence[Unassigned],
    agents: Sequence[Agent],
    strategy: Strategy,
    last_by_queue: Mapping[str, int] | None = None,
) -> tuple[list[tuple[int, Agent]], dict[str, int]]:
    """Assignments for escalations in the given order, counting each one against the agent's capacity.

    Returns the (escalation id, agent) pairs and the round-robin position per queue after them.
    """
    if strategy == "manual":
        return [], dict(last_by_queue or {})
    by_id = {agent.id: agent for agent in agents}
    last = dict(last_by_queue or {})
    result: list[tuple[int, Agent]] = []
    for escalation in escalations:
        agent = pick(list(by_id.values()), escalation.queue, strategy, last.get(escalation.queue))
        if agent is None:
            continue
        result.append((escalation.id, agent))
        by_id[agent.id] = replace(agent, load=agent.load + 1)
        last[escalation.queue] = agent.id
    return result, last
