"""The out-of-scope share the threshold is calibrated for, the lower bound that says how sure it is, and the safe
side when the evidence is thin."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain.messages import ConversationState, DecisionKind, InboundMessage
from assistant.nlu.calibration import choose_threshold, out_of_fold, out_of_scope_weights, wilson_lower_bound
from assistant.nlu.classifier import FEATURE_COUNT, EmbeddingClassifier
from assistant.nlu.intent_model import IntentModel
from assistant.pipeline import Engine
from tests.test_calibration import clusters

SATURDAY = datetime(2026, 11, 28, 21, 30, tzinfo=ZoneInfo("Europe/Warsaw"))


def test_out_of_scope_rows_weigh_the_share_they_are_given() -> None:
    held = np.array([True] * 10 + [False] * 90)
    weights = out_of_scope_weights(held, 0.5)
    assert weights[held].sum() == pytest.approx(weights[~held].sum())
    assert weights.sum() == pytest.approx(len(held))
    assert np.all(out_of_scope_weights(np.zeros(5, dtype=bool), 0.5) == 1.0)


def test_a_larger_out_of_scope_share_raises_the_threshold() -> None:
    # Ten out-of-scope rows score 0.8-0.89 among in-scope rows scoring 0.5-0.99: at their natural share (10%) the
    # target is reached below them; weighted to half the traffic they must stay unanswered.
    in_scope = np.linspace(0.5, 0.99, 90)
    out_scope = np.linspace(0.8, 0.89, 10)
    confidence = np.concatenate([in_scope, out_scope])
    correct = np.concatenate([np.ones(90, dtype=bool), np.zeros(10, dtype=bool)])
    held = ~correct
    natural = choose_threshold(confidence, correct, 0.9, min_answered=1)
    half = choose_threshold(confidence, correct, 0.9, min_answered=1, weights=out_of_scope_weights(held, 0.5))
    assert natural.threshold < 0.8 and natural.answered > half.answered
    assert half.threshold > 0.89
    answered = confidence >= half.threshold
    assert not (answered & held).any()


def test_the_lower_bound_is_stricter_and_tighter_with_more_rows() -> None:
    few = wilson_lower_bound(np.array([1.0]), np.array([10.0]), 1.2816)[0]
    many = wilson_lower_bound(np.array([1.0]), np.array([1000.0]), 1.2816)[0]
    assert few < many < 1.0 and few < 0.9
    confidence = np.linspace(0.0, 1.0, 200)
    correct = confidence > 0.1
    estimate = choose_threshold(confidence, correct, 0.95, min_answered=1)
    safe = choose_threshold(confidence, correct, 0.95, min_answered=1, z=1.2816)
    assert safe.threshold > estimate.threshold


def test_calibration_only_rows_are_predicted_but_never_trained_on() -> None:
    vectors, labels = clusters(seed=4, classes=5, per_class=12)
    extra_vectors, extra_labels = vectors[:6] + 0.01, labels[:6]
    oof = out_of_fold(
        vectors[6:], labels[6:], EmbeddingClassifier, 3, 0.2, 3, extra_vectors=extra_vectors, extra_labels=extra_labels
    )
    assert oof.features.shape == (len(labels), FEATURE_COUNT)
    assert oof.calibration_only.sum() == 6 and oof.calibration_only[-6:].all()
    assert oof.truth[-6:] == extra_labels


def test_a_tiny_kb_says_it_is_not_reliably_calibrated_and_takes_the_safe_side() -> None:
    vectors, labels = clusters(seed=5, classes=3, per_class=3)
    model, _ = IntentModel.train_on_vectors(vectors, labels, "m", "v1", target_precision=0.95, folds=3)
    report = model.report
    assert not report.calibration_reliable
    assert report.kb_threshold == model.kb_threshold
    assert any("too little evidence" in warning for warning in report.warnings)


def test_a_well_evidenced_kb_is_reliable_and_records_its_assumption() -> None:
    vectors, labels = clusters(seed=6, classes=10, per_class=40)
    model, _ = IntentModel.train_on_vectors(vectors, labels, "m", "v1", target_precision=0.95, out_of_scope_share=0.4)
    report = model.report
    assert report.out_of_scope_share == 0.4
    assert report.calibration_reliable and report.precision_lower_bound >= 0.92
    assert report.calibration_rows == len(labels) and report.out_of_scope_rows > 0


def test_train_prints_the_assumed_share_and_how_sure_it_is(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    entries = {
        "opening-hours": ["When are you open?", "What are your opening hours?", "Are you open on Sunday?"],
        "delivery-time": ["How long does delivery take?", "When will my parcel arrive?", "Shipping time?"],
        "return-policy": ["Can I return an item?", "How do I send something back?", "What is your return policy?"],
    }
    lines = ["entries:"]
    for entry_id, questions in entries.items():
        lines += [f"  - id: {entry_id}", "    status: published", "    questions:", "      en:"]
        lines += [f"        - {q}" for q in questions]
        lines += ["    answers:", f"      en: The answer about {entry_id}."]
    (kb_dir / "faq.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--kb-dir", str(kb_dir), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "calibrated for 20% of messages out of scope (policy.out_of_scope_share)" in result.output
    assert "how sure: KB answers' precision is at least" in result.output
    # Three entries of three phrasings are too little evidence: it says so and takes the safe side.
    assert "NOT reliable" in result.output and "too little evidence" in result.output
    # The safe side: even a question written exactly as in the KB is not answered from it.
    asked = CliRunner().invoke(
        main,
        [
            "ask",
            "How long does delivery take?",
            "--at",
            "2026-11-28T21:30",
            "--json",
            "--kb-dir",
            str(kb_dir),
            "--data-dir",
            str(tmp_path / "data"),
        ],
    )
    assert asked.exit_code == 0, asked.output
    decision = json.loads(asked.output)
    assert decision["kind"] != "kb_answer" and decision["entry_id"] is None, decision["reasons"]


def test_a_decision_names_the_kb_answer_threshold_when_it_differs(engine: Engine) -> None:
    policy = engine.policy
    assert policy.answer_threshold == engine.intents.kb_threshold
    decision = engine.decide(InboundMessage(text="exchange or refund, which one?"), ConversationState(), SATURDAY)
    best = next(reason for reason in decision.reasons if reason.startswith("best match"))
    # On the sample KB the two differ (the intents' easy examples set the plain one higher).
    assert engine.intents.kb_threshold < engine.intents.threshold
    assert f"threshold {engine.intents.threshold:.2f}, KB answers {engine.intents.kb_threshold:.2f}" in best


def test_a_kb_match_between_the_two_thresholds_is_answered_from_the_kb(engine: Engine) -> None:
    # Confident enough for a KB answer, not for the plain threshold the intents use: answered with the entry.
    decision = engine.decide(InboundMessage(text="refund or exchange?"), ConversationState(), SATURDAY)
    assert engine.intents.kb_threshold <= decision.confidence < engine.intents.threshold, decision.reasons
    assert decision.kind == DecisionKind.KB_ANSWER and decision.entry_id == "refund-status", decision.reasons
