"""Calibrated confidence: out-of-fold predictions (with whole classes held out, so out-of-scope questions
are part of the evidence) and the threshold that reaches a target precision of auto-answers."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from assistant.classifier import RankingClassifier, confidence_features


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float
    coverage: float
    answered: int
    total: int


@dataclass(frozen=True)
class OutOfFold:
    features: np.ndarray
    correct: np.ndarray
    predicted: list[str]
    truth: list[str]
    held_out: np.ndarray


def out_of_fold(
    vectors: np.ndarray,
    labels: list[str],
    make_classifier: Callable[[], RankingClassifier],
    folds: int,
    holdout_share: float,
    seed: int,
    max_rows: int | None = None,
) -> OutOfFold:
    """Predictions for the examples from models that never saw them; in each fold a share of the classes
    is left out of training entirely, so its questions stand for the out-of-scope ones. With `max_rows`, a random
    sample of that many examples is predicted (every example still trains): evidence enough for a four-feature
    calibrator, and at 50,000 phrasings the difference between seconds and a minute of searching."""
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    rng = np.random.default_rng(seed)
    n_splits = max(2, min(folds, int(counts.min())))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    evaluated = np.ones(len(y), dtype=bool)
    if max_rows is not None and len(y) > max_rows:
        evaluated[:] = False
        # Its own generator, so the held-out classes of each fold do not depend on whether rows were sampled.
        evaluated[np.random.default_rng(seed + 1).choice(len(y), size=max_rows, replace=False)] = True
    features = np.zeros((len(y), 4), dtype=np.float64)
    predicted = [""] * len(y)
    held = np.zeros(len(y), dtype=bool)
    with warnings.catch_warnings():
        # An entry with a single phrasing cannot be in train and test at once; its example then only ever tests
        # a model that lacks its class, which is what an out-of-scope question is. Nothing to warn about.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(vectors, y))
    for train_idx, all_test_idx in splits:
        n_held = max(1, round(holdout_share * len(classes))) if len(classes) > 2 else 0
        held_classes = set(rng.choice(classes, size=n_held, replace=False)) if n_held else set()
        test_idx = all_test_idx[evaluated[all_test_idx]]
        if len(test_idx) == 0:
            continue
        keep = np.array([label not in held_classes for label in y[train_idx]])
        model = make_classifier().fit(vectors[train_idx][keep], list(y[train_idx][keep]))
        ranking = model.rank(vectors[test_idx], top=2)
        features[test_idx] = confidence_features(ranking)
        for i, best in zip(test_idx, ranking.class_ids[:, 0], strict=True):
            predicted[i] = model.classes[int(best)]
            held[i] = y[i] in held_classes
    rows = np.flatnonzero(evaluated)
    truth = [str(label) for label in y[rows]]
    correct = np.array([predicted[i] == t for i, t in zip(rows, truth, strict=True)], dtype=bool)
    return OutOfFold(features[rows], correct, [predicted[i] for i in rows], truth, held[rows])


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, min_answered: int = 20
) -> ThresholdChoice:
    """The lowest confidence threshold whose answered set still reaches `target` precision.

    Never answering (threshold above 1) is the answer when no threshold reaches the target."""
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    hits = np.cumsum(correct[order])
    answered = np.arange(1, len(order) + 1)
    precision = hits / answered
    # A threshold answers every tied score at once, so only cut where the score changes.
    boundary = np.append(ranked[:-1] > ranked[1:], True)
    ok = np.flatnonzero(boundary & (precision >= target) & (answered >= min(min_answered, len(order))))
    total = len(order)
    if len(ok) == 0:
        return ThresholdChoice(1.01, 1.0, 0.0, 0, total)
    threshold = float(ranked[int(ok[-1])])
    mask = confidence >= threshold
    return ThresholdChoice(
        threshold=threshold,
        precision=float(correct[mask].mean()),
        coverage=float(mask.mean()),
        answered=int(mask.sum()),
        total=total,
    )


def risk_coverage(confidence: np.ndarray, correct: np.ndarray, points: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and risk (1 - precision) of answering the most confident share, for the report's plot."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    answered = np.arange(1, len(order) + 1)
    picks = np.unique(np.linspace(0, len(order) - 1, num=min(points, len(order))).astype(int))
    return answered[picks] / len(order), 1.0 - hits[picks] / answered[picks]
