"""The BANKING77 data for the evaluation sections: train and test questions with their intents and (cached) USE
embeddings, read once by the intent-accuracy section and by the FAQ and held-out sections built on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.evaluation.common import EvalContext, read_csv


@dataclass(frozen=True)
class Banking77:
    train_texts: list[str]
    train_labels: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray
    train_vectors: np.ndarray
    test_vectors: np.ndarray


def load_banking77(ctx: EvalContext) -> Banking77:
    """Train and test rows with their (cached) embeddings; quick mode keeps a stratified-ish random subset."""
    train = ctx.sample(read_csv(ctx.data_file("banking77", "train.csv")), 1000, seed_offset=1)
    test = ctx.sample(read_csv(ctx.data_file("banking77", "test.csv")), 600, seed_offset=2)
    train_texts = [row["text"] for row in train]
    test_texts = [row["text"] for row in test]
    return Banking77(
        train_texts=train_texts,
        train_labels=np.array([row["category"] for row in train]),
        test_texts=test_texts,
        test_labels=np.array([row["category"] for row in test]),
        train_vectors=ctx.embed(train_texts, "banking77-train"),
        test_vectors=ctx.embed(test_texts, "banking77-test"),
    )
