"""Every decision names its kind of reply (real model, sample KB), and `replay` reports it and counts only KB answers
as answered."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain.messages import Action, ConversationState, DecisionKind, HandoffState, InboundMessage
from assistant.pipeline import Engine
from tests.conftest import ROOT

SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 30, tzinfo=ZoneInfo("Europe/Warsaw"))


@pytest.mark.parametrize(
    ("message", "state", "kind", "action"),
    [
        (InboundMessage("How long does delivery take?"), ConversationState(), DecisionKind.KB_ANSWER, Action.ANSWER),
        (InboundMessage("Jak mogę usunąć swoje konto?"), ConversationState(), DecisionKind.KB_ANSWER, Action.ANSWER),
        (InboundMessage("hello!"), ConversationState(), DecisionKind.TEMPLATE, Action.ANSWER),
        (InboundMessage("thanks a lot!"), ConversationState(), DecisionKind.TEMPLATE, Action.ANSWER),
        (
            InboundMessage("exchange or refund, which one?"),
            ConversationState(),
            DecisionKind.CLARIFICATION,
            Action.ANSWER,
        ),
        (InboundMessage("my parcel"), ConversationState(), DecisionKind.CLARIFICATION, Action.ANSWER),
        (InboundMessage("转人工"), ConversationState(), DecisionKind.ESCALATION, Action.ESCALATE),
        (
            InboundMessage("The stove caught fire and burned my hand"),
            ConversationState(),
            DecisionKind.ESCALATION,
            Action.ESCALATE,
        ),
        (
            InboundMessage("What is the capital of Mongolia?"),
            ConversationState(rephrase_asked=True),
            DecisionKind.ESCALATION,
            Action.ESCALATE,
        ),
        (
            InboundMessage("EARN $500/DAY from home!!! DM me now http://x.example http://y.example", is_public=True),
            ConversationState(),
            DecisionKind.MODERATION,
            Action.MODERATE,
        ),
        (InboundMessage("😀👍"), ConversationState(), DecisionKind.SILENCE, Action.IGNORE),
        (
            InboundMessage("How long does delivery take?"),
            ConversationState(handoff=HandoffState.HUMAN),
            DecisionKind.SILENCE,
            Action.IGNORE,
        ),
    ],
)
def test_each_decision_names_its_kind(
    engine: Engine, message: InboundMessage, state: ConversationState, kind: DecisionKind, action: Action
) -> None:
    decision = engine.decide(message, state, SATURDAY_NIGHT)
    assert (decision.kind, decision.action) == (kind, action), decision.reasons
    if kind == DecisionKind.KB_ANSWER:
        assert decision.entry_id is not None and decision.reply
    elif kind != DecisionKind.ESCALATION:  # an escalation may name the entry it suggests
        assert decision.entry_id is None
    assert decision.to_dict()["kind"] == kind.value


def test_replay_writes_the_kind_and_counts_only_kb_answers(trained_data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        "How long does delivery take?",
        "hello!",
        "exchange or refund, which one?",
        "转人工",
        "Quels moyens de paiement ?",
    ]
    source.write_text("\n".join(json.dumps({"text": t}) for t in lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    folders = ["--kb-dir", str(ROOT / "knowledge_base"), "--data-dir", str(trained_data_dir)]
    result = CliRunner().invoke(main, ["replay", str(source), "--out", str(out), "--at", "2026-11-28T21:30", *folders])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["kind"] for r in rows] == ["kb_answer", "template", "clarification", "escalation", "kb_answer"]
    assert [r["action"] for r in rows][:3] == ["answer"] * 3  # three replies, two of them no answer
    assert [c["payload"] for c in rows[2]["choices"]][-1] == "choose:human"
    assert "answered from the KB: 2 " in result.output
