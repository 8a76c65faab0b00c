"""Classifiers over sentence embeddings (multinomial logistic regression; nearest neighbours in a FAISS index, which
takes new examples without training) and the features from which their confidence is calibrated."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import faiss
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

# Multi-threaded OpenBLAS on these small matrices spins instead of working: measured 23 s vs 1.6 s for one
# fit on 2 cores. One BLAS thread for classifier maths; the embedding model keeps its own threads.
_BLAS = ThreadpoolController()


def single_blas_thread() -> AbstractContextManager[object]:
    limiter: AbstractContextManager[object] = _BLAS.limit(limits=1, user_api="blas")
    return limiter


@dataclass(frozen=True)
class Ranking:
    """Per query: the best classes (ids into `classes`) with their probabilities, best first; the similarity of
    the nearest training example of the best class; how far the nearest examples agree with it (0..1); and how much
    closer the query is to the best class's centroid than to any other class's (the prototype margin)."""

    class_ids: np.ndarray
    probs: np.ndarray
    similarity: np.ndarray
    agreement: np.ndarray
    centroid_margin: np.ndarray


def class_centroids(vectors: np.ndarray, class_ids: np.ndarray, classes: int) -> np.ndarray:
    """The normalised mean of each class's training vectors (its prototype)."""
    sums = np.zeros((classes, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, class_ids, vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.ascontiguousarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)


def centroid_margins(vectors: np.ndarray, centroids: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Per query: cosine to the best class's centroid minus the highest cosine to any other class's centroid. It does
    not depend on how many examples or classes there are, and a question in another language than the KB shifts
    both terms alike: on our cross-lingual set it ranks right answers far better than the top probability."""
    if len(vectors) == 0:
        return np.zeros(0)
    with single_blas_thread():
        sims = vectors @ centroids.T
    rows = np.arange(len(vectors))
    own = sims[rows, best]
    if centroids.shape[0] < 2:
        return np.asarray(own, dtype=np.float64)
    sims[rows, best] = -np.inf
    return np.asarray(own - sims.max(axis=1), dtype=np.float64)


class RankingClassifier(Protocol):
    """What the intent model needs of a classifier: fit on labelled vectors, rank classes for queries."""

    classes: list[str]

    def fit(self, vectors: np.ndarray, labels: Sequence[str]) -> RankingClassifier: ...

    def rank(self, vectors: np.ndarray, top: int = 3) -> Ranking: ...

    def ready(self) -> None:
        """Get ready to rank (a worker calls it when it loads a model, before swapping it in)."""


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
        self._centroids = np.zeros((0, 0), dtype=np.float32)

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
        self._centroids = class_centroids(self._train_vectors, self._train_class_ids, len(self.classes))
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

    def ready(self) -> None:
        """Nothing to prepare: the fitted regression is all there is."""

    def rank(self, vectors: np.ndarray, top: int = 3) -> Ranking:
        if len(vectors) == 0:
            return _empty_ranking(top)
        probs = self.predict_proba(vectors)
        order = np.argsort(-probs, axis=1)[:, :top]
        nearest_class, per_class = self.nearest(vectors)
        rows = np.arange(len(vectors))
        return Ranking(
            class_ids=order,
            probs=np.take_along_axis(probs, order, axis=1),
            similarity=per_class[rows, order[:, 0]].astype(np.float64),
            agreement=(nearest_class == order[:, 0]).astype(np.float64),
            centroid_margin=centroid_margins(vectors, self._centroids, order[:, 0]),
        )


class NeighbourClassifier:
    """Soft votes of the k nearest training examples in a FAISS inner-product index. "Training" is adding vectors,
    so a KB of 10,000 entries takes a new phrasing in milliseconds, where logistic regression over as many classes
    needs minutes. Each neighbour votes exp((similarity - best) / temperature) for its class."""

    def __init__(self, k: int = 10, temperature: float = 0.05) -> None:
        self.k = k
        self.temperature = temperature
        self.classes: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._class_ids = np.zeros(0, dtype=np.int64)
        self._centroids = np.zeros((0, 0), dtype=np.float32)
        self._index: faiss.Index | None = None

    def fit(self, vectors: np.ndarray, labels: Sequence[str]) -> NeighbourClassifier:
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise ValueError(f"a classifier needs at least two classes, got {classes}")
        self.classes = [str(c) for c in classes]
        index = {c: i for i, c in enumerate(self.classes)}
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._class_ids = np.array([index[label] for label in labels], dtype=np.int64)
        self._centroids = class_centroids(self._vectors, self._class_ids, len(self.classes))
        self._index = None  # built by ready() or the first rank(): a publish that only saves the model skips it
        return self

    def _build_index(self) -> None:
        self._index = faiss.IndexFlatIP(self._vectors.shape[1]) if self._vectors.size else None
        if self._index is not None:
            self._index.add(self._vectors)

    def ready(self) -> None:
        """Build the search index now (copying 50,000 vectors takes a quarter of a second), not on the first query."""
        if self._index is None:
            self._build_index()

    def rank(self, vectors: np.ndarray, top: int = 3) -> Ranking:
        self.ready()
        if len(vectors) == 0 or self._index is None:
            return _empty_ranking(top)
        sims, ids = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(self.k, self._index.ntotal))
        class_ids = np.zeros((len(vectors), top), dtype=np.int64)
        probs = np.zeros((len(vectors), top))
        similarity = np.zeros(len(vectors))
        agreement = np.zeros(len(vectors))
        for row, (row_sims, row_ids) in enumerate(zip(sims, ids, strict=True)):
            found = self._class_ids[row_ids[row_ids >= 0]].tolist()
            row_sims = row_sims[: len(found)]
            weights = np.exp((row_sims - row_sims[0]) / self.temperature).tolist()
            votes: dict[int, float] = {}
            best: dict[int, float] = {}
            for class_id, weight, sim in zip(found, weights, row_sims.tolist(), strict=True):
                votes[class_id] = votes.get(class_id, 0.0) + weight
                best.setdefault(class_id, sim)  # neighbours come best first
            ranked = sorted(votes, key=lambda c: -votes[c])
            total = sum(votes.values())
            n = min(top, len(ranked))
            class_ids[row, :n] = ranked[:n]
            class_ids[row, n:] = ranked[0]  # padding, probability 0
            probs[row, :n] = [votes[c] / total for c in ranked[:n]]
            similarity[row] = best[ranked[0]]
            agreement[row] = float(found[0] == ranked[0])
        margin = centroid_margins(np.ascontiguousarray(vectors, dtype=np.float32), self._centroids, class_ids[:, 0])
        return Ranking(class_ids, probs, similarity, agreement, margin)

    def __getstate__(self) -> dict[str, Any]:
        # FAISS indexes do not pickle; the vectors do, and the flat index is rebuilt from them in milliseconds.
        state = dict(self.__dict__)
        state["_index"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _empty_ranking(top: int) -> Ranking:
    return Ranking(np.zeros((0, top), dtype=np.int64), np.zeros((0, top)), np.zeros(0), np.zeros(0), np.zeros(0))


# Bumped whenever confidence_features (or what a saved intent model holds) changes, so a model saved otherwise is
# refused, not misread. 3: KB answers' own threshold.
FEATURES_VERSION = 3
FEATURE_COUNT = 5


def confidence_features(ranking: Ranking) -> np.ndarray:
    """[top probability, margin to the runner-up, similarity to the top class's nearest example, kNN agreement,
    prototype (centroid) margin]."""
    if len(ranking.probs) == 0:
        return np.zeros((0, FEATURE_COUNT))
    second = ranking.probs[:, 1] if ranking.probs.shape[1] > 1 else np.zeros(len(ranking.probs))
    top = ranking.probs[:, 0]
    return np.column_stack([top, top - second, ranking.similarity, ranking.agreement, ranking.centroid_margin])


class ConfidenceCalibrator:
    """Maps confidence features to P(prediction is right), fitted on out-of-fold predictions."""

    def __init__(self) -> None:
        self._model: LogisticRegression | None = None
        self._scaler: StandardScaler | None = None
        self._constant: float | None = None

    def fit(self, features: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None) -> ConfidenceCalibrator:
        """`weights` count each row (out-of-scope rows weigh what the expected out-of-scope share says)."""
        if correct.all() or not correct.any():
            self._constant = float(np.average(correct, weights=weights)) if len(correct) else 0.0
            return self
        # The features live on different scales (a probability, a margin of a few hundredths): standardise them,
        # so the regularisation does not silence the small-ranged ones.
        self._scaler = StandardScaler().fit(features, sample_weight=weights)
        with single_blas_thread():
            self._model = LogisticRegression(C=1.0, max_iter=1000).fit(
                self._scaler.transform(features), correct.astype(int), sample_weight=weights
            )
        return self

    def confidence(self, features: np.ndarray) -> np.ndarray:
        if self._constant is not None:
            return np.full(len(features), self._constant)
        if self._model is None or self._scaler is None:
            raise RuntimeError("calibrator is not fitted")
        return np.asarray(self._model.predict_proba(self._scaler.transform(features))[:, 1])
