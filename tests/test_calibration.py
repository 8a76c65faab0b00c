"""Threshold choice for a target precision, out-of-fold evidence with held-out classes, and the two matchers."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.nlu.calibration import choose_threshold, out_of_fold, risk_coverage
from assistant.nlu.classifier import EmbeddingClassifier, NeighbourClassifier, RankingClassifier


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


def clusters(seed: int = 1, classes: int = 6, per_class: int = 20) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 16))
    labels = [f"c{i}" for i in range(classes) for _ in range(per_class)]
    vectors = np.vstack([centres[i] + 0.1 * rng.normal(size=(per_class, 16)) for i in range(classes)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels


@pytest.mark.parametrize("make", [EmbeddingClassifier, NeighbourClassifier])
def test_held_out_classes_are_always_wrong(make: type[RankingClassifier]) -> None:
    vectors, labels = clusters()
    oof = out_of_fold(vectors, labels, make, folds=4, holdout_share=0.2, seed=3)
    assert oof.held_out.any()
    assert not oof.correct[oof.held_out].any()
    assert oof.correct[~oof.held_out].mean() > 0.9


def test_neighbours_rank_by_soft_votes_and_survive_pickling() -> None:
    vectors, labels = clusters(seed=2, classes=4, per_class=5)
    model = NeighbourClassifier(k=6).fit(vectors, labels)
    ranking = model.rank(vectors[[0, 7]], top=3)
    assert [model.classes[int(i)] for i in ranking.class_ids[:, 0]] == ["c0", "c1"]
    assert np.allclose(ranking.similarity, 1.0, atol=1e-5)  # each query is itself a training example
    assert np.all(ranking.probs[:, 0] >= ranking.probs[:, 1]) and np.all(ranking.probs.sum(axis=1) <= 1 + 1e-9)
    # A query halfway between two classes: both are ranked, neither is sure.
    between = (vectors[0] + vectors[5]) / np.linalg.norm(vectors[0] + vectors[5])
    split = model.rank(between[None, :], top=2)
    assert {model.classes[int(i)] for i in split.class_ids[0]} == {"c0", "c1"} and split.probs[0, 0] < 0.9
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.rank(vectors[:3]).class_ids, model.rank(vectors[:3]).class_ids)
    with pytest.raises(ValueError, match="two classes"):
        NeighbourClassifier().fit(vectors[:2], ["only", "only"])
