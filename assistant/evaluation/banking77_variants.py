"""The measurements of the BANKING77 section: the product's classifier on USE embeddings with all training data and
with 10 examples per intent, next to cheap variants (RBF SVM, MLP, TF-IDF features, label names, self-training).
Hyper-parameters are chosen on validation data carved from train (or by CV on the shots); test is scored once."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.svm import SVC

from assistant.evaluation.banking77_data import Banking77
from assistant.evaluation.common import EvalContext, progress_bar
from assistant.nlu.classifier import EmbeddingClassifier

C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
SVC_C_GRID = (3.0, 10.0)
FEW_SHOT_C_GRID = (10.0, 100.0, 1000.0)
SHOTS = 10
SEEDS = (0, 1, 2)
# Quick runs only prove the code paths work: one seed, short grids.
QUICK_C_GRID = (10.0,)
VALIDATION_SHARE = 0.15


class _LrPredictor:
    """The product classifier behind a `predict` method, so every variant is scored the same way."""

    def __init__(self, c: float, max_iter: int = 300) -> None:
        self.model = EmbeddingClassifier(c=c, max_iter=max_iter)

    def fit(self, x: np.ndarray, y: Sequence[str] | np.ndarray) -> _LrPredictor:
        self.model.fit(x, list(y))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        classes = np.array(self.model.classes)
        return np.asarray(classes[np.argmax(self.model.predict_proba(x), axis=1)])


class _TfidfPlusEmbedding:
    """Logistic regression on [embedding, word 1–2-gram TF-IDF, char 2–5-gram TF-IDF]: the lexical features
    recover the exact banking terms ("top-up", "PIN", "virtual card") that the multilingual embedding blurs."""

    def __init__(self, c: float, max_iter: int = 300, max_features: int | None = None) -> None:
        self.c = c
        self.max_iter = max_iter
        self.union = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=max_features)),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=max_features
                    ),
                ),
            ]
        )
        self.model = LogisticRegression(C=c, max_iter=max_iter)

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
        return sparse.hstack([sparse.csr_matrix(vectors), self.union.transform(list(texts))]).tocsr()

    def fit(self, texts: Sequence[str], vectors: np.ndarray, y: Sequence[str] | np.ndarray) -> _TfidfPlusEmbedding:
        self.union.fit(list(texts))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self._features(texts, vectors), list(y))
        return self

    def predict(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(self._features(texts, vectors)))


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(predicted == truth))


def _quiet_fit(fit: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        # sklearn's convergence chatter would bury the progress bar; accuracy is what we report.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


def full_data_variants(ctx: EvalContext, data: Banking77) -> list[dict[str, Any]]:
    """Every full-data variant: hyper-parameters chosen on a validation split carved from train, then the
    chosen setting refitted on all of train and scored once on test."""
    idx = np.arange(len(data.train_labels))
    fit_idx, val_idx = train_test_split(
        idx, test_size=VALIDATION_SHARE, stratify=data.train_labels, random_state=ctx.seed
    )
    xf, yf, xv, yv = (
        data.train_vectors[fit_idx],
        data.train_labels[fit_idx],
        data.train_vectors[val_idx],
        data.train_labels[val_idx],
    )
    texts = np.array(data.train_texts, dtype=object)
    results: list[dict[str, Any]] = []
    c_grid = QUICK_C_GRID if ctx.quick else C_GRID
    svc_grid = SVC_C_GRID[:1] if ctx.quick else SVC_C_GRID
    steps = len(c_grid) + len(svc_grid) + 6
    # The sparse TF-IDF LR is the slowest fit; a quick run needs it to run, not to converge.
    tfidf_iter = 60 if ctx.quick else 300
    tfidf_features = 5000 if ctx.quick else None
    with progress_bar() as progress:
        task = progress.add_task("banking77 full-data variants", total=steps)

        def tick() -> None:
            progress.advance(task)

        # 1. The product classifier (EmbeddingClassifier = multinomial LR), C tuned on validation.
        val_by_c: dict[float, float] = {}
        for c in c_grid:
            val_by_c[c] = _accuracy(_LrPredictor(c).fit(xf, yf).predict(xv), yv)
            tick()
        best_c = max(val_by_c, key=lambda c: (val_by_c[c], -c))
        started = time.perf_counter()
        lr = _LrPredictor(best_c).fit(data.train_vectors, data.train_labels)
        seconds = time.perf_counter() - started
        results.append(
            {
                "variant": f"LR on embeddings (EmbeddingClassifier, C={best_c:g} chosen on validation)",
                "key": "lr",
                "c": best_c,
                "validation_by_c": {str(k): v for k, v in val_by_c.items()},
                "validation": val_by_c[best_c],
                "test": _accuracy(lr.predict(data.test_vectors), data.test_labels),
                "train_seconds": seconds,
            }
        )
        tick()
        lr_default = _LrPredictor(10.0).fit(data.train_vectors, data.train_labels)
        results.append(
            {
                "variant": "LR on embeddings, product default C=10 (as `assistant train` uses it)",
                "key": "lr_default",
                "c": 10.0,
                "validation": val_by_c.get(10.0),
                "test": _accuracy(lr_default.predict(data.test_vectors), data.test_labels),
                "train_seconds": None,
            }
        )
        tick()

        # 2. RBF-kernel SVM on the same embeddings.
        svc_val: dict[float, float] = {}
        for c in svc_grid:
            svc_val[c] = _accuracy(SVC(C=c).fit(xf, yf).predict(xv), yv)
            tick()
        svc_c = max(svc_val, key=lambda c: (svc_val[c], -c))
        started = time.perf_counter()
        svc = SVC(C=svc_c).fit(data.train_vectors, data.train_labels)
        results.append(
            {
                "variant": f"RBF SVM on embeddings (C={svc_c:g} chosen on validation)",
                "key": "svc",
                "c": svc_c,
                "validation": svc_val[svc_c],
                "test": _accuracy(svc.predict(data.test_vectors), data.test_labels),
                "train_seconds": time.perf_counter() - started,
            }
        )
        tick()

        # 3. A one-hidden-layer MLP; its early stopping holds out 10% of train, so no separate validation fit.
        started = time.perf_counter()
        mlp = _quiet_fit(
            lambda: MLPClassifier(
                hidden_layer_sizes=(512,), alpha=1e-2, max_iter=200, early_stopping=True, random_state=ctx.seed
            ).fit(data.train_vectors, data.train_labels)
        )
        results.append(
            {
                "variant": "MLP on embeddings (512 hidden, alpha 1e-2, early stopping on 10% of train)",
                "key": "mlp",
                "validation": float(mlp.best_validation_score_) if mlp.best_validation_score_ is not None else None,
                "test": _accuracy(mlp.predict(data.test_vectors), data.test_labels),
                "train_seconds": time.perf_counter() - started,
            }
        )
        tick()

        # 4. LR on embeddings + TF-IDF word and character n-grams (C = the LR's validated C).
        tfidf_val = _accuracy(
            _TfidfPlusEmbedding(best_c, tfidf_iter, tfidf_features)
            .fit(list(texts[fit_idx]), xf, yf)
            .predict(list(texts[val_idx]), xv),
            yv,
        )
        tick()
        started = time.perf_counter()
        tfidf = _TfidfPlusEmbedding(best_c, tfidf_iter, tfidf_features).fit(
            data.train_texts, data.train_vectors, data.train_labels
        )
        seconds = time.perf_counter() - started
        results.append(
            {
                "variant": f"LR on embeddings + TF-IDF word/char n-grams (C={best_c:g})",
                "key": "lr_tfidf",
                "c": best_c,
                "validation": tfidf_val,
                "test": _accuracy(tfidf.predict(data.test_texts, data.test_vectors), data.test_labels),
                "train_seconds": seconds,
            }
        )
        tick()
    return results


def _shots(labels: np.ndarray, seed: int, shots: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for label in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == label)
        picked += rng.choice(members, size=min(shots, len(members)), replace=False).tolist()
    return np.array(sorted(picked))


def _cv_c(x: np.ndarray, y: np.ndarray, seed: int, grid: Sequence[float]) -> float:
    """C for the few-shot LR by 5-fold cross-validation on the labelled shots only (test never seen)."""
    if len(grid) == 1:
        return grid[0]
    folds = StratifiedKFold(
        n_splits=min(5, int(np.bincount(np.unique(y, return_inverse=True)[1]).min())), shuffle=True, random_state=seed
    )
    scores = {}
    for c in grid:
        hits = []
        for fit_idx, val_idx in folds.split(x, y):
            hits.append(
                _accuracy(_LrPredictor(c, max_iter=1000).fit(x[fit_idx], y[fit_idx]).predict(x[val_idx]), y[val_idx])
            )
        scores[c] = float(np.mean(hits))
    return max(scores, key=lambda c: (scores[c], -c))


def _self_train(x: np.ndarray, y: np.ndarray, pool: np.ndarray, c: float, rounds: int = 2) -> _LrPredictor:
    """Classic self-training: add the most confident half of the unlabelled pool with its predicted label."""
    model = _LrPredictor(c, max_iter=1000).fit(x, y)
    for _ in range(rounds):
        probs = model.model.predict_proba(pool)
        confidence = probs.max(axis=1)
        keep = confidence >= np.quantile(confidence, 0.5)
        pseudo = np.array(model.model.classes)[np.argmax(probs, axis=1)][keep]
        model = _LrPredictor(c, max_iter=1000).fit(np.vstack([x, pool[keep]]), np.concatenate([y, pseudo]))
    return model


def few_shot_variants(ctx: EvalContext, data: Banking77) -> list[dict[str, Any]]:
    """10 labelled examples per intent, three random draws; the test set is the full test set every time."""
    classes = sorted(set(data.train_labels.tolist()))
    label_vectors = ctx.embed([c.replace("_", " ") for c in classes], "banking77-label-names")
    per_variant: dict[str, list[float]] = {}
    names = {
        "lr": "LR on embeddings (C by 5-fold CV on the shots)",
        "lr_names": "LR + the intent name as one extra example per intent",
        "svc": "RBF SVM on embeddings (C=10)",
        "lr_tfidf": "LR on embeddings + TF-IDF word/char n-grams",
        "self_train": "LR + self-training on the *unlabelled* rest of train (semi-supervised, not strictly 10-shot)",
    }
    chosen_c: list[float] = []
    seeds = SEEDS[:1] if ctx.quick else SEEDS
    grid = (100.0,) if ctx.quick else FEW_SHOT_C_GRID
    with progress_bar() as progress:
        task = progress.add_task("banking77 10-shot seeds", total=len(seeds) * len(names))
        for seed in seeds:
            picked = _shots(data.train_labels, seed, SHOTS)
            x, y = data.train_vectors[picked], data.train_labels[picked]
            c = _cv_c(x, y, seed, grid)
            chosen_c.append(c)

            def score(predicted: np.ndarray) -> float:
                return _accuracy(predicted, data.test_labels)

            per_variant.setdefault("lr", []).append(
                score(_LrPredictor(c, max_iter=1000).fit(x, y).predict(data.test_vectors))
            )
            progress.advance(task)
            per_variant.setdefault("lr_names", []).append(
                score(
                    _LrPredictor(c, max_iter=1000)
                    .fit(np.vstack([x, label_vectors]), np.concatenate([y, classes]))
                    .predict(data.test_vectors)
                )
            )
            progress.advance(task)
            per_variant.setdefault("svc", []).append(score(SVC(C=10.0).fit(x, y).predict(data.test_vectors)))
            progress.advance(task)
            texts = [data.train_texts[i] for i in picked]
            per_variant.setdefault("lr_tfidf", []).append(
                score(
                    _TfidfPlusEmbedding(c, 100 if ctx.quick else 1000, 5000 if ctx.quick else None)
                    .fit(texts, x, y)
                    .predict(data.test_texts, data.test_vectors)
                )
            )
            progress.advance(task)
            pool = data.train_vectors[np.setdiff1d(np.arange(len(data.train_labels)), picked)]
            per_variant.setdefault("self_train", []).append(
                score(_self_train(x, y, pool, c).predict(data.test_vectors))
            )
            progress.advance(task)
    return [
        {
            "variant": names[key],
            "key": key,
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "per_seed": values,
            "c_per_seed": chosen_c if key in ("lr", "lr_names", "lr_tfidf", "self_train") else None,
        }
        for key, values in per_variant.items()
    ]
