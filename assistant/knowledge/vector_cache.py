"""The phrasing vectors a version keeps (embeddings.npy + embeddings.json) so the next build encodes only the texts
that are new; a data folder in the legacy layout lends its FAISS index's vectors the same way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from assistant.knowledge.retrieval import INDEX_FILE, META_FILE
from assistant.nlu.embeddings import Encoder

VECTORS_FILE = "embeddings.npy"
TEXTS_FILE = "embeddings.json"


class VectorCache:
    """Embeddings by exact text, from the previous version (and the legacy index): only new texts are encoded.
    One matrix plus a text → row map, so a 50,000-phrasing KB is gathered by one fancy index, not 50,000 stacks."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.rows: dict[str, int] = {}
        self._blocks: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None
        self.encoded = 0
        self.reused = 0

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        start = len(self.rows)
        fresh = [text for text in dict.fromkeys(texts) if text not in self.rows]
        if len(fresh) != len(texts):  # keep only the first vector of each text not seen yet
            first = {text: i for i, text in reversed(list(enumerate(texts)))}
            vectors = vectors[[first[text] for text in fresh]]
        for offset, text in enumerate(fresh):
            self.rows[text] = start + offset
        if fresh:
            self._blocks.append(np.asarray(vectors, dtype=np.float32))
            self._matrix = None

    def matrix(self) -> np.ndarray:
        if self._matrix is None:
            self._matrix = np.concatenate(self._blocks) if self._blocks else np.zeros((0, 0), dtype=np.float32)
            self._blocks = [self._matrix] if len(self._matrix) else []
        return self._matrix

    def load_version(self, directory: Path) -> None:
        texts_path, vectors_path = directory / TEXTS_FILE, directory / VECTORS_FILE
        if texts_path.exists() and vectors_path.exists():
            data = json.loads(texts_path.read_text(encoding="utf-8"))
            if data.get("model") == self.model and data["texts"]:
                self.add(data["texts"], np.load(vectors_path))

    def load_legacy_index(self, directory: Path) -> None:
        meta_path, index_path = directory / META_FILE, directory / INDEX_FILE
        if not meta_path.exists() or not index_path.exists():
            return
        payload = json.loads(meta_path.read_text(encoding="utf-8"))
        if payload["meta"]["model"] != self.model:
            return
        index = faiss.deserialize_index(np.frombuffer(index_path.read_bytes(), dtype=np.uint8))
        flat = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
        if flat.ntotal != len(payload["phrasings"]):
            return
        self.add([p["text"] for p in payload["phrasings"]], flat.reconstruct_n(0, flat.ntotal))

    def encode(self, texts: Sequence[str], encoder: Encoder) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.rows))
        if missing:
            self.add(missing, encoder.encode(missing))
        self.encoded += len(missing)
        self.reused += len(set(texts)) - len(missing)
        if not texts:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return self.matrix()[[self.rows[t] for t in texts]]

    def save(self, directory: Path, texts: Sequence[str]) -> None:
        """Keep the vectors of `texts` that were needed (encoded or reused) for the next build."""
        unique = [t for t in dict.fromkeys(texts) if t in self.rows]
        matrix = self.matrix()[[self.rows[t] for t in unique]] if unique else np.zeros((0, 0), dtype=np.float32)
        np.save(directory / VECTORS_FILE, matrix)
        (directory / TEXTS_FILE).write_text(json.dumps({"model": self.model, "texts": unique}, ensure_ascii=False))
