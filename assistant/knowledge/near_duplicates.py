"""Near duplicates across KB entries: phrasings of different entries that are (nearly) the same question, by
text after case and punctuation are removed or by embedding cosine. A build lists those it adds (`version.json`,
`assistant live-index publish`); the editor warns about them before publishing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from assistant.knowledge.retrieval import FaqIndex, Phrasing
from assistant.nlu.embeddings import Encoder

# Above this many phrasings the all-pairs near-duplicate check of a first build is approximate (inverted file).
EXACT_DUPLICATE_SEARCH = 20_000


@dataclass(frozen=True)
class NearDuplicate:
    """Two phrasings of different entries that are (nearly) the same question."""

    entry_id: str
    text: str
    other_entry_id: str
    other_text: str
    similarity: float


_NOT_WORD = re.compile(r"[\W_]+")


def normalise_question(text: str) -> str:
    """Case, punctuation and spacing removed: what makes two phrasings the same question to a reader."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def find_near_duplicates(
    phrasings: Sequence[Phrasing],
    vectors: np.ndarray,
    threshold: float,
    limit: int = 200,
    only: Sequence[int] | None = None,
) -> list[NearDuplicate]:
    """Pairs of phrasings of DIFFERENT entries with cosine ≥ threshold, most similar first (each pair once).
    With `only`, just the pairs that involve those phrasings (a publish checks what it added, not all n² again)."""
    if len(phrasings) < 2:
        return []
    rows = list(range(len(phrasings))) if only is None else list(only)
    scores, ids = _nearest(np.ascontiguousarray(vectors, dtype=np.float32), rows, min(len(phrasings), 8))
    wanted = set(rows)
    pairs: dict[tuple[int, int], float] = {}
    # The embedding model is case- and punctuation-sensitive ("Opening hours?" vs "opening hours" ≈ 0.85), so
    # texts equal after normalising are duplicates whatever their cosine.
    by_text: dict[str, list[int]] = {}
    for i, p in enumerate(phrasings):
        by_text.setdefault(normalise_question(p.text), []).append(i)
    for same in by_text.values():
        for a in same:
            for b in same:
                if a < b and phrasings[a].entry_id != phrasings[b].entry_id and (a in wanted or b in wanted):
                    pairs[(a, b)] = 1.0
    for i, row_scores, row_ids in zip(rows, scores, ids, strict=True):
        for score, j in zip(row_scores, row_ids, strict=True):
            if j < 0 or j == i or score < threshold or phrasings[i].entry_id == phrasings[int(j)].entry_id:
                continue
            pairs.setdefault((min(i, int(j)), max(i, int(j))), float(score))
    ordered = sorted(pairs.items(), key=lambda item: -item[1])[:limit]
    return [
        NearDuplicate(phrasings[a].entry_id, phrasings[a].text, phrasings[b].entry_id, phrasings[b].text, score)
        for (a, b), score in ordered
    ]


def _nearest(vectors: np.ndarray, rows: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar vectors to each of `rows`: a product with the matrix for the few rows a publish adds
    (copying 50,000 vectors into an index would cost more than the search), a FAISS index for a full check."""
    if not rows:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    if len(rows) <= 256:
        sims = vectors[rows] @ vectors.T
        ids = (
            np.argpartition(-sims, k - 1, axis=1)[:, :k]
            if k < sims.shape[1]
            else np.tile(np.arange(sims.shape[1]), (len(rows), 1))
        )
        order = np.argsort(-np.take_along_axis(sims, ids, axis=1), axis=1)
        ids = np.take_along_axis(ids, order, axis=1)
        return np.take_along_axis(sims, ids, axis=1), ids
    if len(vectors) <= EXACT_DUPLICATE_SEARCH:
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        return exact.search(np.ascontiguousarray(vectors[rows]), k)
    # All pairs of 50,000 phrasings exactly is 20 s of a first build. Near duplicates (cosine ≥ 0.9) sit in the
    # same or a neighbouring k-means cell, so an inverted file probing 8 of √n cells finds them in a second.
    cells = int(np.sqrt(len(vectors)))
    quantizer = faiss.IndexFlatIP(vectors.shape[1])  # must outlive the inverted file, which only points at it
    inverted = faiss.IndexIVFFlat(quantizer, vectors.shape[1], cells, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(len(vectors), size=min(len(vectors), cells * 40), replace=False)
    inverted.train(vectors[sample])
    inverted.add(vectors)
    inverted.nprobe = 8
    scores, ids = inverted.search(np.ascontiguousarray(vectors[rows]), k)
    return scores, ids


def near_duplicates_of(
    entry_id: str, questions: dict[str, list[str]], index: FaqIndex, encoder: Encoder, threshold: float
) -> list[NearDuplicate]:
    """Before publishing: the served index's phrasings of OTHER entries that an entry's questions nearly repeat."""
    texts = [q for qs in questions.values() for q in qs if q.strip()]
    if not texts:
        return []
    found: list[NearDuplicate] = []
    wanted = {normalise_question(t): t for t in texts}
    for p in index.phrasings:
        if p.entry_id != entry_id and normalise_question(p.text) in wanted:
            found.append(NearDuplicate(entry_id, wanted[normalise_question(p.text)], p.entry_id, p.text, 1.0))
    for text, hits in zip(texts, index.search(encoder.encode(texts), k=5), strict=True):
        found += [
            NearDuplicate(entry_id, text, hit.entry_id, hit.text, hit.score)
            for hit in hits
            if hit.entry_id != entry_id and hit.score >= threshold
        ]
    unique = {(d.text, d.other_entry_id, d.other_text): d for d in sorted(found, key=lambda d: d.similarity)}
    return sorted(unique.values(), key=lambda d: -d.similarity)
