"""A classifier over sentence embeddings (multinomial logistic regression) and the features from which
its confidence is calibrated: top probability, margin, nearest-example similarity and kNN agreement."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController

# Multi-threaded OpenBLAS on these small matrices spins instead of working: measured 23 s vs 1.6 s for one
# fit on 2 cores. One BLAS thread for classifier maths; the embedding model keeps its own threads.
_BLAS = ThreadpoolController()


def single_blas_thread() -> AbstractContextManager[object]:
    limiter: AbstractContextManager[object] = _BLAS.limit(limits=1, user_api="blas")
    return limiter


class EmbeddingClassifier:
    """Multinomial logistic regression on normalised embeddings, keeping its training vectors for kNN."""

    def __init__(self, c: float = 10.0, max_iter: int = 300, class_weight: str | None = None) -> None:
        self.c = c
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.classes: list[str] = []
        self._model: LogisticRegression | None = None
        self._train_vectors = np.zeros((0, 0), dtype=np.float32)
        self._train_class_ids = np.zeros(0, dtype=np.int64)

    def fit(self, vectors: np.ndarray, labels: Sequence[str]) -> EmbeddingClassifier:
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError(f"a classifier needs at least two classes, got {classes}")
        model = LogisticRegression(C=self.c, max_iter=self.max_iter, class_weight=self.class_weight)
        with warnings.catch_warnings(), single_blas_thread():
            # A few hundred lbfgs steps are enough for ranking; full convergence adds minutes, not accuracy.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(vectors, list(labels))
        self._model = model
        self.classes = [str(c) for c in model.classes_]
        index = {c: i for i, c in enumerate(self.classes)}
        self._train_vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._train_class_ids = np.array([index[label] for label in labels], dtype=np.int64)
        return self

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("classifier is not trained")
        with single_blas_thread():
            return np.asarray(self._model.predict_proba(vectors))

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query: class id of the nearest training example, and the best similarity to each class."""
        with single_blas_thread():
            sims = vectors @ self._train_vectors.T
        nearest_class = self._train_class_ids[np.argmax(sims, axis=1)]
        per_class = np.full((len(vectors), len(self.classes)), -1.0, dtype=np.float32)
        for class_id in range(len(self.classes)):
            members = self._train_class_ids == class_id
            per_class[:, class_id] = sims[:, members].max(axis=1)
        return nearest_class, per_class


def confidence_features(model: EmbeddingClassifier, vectors: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """[top probability, margin to the runner-up, similarity to the top class's nearest example, kNN agrees]."""
    if len(vectors) == 0:
        return np.zeros((0, 4))
    top2 = np.sort(probs, axis=1)[:, -2:]
    predicted = np.argmax(probs, axis=1)
    nearest_class, per_class = model.nearest(vectors)
    similarity = per_class[np.arange(len(vectors)), predicted]
    agree = (nearest_class == predicted).astype(np.float64)
    return np.column_stack([top2[:, 1], top2[:, 1] - top2[:, 0], similarity, agree])


class ConfidenceCalibrator:
    """Maps confidence features to P(prediction is right), fitted on out-of-fold predictions."""

    def __init__(self) -> None:
        self._model: LogisticRegression | None = None
        self._constant: float | None = None

    def fit(self, features: np.ndarray, correct: np.ndarray) -> ConfidenceCalibrator:
        if correct.all() or not correct.any():
            self._constant = float(correct.mean()) if len(correct) else 0.0
            return self
        with single_blas_thread():
            self._model = LogisticRegression(C=1.0, max_iter=1000).fit(features, correct.astype(int))
        return self

    def confidence(self, features: np.ndarray) -> np.ndarray:
        if self._constant is not None:
            return np.full(len(features), self._constant)
        if self._model is None:
            raise RuntimeError("calibrator is not fitted")
        return np.asarray(self._model.predict_proba(features)[:, 1])
