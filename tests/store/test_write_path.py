"""One write path for who works an escalation and who owns its conversation: every store method that changes them
applies the pure rules (`check_claim`, `check_transition`) to the row it locked, and the command line goes through
the same method, so a move the rules refuse is refused everywhere with the same error."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain import assignment, handoff
from assistant.domain.assignment import ClaimCheck, check_claim
from assistant.domain.handoff import HandoffTransitionError, check_transition
from assistant.domain.messages import EscalationStatus, HandoffState, Priority
from assistant.store import AccountStore, ClaimConflictError, Store, migrate
from assistant.store import escalations as escalation_store

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
STORE_DIR = Path(escalation_store.__file__).resolve().parent
_keys = itertools.count()


def agent(store: Store, name: str) -> int:
    return AccountStore(store.engine).create_user(name, "correct horse battery", "agent").id


def escalation_in(store: Store, status: EscalationStatus, holder: tuple[int, str] | None) -> int:
    """An escalation of a new conversation, open, claimed by `holder`, or resolved."""
    conversation = store.conversation("slack", f"c{next(_keys)}")
    escalation_id = store.open_escalation(
        conversation.id, None, "support", Priority.NORMAL, "complaint", None, T0 + timedelta(hours=1)
    )
    if holder is not None:
        store.claim(escalation_id, *holder)
    if status == EscalationStatus.RESOLVED:
        store.settle(escalation_id, HandoffState.CLOSED)
    return escalation_id


def outcome(action: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """What the store did: the conflict's kind when it refused, else "done"."""
    try:
        action(*args, **kwargs)
    except ClaimConflictError as refused:
        return refused.kind
    return "done"


STATES = [
    (EscalationStatus.OPEN, None),
    (EscalationStatus.CLAIMED, "ann"),
    (EscalationStatus.CLAIMED, "bob"),
    (EscalationStatus.RESOLVED, None),
]


@pytest.mark.parametrize(("status", "holder_name"), STATES)
def test_the_store_refuses_exactly_what_check_claim_refuses(
    store: Store, status: EscalationStatus, holder_name: str | None
) -> None:
    ids = {name: agent(store, name) for name in ("ann", "bob")}
    holder = (ids[holder_name], holder_name) if holder_name else None
    for acting in ("ann", "bob"):
        rule = check_claim(status, holder[0] if holder else None, ids[acting])
        expected = "done" if rule.allowed else rule.outcome
        claim = escalation_in(store, status, holder)
        assert outcome(store.claim, claim, ids[acting], acting) == expected
        reply = escalation_in(store, status, holder)
        key = f"reply-{next(_keys)}"
        assert outcome(store.reserve_reply, reply, ids[acting], acting, key, "Hi", "reply") == expected
        settle = escalation_in(store, status, holder)
        assert outcome(store.settle, settle, HandoffState.CLOSED, agent_id=ids[acting]) == expected


def test_every_escalation_change_asks_check_claim(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse everything in the rule: claim, assignment, reply, settle, priority and transfer all follow it."""
    ann = agent(store, "ann")
    asked: list[tuple[str, int | None]] = []

    def refuse(status: str, holder_id: int | None, agent_id: int | None) -> ClaimCheck:
        asked.append((status, agent_id))
        return ClaimCheck(False, "held")

    monkeypatch.setattr(escalation_store, "check_claim", refuse)
    escalation_id = escalation_in(store, EscalationStatus.OPEN, None)
    changes: list[Callable[[], Any]] = [
        lambda: store.claim(escalation_id, ann, "ann"),
        lambda: store.reserve_reply(escalation_id, ann, "ann", "k1", "Hi", "reply"),
        lambda: store.settle(escalation_id, HandoffState.BOT, agent_id=ann),
        lambda: store.settle(escalation_id, HandoffState.BOT),
        lambda: store.set_priority(escalation_id, Priority.HIGH, T0),
        lambda: store.transfer(escalation_id, "billing"),
    ]
    for change in changes:
        assert outcome(change) == "held"
    assert not store.assign(escalation_id, ann, "ann")
    assert len(asked) == len(changes) + 1
    assert store.escalation(escalation_id).status == EscalationStatus.OPEN
    assert store.escalation(escalation_id).version == 1  # nothing was written


@pytest.mark.parametrize(("current", "target"), list(itertools.product(HandoffState, HandoffState)))
def test_set_handoff_refuses_exactly_what_check_transition_refuses(
    store: Store, current: HandoffState, target: HandoffState
) -> None:
    conversation = store.conversation("slack", f"c{next(_keys)}")
    for step in {HandoffState.BOT: [], HandoffState.CLOSED: [HandoffState.CLOSED]}.get(current, [current]):
        store.set_handoff(conversation.id, step)
    assert store.conversation_by_id(conversation.id).handoff == current
    try:
        check_transition(current, target)
        expected = None
    except HandoffTransitionError as refused:
        expected = str(refused)
    if expected is None:
        change = store.set_handoff(conversation.id, target)
        assert change.before == current and change.conversation.handoff == target
    else:
        with pytest.raises(HandoffTransitionError) as caught:
            store.set_handoff(conversation.id, target)
        assert str(caught.value) == expected
        assert store.conversation_by_id(conversation.id).handoff == current


def test_handing_back_settles_the_escalation_and_resets_the_bot(store: Store) -> None:
    ann = agent(store, "ann")
    escalation_id = escalation_in(store, EscalationStatus.OPEN, (ann, "ann"))
    conversation_id = store.escalation(escalation_id).conversation_id
    store.update_conversation(conversation_id, rephrase_asked=True, holding_reply_sent=True)
    change = store.set_handoff(conversation_id, HandoffState.BOT, at=T0)
    assert [e.id for e in change.settled] == [escalation_id]
    assert store.escalation(escalation_id).status == EscalationStatus.RESOLVED
    assert store.escalation(escalation_id).resolved_at == T0
    after = change.conversation
    assert after.assigned_agent is None and not after.rephrase_asked and not after.holding_reply_sent


def test_the_cli_refuses_a_handoff_with_the_rules_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", url)
    monkeypatch.setenv("CA_DATA_DIR", str(tmp_path / "data"))
    migrate(url)
    store = Store.from_url(url)
    conversation = store.conversation("slack", "c1")
    store.set_handoff(conversation.id, HandoffState.HUMAN)
    with pytest.raises(HandoffTransitionError) as direct:
        store.set_handoff(conversation.id, HandoffState.WAITING_FOR_HUMAN)
    runner = CliRunner()
    refused = runner.invoke(main, ["conversations", "handoff", str(conversation.id), "waiting_for_human"])
    assert refused.exit_code == 2 and str(direct.value) in refused.output

    # The CLI asks the same rule the store applies: a rule that refuses everything refuses the CLI too.
    def refuse(current: HandoffState, target: HandoffState) -> None:
        raise HandoffTransitionError(f"refused {current.value} → {target.value}")

    monkeypatch.setattr(escalation_store, "check_transition", refuse)
    blocked = runner.invoke(main, ["conversations", "handoff", str(conversation.id), "bot"])
    assert blocked.exit_code == 2 and "refused human → bot" in blocked.output
    assert store.conversation_by_id(conversation.id).handoff == HandoffState.HUMAN
    store.close()


def test_the_rules_are_imported_from_the_core_not_copied() -> None:
    assert vars(escalation_store)["check_claim"] is assignment.check_claim
    assert vars(escalation_store)["check_transition"] is handoff.check_transition


def test_no_store_module_imports_below_its_code() -> None:
    """Imports at the top only: a bottom-of-file import is how the old store hid its import circle."""
    late = []
    for path in sorted(STORE_DIR.glob("*.py")):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        seen_code = False
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                seen_code = True
            elif seen_code and isinstance(node, ast.Import | ast.ImportFrom):
                late.append(f"{path.name}:{node.lineno}")
    assert late == []
