"""Calibrated confidence: out-of-fold predictions (with whole classes held out, so out-of-scope questions
are part of the evidence) and the threshold that reaches a target precision of auto-answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from assistant.classifier import EmbeddingClassifier, confidence_features


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
    make_classifier: Callable[[], EmbeddingClassifier],
    folds: int,
    holdout_share: float,
    seed: int,
) -> OutOfFold:
    """Predictions for every example from a model that never saw it; in each fold a share of the classes
    is left out of training entirely, so its questions stand for the out-of-scope ones."""
    y = np.asarray(labels)
    classes = np.unique(y)
    rng = np.random.default_rng(seed)
    counts = {c: int((y == c).sum()) for c in classes}
    n_splits = max(2, min(folds, min(counts.values())))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    features = np.zeros((len(y), 4), dtype=np.float64)
    predicted = [""] * len(y)
    held = np.zeros(len(y), dtype=bool)
    for train_idx, test_idx in splitter.split(vectors, y):
        n_held = max(1, round(holdout_share * len(classes))) if len(classes) > 2 else 0
        held_classes = set(rng.choice(classes, size=n_held, replace=False)) if n_held else set()
        keep = np.array([label not in held_classes for label in y[train_idx]])
        model = make_classifier().fit(vectors[train_idx][keep], list(y[train_idx][keep]))
        probs = model.predict_proba(vectors[test_idx])
        features[test_idx] = confidence_features(model, vectors[test_idx], probs)
        for i, row in zip(test_idx, probs, strict=True):
            predicted[i] = model.classes[int(np.argmax(row))]
            held[i] = y[i] in held_classes
    correct = np.array([p == t for p, t in zip(predicted, y, strict=True)])
    return OutOfFold(features, correct, predicted, list(y), held)


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
