"""The intent model trained as the settings say: the one place that maps `models.*` and `policy.*` onto
`IntentModel.train_on_vectors`, for `assistant train`, the live-index publish and the evaluation sections alike,
so an evaluation measures what the product ships."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

import numpy as np

from assistant.nlu.calibration import OutOfFold
from assistant.nlu.intent_model import IntentModel, TrainingSet, matcher_for
from assistant.settings import ModelConfig, PolicyConfig


def train_as_configured(
    vectors: np.ndarray,
    found: TrainingSet,
    model_name: str,
    kb_version: str,
    models: ModelConfig,
    policy: PolicyConfig,
    matcher: str | None = None,
) -> tuple[IntentModel, OutOfFold]:
    """Calibrated intent model over `found` (its vectors in the same order); `matcher` overrides `models.matcher`."""
    chosen = matcher or matcher_for(models.matcher, len(set(found.labels)), models.neighbours_from_classes)
    started = time.perf_counter()
    model, out_of_fold = IntentModel.train_on_vectors(
        vectors,
        found.labels,
        model_name,
        kb_version,
        policy.target_precision,
        folds=models.calibration_folds,
        holdout_share=models.holdout_share,
        seed=models.random_seed,
        matcher=chosen,
        calibration_rows=models.calibration_rows,
        languages=found.languages,
        out_of_scope_share=policy.out_of_scope_share,
    )
    model.report.warnings.extend(found.conflicts)  # the report `assistant train` prints
    model.report.seconds = time.perf_counter() - started
    return model, out_of_fold


def training_checksum(texts: Sequence[str], labels: Sequence[str], models: ModelConfig, policy: PolicyConfig) -> str:
    """What a trained model depends on (examples and training settings): equal checksums, the model is reusable."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [policy.target_precision, models.calibration_folds, models.holdout_share, models.random_seed]
        ).encode()
    )
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\x1f{text}\x1e".encode())
    return digest.hexdigest()[:16]
