"""Calibrated confidence: out-of-fold predictions (with whole classes held out, so out-of-scope questions
are part of the evidence) and the threshold that reaches a target precision of auto-answers."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

from assistant.nlu.classifier import FEATURE_COUNT, RankingClassifier, confidence_features


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float
    coverage: float
    answered: int
    total: int
    # Effective number of answered rows under the weights ((sum w)^2 / sum w^2): what the precision rests on.
    effective_rows: float = 0.0

    def lower_bound(self, z: float) -> float:
        """One-sided Wilson lower bound of the answered rows' precision; 0 when nothing is answered."""
        if self.answered == 0:
            return 0.0
        return float(wilson_lower_bound(np.array([self.precision]), np.array([self.effective_rows]), z)[0])


@dataclass(frozen=True)
class OutOfFold:
    features: np.ndarray
    correct: np.ndarray
    predicted: list[str]
    truth: list[str]
    held_out: np.ndarray
    # Rows of calibration-only examples (never trained on: intent examples in a language the KB lacks), which is
    # what a question in another language than the KB's looks like to the model.
    calibration_only: np.ndarray


def out_of_scope_weights(held_out: np.ndarray, share: float) -> np.ndarray:
    """Row weights under which the held-out (out-of-scope) rows make up `share` of the evidence: the threshold is
    then chosen for traffic of which that share has no answer in the KB, whatever share the folds happened to hold."""
    weights = np.ones(len(held_out))
    held = int(held_out.sum())
    if held == 0 or held == len(held_out):
        return weights
    weights[held_out] = share / held
    weights[~held_out] = (1.0 - share) / (len(held_out) - held)
    return weights * len(held_out)


def out_of_fold(
    vectors: np.ndarray,
    labels: list[str],
    make_classifier: Callable[[], RankingClassifier],
    folds: int,
    holdout_share: float,
    seed: int,
    max_rows: int | None = None,
    extra_vectors: np.ndarray | None = None,
    extra_labels: list[str] | None = None,
) -> OutOfFold:
    """Predictions for the examples from models that never saw them; in each fold a share of the classes
    is left out of training entirely, so its questions stand for the out-of-scope ones. With `max_rows`, a random
    sample of that many examples is predicted (every example still trains): evidence enough for a four-feature
    calibrator, and at 50,000 phrasings the difference between seconds and a minute of searching. `extra_vectors`
    are predicted too, never trained on, shared out over the folds' models."""
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
    features = np.zeros((len(y), FEATURE_COUNT), dtype=np.float64)
    predicted = [""] * len(y)
    held = np.zeros(len(y), dtype=bool)
    with warnings.catch_warnings():
        # An entry with a single phrasing cannot be in train and test at once; its example then only ever tests
        # a model that lacks its class, which is what an out-of-scope question is. Nothing to warn about.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(vectors, y))
    extra_y = np.asarray(extra_labels or [], dtype=object)
    extra_features = np.zeros((len(extra_y), features.shape[1]), dtype=np.float64)
    extra_predicted = [""] * len(extra_y)
    extra_held = np.zeros(len(extra_y), dtype=bool)
    for fold, (train_idx, all_test_idx) in enumerate(splits):
        n_held = max(1, round(holdout_share * len(classes))) if len(classes) > 2 else 0
        held_classes = set(rng.choice(classes, size=n_held, replace=False)) if n_held else set()
        test_idx = all_test_idx[evaluated[all_test_idx]]
        extra_idx = np.arange(fold, len(extra_y), len(splits))
        if len(test_idx) == 0 and len(extra_idx) == 0:
            continue
        keep = np.array([label not in held_classes for label in y[train_idx]])
        model = make_classifier().fit(vectors[train_idx][keep], list(y[train_idx][keep]))
        if len(test_idx):
            _predict(model, vectors, y, test_idx, held_classes, (features, predicted, held))
        if len(extra_idx) and extra_vectors is not None:
            extra_out = (extra_features, extra_predicted, extra_held)
            _predict(model, extra_vectors, extra_y, extra_idx, held_classes, extra_out, untrained_is_held=True)
    rows = np.flatnonzero(evaluated)
    truth = [str(label) for label in y[rows]] + [str(label) for label in extra_y]
    all_predicted = [predicted[i] for i in rows] + extra_predicted
    correct = np.array([p == t for p, t in zip(all_predicted, truth, strict=True)], dtype=bool)
    return OutOfFold(
        features=np.vstack([features[rows], extra_features]),
        correct=correct,
        predicted=all_predicted,
        truth=truth,
        held_out=np.concatenate([held[rows], extra_held]),
        calibration_only=np.concatenate([np.zeros(len(rows), dtype=bool), np.ones(len(extra_y), dtype=bool)]),
    )


def _predict(
    model: RankingClassifier,
    vectors: np.ndarray,
    truth: np.ndarray,
    rows: np.ndarray,
    held_classes: set[str],
    out: tuple[np.ndarray, list[str], np.ndarray],
    untrained_is_held: bool = False,
) -> None:
    """One fold model's predictions for `rows`, written into `out` (features, predicted labels, held-out flags). A
    row is out of scope when its class was held out of the fold; with `untrained_is_held`, also when the model never
    saw its class at all (a calibration-only row's intent may have no example left in training)."""
    features, predicted, held = out
    ranking = model.rank(vectors[rows], top=2)
    features[rows] = confidence_features(ranking)
    for i, best in zip(rows, ranking.class_ids[:, 0], strict=True):
        predicted[i] = model.classes[int(best)]
        held[i] = truth[i] in held_classes or (untrained_is_held and truth[i] not in model.classes)


def wilson_lower_bound(precision: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """One-sided Wilson lower bound of a precision measured on `n` (effective) rows; z = 0 is the estimate itself."""
    if z <= 0:
        return precision
    n = np.maximum(n, 1e-9)
    centre = precision + z * z / (2 * n)
    spread = z * np.sqrt(precision * (1 - precision) / n + z * z / (4 * n * n))
    return np.asarray((centre - spread) / (1 + z * z / n))


def choose_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    target: float,
    min_answered: int = 20,
    weights: np.ndarray | None = None,
    z: float = 0.0,
) -> ThresholdChoice:
    """The lowest confidence threshold whose answered set still reaches `target` precision: weighted by `weights`
    (see out_of_scope_weights), and with z > 0 by the Wilson lower bound of that precision instead of the estimate,
    the safe side when the evidence is thin.

    Never answering (threshold above 1) is the answer when no threshold reaches the target."""
    w = np.ones(len(confidence)) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    hit_weight = np.cumsum((w * correct)[order])
    answered_weight = np.cumsum(w[order])
    answered = np.arange(1, len(order) + 1)
    precision = hit_weight / np.maximum(answered_weight, 1e-12)
    effective = answered_weight**2 / np.maximum(np.cumsum((w**2)[order]), 1e-12)
    bound = wilson_lower_bound(precision, effective, z)
    # A threshold answers every tied score at once, so only cut where the score changes.
    boundary = np.append(ranked[:-1] > ranked[1:], True)
    ok = np.flatnonzero(boundary & (bound >= target) & (answered >= min(min_answered, len(order))))
    total = len(order)
    if len(ok) == 0:
        return ThresholdChoice(1.01, 1.0, 0.0, 0, total)
    threshold = float(ranked[int(ok[-1])])
    mask = confidence >= threshold
    return ThresholdChoice(
        threshold=threshold,
        precision=float(np.average(correct[mask], weights=w[mask])),
        coverage=float(mask.mean()),
        answered=int(mask.sum()),
        total=total,
        effective_rows=float(effective[int(ok[-1])]),
    )


def risk_coverage(confidence: np.ndarray, correct: np.ndarray, points: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and risk (1 - precision) of answering the most confident share, for the report's plot."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    answered = np.arange(1, len(order) + 1)
    picks = np.unique(np.linspace(0, len(order) - 1, num=min(points, len(order))).astype(int))
    return answered[picks] / len(order), 1.0 - hits[picks] / answered[picks]
