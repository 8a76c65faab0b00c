"""FAQ retrieval: a FAISS inner-product index over normalised embeddings of every published question
phrasing, saved with the model name, KB version and checksum so a stale or mismatched index is refused."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import faiss
import numpy as np

from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.readings import Hit
from assistant.errors import NotReady
from assistant.nlu.embeddings import Encoder

INDEX_FILE = "faq.faiss"
META_FILE = "faq.json"
INDEX_FORMAT = 1


class IndexMismatchError(NotReady, RuntimeError):
    """The saved index does not belong to this KB or model; rebuild it with `assistant index`."""


class Phrasing(NamedTuple):
    """One question phrasing of an entry (a tuple: a 50,000-phrasing KB makes them by the ten thousand per load)."""

    entry_id: str
    lang: str
    text: str


@dataclass(frozen=True)
class IndexMeta:
    format: int
    model: str
    kb_version: str
    checksum: str
    size: int
    built_at: float


def phrasings_of(kb: KnowledgeBase) -> list[Phrasing]:
    """Every question phrasing of every published entry, in a stable order."""
    return [
        Phrasing(entry.id, lang, question)
        for entry in kb.published()
        for lang, questions in sorted(entry.questions.items())
        for question in questions
    ]


class FaqIndex:
    def __init__(self, index: faiss.Index, phrasings: list[Phrasing], meta: IndexMeta) -> None:
        self.index = index
        self.phrasings = phrasings
        self.meta = meta

    @classmethod
    def build(cls, kb: KnowledgeBase, encoder: Encoder, show_progress: bool = False) -> FaqIndex:
        phrasings = phrasings_of(kb)
        vectors = encoder.encode([p.text for p in phrasings], show_progress_bar=show_progress)
        return cls.from_vectors(vectors, phrasings, encoder.name, kb.version)

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, phrasings: list[Phrasing], model: str, kb_version: str) -> FaqIndex:
        index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
        if len(phrasings):
            index.add_with_ids(vectors, np.arange(len(phrasings), dtype=np.int64))
        meta = IndexMeta(INDEX_FORMAT, model, kb_version, _checksum(phrasings), len(phrasings), time.time())
        return cls(index, phrasings, meta)

    def search(self, vectors: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """Per query, the best-scoring phrasing of each of the top entries, best first."""
        if self.index.ntotal == 0:
            return [[] for _ in range(len(vectors))]
        # Over-fetch phrasings: one entry has many, and we want k distinct entries.
        scores, ids = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(self.index.ntotal, k * 8))
        results = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            best: dict[str, Hit] = {}
            for score, idx in zip(row_scores, row_ids, strict=True):
                if idx < 0:
                    continue
                p = self.phrasings[idx]
                if p.entry_id not in best:
                    best[p.entry_id] = Hit(p.entry_id, float(score), p.lang, p.text)
                if len(best) >= k:
                    break
            results.append(list(best.values()))
        return results

    def save(self, directory: Path) -> None:
        """Write index and metadata atomically: readers never see half an index."""
        directory.mkdir(parents=True, exist_ok=True)
        payload = {"meta": asdict(self.meta), "phrasings": [p._asdict() for p in self.phrasings]}
        _atomic_write_index(directory / INDEX_FILE, self.index)
        _atomic_write(directory / META_FILE, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    @classmethod
    def load(cls, directory: Path, expected_model: str, expected_kb_version: str) -> FaqIndex:
        meta_path, index_path = directory / META_FILE, directory / INDEX_FILE
        if not meta_path.exists() or not index_path.exists():
            raise IndexMismatchError(f"no FAQ index in {directory}; build it with `assistant index`")
        payload = json.loads(meta_path.read_text(encoding="utf-8"))
        meta = IndexMeta(**payload["meta"])
        phrasings = [Phrasing(**p) for p in payload["phrasings"]]
        if meta.format != INDEX_FORMAT:
            raise IndexMismatchError(
                f"index in {directory} has format {meta.format}, expected {INDEX_FORMAT}; rebuild it"
            )
        if meta.model != expected_model:
            raise IndexMismatchError(
                f"index in {directory} was built with model {meta.model!r}, but {expected_model!r} is loaded; "
                "rebuild it"
            )
        if meta.kb_version != expected_kb_version:
            raise IndexMismatchError(
                f"index in {directory} is stale: built for KB version {meta.kb_version}, the KB is now "
                f"{expected_kb_version}; run `assistant index`"
            )
        if meta.checksum != _checksum(phrasings):
            raise IndexMismatchError(f"index metadata in {directory} is corrupt (checksum mismatch); rebuild it")
        index = faiss.read_index(str(index_path))
        if index.ntotal != meta.size:
            raise IndexMismatchError(f"index in {directory} holds {index.ntotal} vectors, metadata says {meta.size}")
        return cls(index, phrasings, meta)


def _checksum(phrasings: list[Phrasing]) -> str:
    digest = hashlib.sha256()
    for p in phrasings:
        digest.update(f"{p.entry_id}\x1f{p.lang}\x1f{p.text}\x1e".encode())
    return digest.hexdigest()[:16]


def _atomic_write_index(path: Path, index: faiss.Index) -> None:
    """faiss.write_index straight to the temporary file: no 200 MB copy through Python bytes."""
    _atomic_replace(path, lambda tmp: faiss.write_index(index, tmp))


def _atomic_write(path: Path, data: bytes) -> None:
    _atomic_replace(path, lambda tmp: Path(tmp).write_bytes(data))


def _atomic_replace(path: Path, write: Callable[[str], object]) -> None:
    """`write` fills a temporary file beside `path`, which then replaces it in one rename; a failure leaves no file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
