"""Threshold choice for a target precision, and out-of-fold evidence with held-out classes."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from assistant.calibration import choose_threshold, out_of_fold, risk_coverage
from assistant.classifier import EmbeddingClassifier


def test_threshold_reaches_target_on_separable_scores() -> None:
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    choice = choose_threshold(confidence, correct, target=0.95, min_answered=1)
    assert choice.threshold == 0.8
    assert choice.precision == 1.0 and choice.answered == 4


def test_unreachable_target_never_answers() -> None:
    choice = choose_threshold(np.array([0.9, 0.8]), np.array([False, True]), target=0.99, min_answered=1)
    assert choice.threshold > 1.0 and choice.answered == 0


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=200), st.floats(0.5, 1.0))
def test_chosen_threshold_meets_target_on_its_own_data(rows: list[tuple[float, bool]], target: float) -> None:
    confidence = np.array([r[0] for r in rows])
    correct = np.array([r[1] for r in rows])
    choice = choose_threshold(confidence, correct, target, min_answered=1)
    if choice.answered:
        assert correct[confidence >= choice.threshold].mean() >= target - 1e-9


def test_risk_coverage_is_monotone_in_coverage() -> None:
    rng = np.random.default_rng(0)
    coverage, risk = risk_coverage(rng.random(300), rng.random(300) > 0.3)
    assert np.all(np.diff(coverage) > 0) and coverage[-1] == 1.0
    assert np.all((risk >= 0) & (risk <= 1))


def test_held_out_classes_are_always_wrong() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(6, 16))
    labels = [f"c{i}" for i in range(6) for _ in range(20)]
    vectors = np.vstack([centres[i] + 0.1 * rng.normal(size=(20, 16)) for i in range(6)]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    oof = out_of_fold(vectors, labels, EmbeddingClassifier, folds=4, holdout_share=0.2, seed=3)
    assert oof.held_out.any()
    assert not oof.correct[oof.held_out].any()
    assert oof.correct[~oof.held_out].mean() > 0.9
