"""The `heldout` eval section: its arithmetic on hand-made cases (an out-of-scope question answered is a wrong
answer; reweighting to an out-of-scope share equals resampling the traffic to it), the Policy's answer rule, the
choice of held-out intents, and one quick run on slices of BANKING77 and HWU64 with the real embedding model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from assistant.domain.readings import IntentPrediction
from assistant.evaluation import heldout
from assistant.evaluation.common import EvalContext
from assistant.evaluation.heldout_setting import (
    CURVE_SHARES,
    IntentData,
    figures_at_share,
    held_out_intents,
    kb_answers,
    scenario_of,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Four in-scope questions (two answered right, one answered with the wrong entry, one escalated) and two
# out-of-scope ones (one answered, one escalated).
IN_SCOPE = np.array([True, True, True, True, False, False])
ANSWERED = np.array([True, True, True, False, True, False])
RIGHT = np.array([True, True, False, False, False, False])


def test_an_out_of_scope_question_answered_counts_against_precision() -> None:
    natural = figures_at_share(ANSWERED, RIGHT, IN_SCOPE, None)
    assert natural["oos_share"] == pytest.approx(2 / 6)
    assert natural["precision"] == pytest.approx(2 / 4)  # 4 answered: 2 right, 1 wrong entry, 1 out of scope
    assert natural["coverage"] == pytest.approx(2 / 4)
    assert natural["oos_escalated"] == pytest.approx(1 / 2)
    assert natural["answered_share"] == pytest.approx(4 / 6)
    escalated = ANSWERED.copy()
    escalated[4] = False
    assert figures_at_share(escalated, RIGHT, IN_SCOPE, None)["precision"] == pytest.approx(2 / 3)


def test_reweighting_to_a_share_equals_resampling_the_traffic() -> None:
    at_half = figures_at_share(ANSWERED, RIGHT, IN_SCOPE, 0.5)
    # The same traffic with each out-of-scope question asked twice: 4 in scope, 4 out of scope.
    twice = np.r_[0, 1, 2, 3, 4, 4, 5, 5]
    resampled = figures_at_share(ANSWERED[twice], RIGHT[twice], IN_SCOPE[twice], None)
    assert resampled["oos_share"] == 0.5
    for key in ("precision", "coverage", "oos_escalated", "answered_share"):
        assert at_half[key] == pytest.approx(resampled[key]), key
    assert at_half["precision"] == pytest.approx(2 / 5)
    # No out-of-scope traffic: precision is that of the in-scope answers alone.
    assert figures_at_share(ANSWERED, RIGHT, IN_SCOPE, 0.0)["precision"] == pytest.approx(2 / 3)


def test_precision_is_undefined_when_nothing_is_answered() -> None:
    none = np.zeros(6, dtype=bool)
    figures = figures_at_share(none, RIGHT, IN_SCOPE, 0.5)
    assert math.isnan(figures["precision"])
    assert figures["coverage"] == 0.0 and figures["oos_escalated"] == 1.0


def _prediction(label: str, confidence: float) -> IntentPrediction:
    return IntentPrediction(label, confidence, confidence, 0.8, [(label, confidence)])


def test_only_a_kb_entry_at_or_above_the_threshold_is_an_answer() -> None:
    predictions = [
        _prediction("faq:refunds", 0.9),
        _prediction("faq:refunds", 0.8),
        _prediction("faq:refunds", 0.7999),
        _prediction("intent:greet", 0.99),
    ]
    assert kb_answers(predictions, 0.8).tolist() == [True, True, False, False]


def test_held_out_intents_leave_every_scenario_in_the_kb() -> None:
    labels = [
        f"{s}_{i}" for s, n in (("alarm", 3), ("iot", 5), ("qa", 2), ("weather", 1), ("news", 1)) for i in range(n)
    ]
    y = np.array(labels)
    data = IntentData("fake", labels, y, np.zeros((len(y), 2)), labels, y, np.zeros((len(y), 2)), True)
    for seed in range(20):
        held = held_out_intents(data, seed)
        assert len(held) == round(0.25 * len(labels))
        kept = set(labels) - set(held)
        assert {scenario_of(i) for i in kept} == {scenario_of(i) for i in labels}, seed
    assert held_out_intents(data, 3) == held_out_intents(data, 3)


@pytest.mark.skipif(not (DATA / "banking77").is_dir() or not (DATA / "hwu64").is_dir(), reason="no ../shared/data")
def test_quick_run_measures_both_data_sets(tmp_path: Path) -> None:
    ctx = EvalContext(settings=None, data_root=DATA, out_dir=tmp_path, quick=True)
    result = heldout.run(ctx)
    for dataset in heldout.DATASETS:
        figures = result.data["datasets"][dataset]
        assert [s["label"] for s in figures["settings"]] == ["3", "10", "full"]
        assert figures["test_oos"] > 0 and figures["test_in_scope"] > 0
        assert (tmp_path / figures["plot_file"]).stat().st_size > 0
        for setting in figures["settings"]:
            for run in setting["runs"]:
                at = run["at_target_share"]
                assert at["oos_share"] == heldout.OOS_SHARE
                assert 0.0 <= at["coverage"] <= run["top1_in_scope"] <= 1.0
                assert 0.0 <= at["oos_escalated"] <= 1.0
                # The curve's 50% point is the headline figure: one arithmetic for both.
                point = run["curve"][CURVE_SHARES.index(heldout.OOS_SHARE)]
                assert point["answered_share"] == pytest.approx(at["answered_share"])
                assert 0.0 <= run["estimate"]["oof_coverage"] <= 1.0
    full = result.data["datasets"]["banking77"]["settings"][-1]["runs"][0]
    assert full["phrasings"] > result.data["datasets"]["banking77"]["settings"][0]["runs"][0]["phrasings"]
    text = "\n".join(result.markdown)
    assert "met" in text and "heldout_hwu64-quick.png" in text
