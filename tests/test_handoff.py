"""Handoff transitions: every allowed move works, every other one is refused with what is possible."""

import itertools

import pytest

from assistant.domain.handoff import ALLOWED, HandoffTransitionError, check_transition, ends_escalation
from assistant.domain.messages import HandoffState


@pytest.mark.parametrize("current", list(HandoffState))
@pytest.mark.parametrize("target", list(HandoffState))
def test_transitions(current: HandoffState, target: HandoffState) -> None:
    if current == target or target in ALLOWED[current]:
        check_transition(current, target)
    else:
        with pytest.raises(HandoffTransitionError, match="from here"):
            check_transition(current, target)


def test_the_documented_path_and_its_way_back() -> None:
    path = [HandoffState.BOT, HandoffState.WAITING_FOR_HUMAN, HandoffState.HUMAN, HandoffState.CLOSED, HandoffState.BOT]
    for current, target in itertools.pairwise(path):
        check_transition(current, target)
    with pytest.raises(HandoffTransitionError):
        check_transition(HandoffState.HUMAN, HandoffState.WAITING_FOR_HUMAN)
    assert ends_escalation(HandoffState.BOT) and ends_escalation(HandoffState.CLOSED)
    assert not ends_escalation(HandoffState.HUMAN)
