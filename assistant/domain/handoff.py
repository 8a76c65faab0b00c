"""Who owns a conversation, and which moves between owners are allowed: bot → waiting for a person →
person → closed, and back to the bot; a closed conversation reopens with the bot on the next message."""

from __future__ import annotations

from assistant.domain.messages import HandoffState
from assistant.errors import Conflict

BOT, WAITING, HUMAN, CLOSED = (
    HandoffState.BOT,
    HandoffState.WAITING_FOR_HUMAN,
    HandoffState.HUMAN,
    HandoffState.CLOSED,
)

ALLOWED: dict[HandoffState, frozenset[HandoffState]] = {
    BOT: frozenset({WAITING, HUMAN, CLOSED}),
    WAITING: frozenset({HUMAN, BOT, CLOSED}),
    HUMAN: frozenset({BOT, CLOSED}),
    CLOSED: frozenset({BOT, HUMAN}),
}


class HandoffTransitionError(Conflict, ValueError):
    pass


def may_move(current: HandoffState, target: HandoffState) -> bool:
    """Whether `current → target` is a move people and the bot may make (staying put is fine)."""
    return current == target or target in ALLOWED[current]


def check_transition(current: HandoffState, target: HandoffState) -> None:
    """Raise unless `current → target` is a move people and the bot may make (staying put is fine)."""
    if not may_move(current, target):
        allowed = ", ".join(sorted(state.value for state in ALLOWED[current]))
        raise HandoffTransitionError(f"cannot go from {current.value} to {target.value}; from here: {allowed}")


def ends_escalation(target: HandoffState) -> bool:
    """Handing back to the bot or closing settles any open escalation of the conversation."""
    return target in (BOT, CLOSED)
