"""Versioned builds of the FAQ index and intent model for live re-indexing: each build is a numbered directory
with a KB snapshot, made incrementally (unchanged phrasings reuse their vectors), published by an atomic pointer.

Layout under <data_dir>/index/:  versions/<n>/ {kb.json (published snapshot), faq.faiss, faq.json, intent_model.pkl,
intent_model.json, embeddings.npy, embeddings.json, version.json}  and  current  (JSON: {"version": n, ...}),
replaced with os.replace so a reader sees the old pointer or the new one, never half of one. The legacy layout that
`assistant index` / `assistant train` write (<data_dir>/index/faq.*, <data_dir>/models/) is served while no
`current` pointer exists, and seeds the first version's vectors and model so it needs no re-encoding.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.embeddings import Encoder
from assistant.intent_model import IntentModel, ModelMismatchError, training_examples
from assistant.knowledge_base import KBEntry, KnowledgeBase
from assistant.nlu_data import load_nlu
from assistant.retrieval import INDEX_FILE, META_FILE, FaqIndex, IndexMismatchError, Phrasing, phrasings_of
from assistant.settings import Settings

POINTER_FILE = "current"
VERSIONS_DIR = "versions"
VERSION_FILE = "version.json"
KB_SNAPSHOT_FILE = "kb.json"
VECTORS_FILE = "embeddings.npy"
TEXTS_FILE = "embeddings.json"
LOCK_FILE = ".build.lock"


@dataclass(frozen=True)
class NearDuplicate:
    """Two phrasings of different entries that are (nearly) the same question."""

    entry_id: str
    text: str
    other_entry_id: str
    other_text: str
    similarity: float


@dataclass
class VersionInfo:
    version: int
    kb_version: str
    model: str
    built_at: float
    reason: str
    phrasings: int
    encoded: int
    reused: int
    retrained: bool
    training_checksum: str
    seconds: float
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Pointer:
    version: int
    kb_version: str
    switched_at: float


def index_root(settings: Settings) -> Path:
    return settings.index_dir


def version_dir(root: Path, version: int) -> Path:
    return root / VERSIONS_DIR / str(version)


def read_pointer(root: Path) -> Pointer | None:
    """The published version, or None when live re-indexing was never used (the legacy layout is served)."""
    try:
        data = json.loads((root / POINTER_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Pointer(int(data["version"]), str(data["kb_version"]), float(data["switched_at"]))


def write_pointer(root: Path, info: VersionInfo) -> Pointer:
    """Make `info`'s version the one every worker serves: one os.replace of a small file."""
    pointer = Pointer(info.version, info.kb_version, time.time())
    tmp = root / f".{POINTER_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(pointer)), encoding="utf-8")
    os.replace(tmp, root / POINTER_FILE)
    return pointer


def versions(root: Path) -> list[VersionInfo]:
    """Complete builds, oldest first (a directory without version.json is a build that did not finish)."""
    found = []
    for path in (root / VERSIONS_DIR).glob("*/" + VERSION_FILE) if (root / VERSIONS_DIR).exists() else []:
        found.append(VersionInfo(**json.loads(path.read_text(encoding="utf-8"))))
    return sorted(found, key=lambda v: v.version)


def version_info(root: Path, version: int) -> VersionInfo:
    path = version_dir(root, version) / VERSION_FILE
    if not path.exists():
        raise FileNotFoundError(f"index version {version} does not exist in {root / VERSIONS_DIR}")
    return VersionInfo(**json.loads(path.read_text(encoding="utf-8")))


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One build at a time per data directory (two publishes in a row queue up here, not race)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VectorCache:
    """Embeddings by exact text, from the previous version (and the legacy index): only new texts are encoded."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.vectors: dict[str, np.ndarray] = {}
        self.encoded = 0
        self.reused = 0

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self.vectors[_key(text)] = vector

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
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in self.vectors))
        if missing:
            self.add(missing, encoder.encode(missing))
        self.encoded += len(missing)
        self.reused += len(set(texts)) - len(missing)
        if not texts:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.stack([self.vectors[_key(t)] for t in texts]).astype(np.float32)

    def save(self, directory: Path, texts: Sequence[str]) -> None:
        """Keep the vectors of `texts` that were needed (encoded or reused) for the next build."""
        unique = [t for t in dict.fromkeys(texts) if _key(t) in self.vectors]
        rows = [self.vectors[_key(t)] for t in unique]
        matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        np.save(directory / VECTORS_FILE, matrix)
        (directory / TEXTS_FILE).write_text(json.dumps({"model": self.model, "texts": unique}, ensure_ascii=False))


def normalise_question(text: str) -> str:
    """Case, punctuation and spacing removed: what makes two phrasings the same question to a reader."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())


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
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    if rows:
        queries = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        scores, ids = index.search(queries, min(len(phrasings), 8))
    else:
        scores, ids = np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.int64)
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


def _training_checksum(texts: Sequence[str], labels: Sequence[str], settings: Settings) -> str:
    digest = hashlib.sha256()
    models = settings.models
    digest.update(
        json.dumps(
            [settings.policy.target_precision, models.calibration_folds, models.holdout_share, models.random_seed]
        ).encode()
    )
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\x1f{text}\x1e".encode())
    return digest.hexdigest()[:16]


def build_version(settings: Settings, kb: KnowledgeBase, encoder: Encoder, reason: str = "") -> VersionInfo:
    """Build the next version from `kb` and publish it (pointer switch last). The intent model is retrained
    only when the training examples changed (a new entry or phrasing); an answer-only edit reuses it."""
    started = time.perf_counter()
    root = index_root(settings)
    with build_lock(root):
        existing = versions(root)
        try:
            previous = read_pointer(root)
        except (ValueError, KeyError, TypeError):  # a damaged pointer: the next build replaces it
            previous = None
        if previous is None and existing:  # reuse the newest build's vectors and model all the same
            previous = Pointer(existing[-1].version, existing[-1].kb_version, existing[-1].built_at)
        number = max([v.version for v in existing] + [previous.version if previous else 0]) + 1
        target = version_dir(root, number)
        if target.exists():  # a build that crashed before writing version.json
            shutil.rmtree(target)
        staging = root / VERSIONS_DIR / f".{number}.building"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)

        cache = VectorCache(encoder.name)
        previous_model: IntentModel | None = None
        previous_checksum = None
        if previous is not None:
            cache.load_version(version_dir(root, previous.version))
            info = version_info(root, previous.version)
            previous_checksum = info.training_checksum
            previous_model = _load_model(version_dir(root, previous.version), encoder.name, info.kb_version)
        else:
            cache.load_legacy_index(root)

        published = KnowledgeBase([_published_copy(e) for e in kb.published()])
        phrasings = phrasings_of(published)
        phrasing_vectors = cache.encode([p.text for p in phrasings], encoder)
        before = _phrasing_keys(version_dir(root, previous.version)) if previous is not None else None
        added = None if before is None else [i for i, p in enumerate(phrasings) if (p.entry_id, p.text) not in before]
        index = FaqIndex.from_vectors(phrasing_vectors, phrasings, encoder.name, published.version)

        texts, labels, _conflicts = training_examples(published, load_nlu(settings.nlu_file))
        checksum = _training_checksum(texts, labels, settings)
        if previous is None and previous_model is None:
            # First version: the legacy model is reusable when it was trained for exactly this KB.
            previous_model = _load_model(settings.models_dir, encoder.name, published.version)
            previous_checksum = checksum if previous_model is not None else None
        retrained = previous_model is None or previous_checksum != checksum
        if retrained:
            models = settings.models
            intents, _ = IntentModel.train_on_vectors(
                cache.encode(texts, encoder),
                labels,
                encoder.name,
                published.version,
                settings.policy.target_precision,
                folds=models.calibration_folds,
                holdout_share=models.holdout_share,
                seed=models.random_seed,
            )
        else:
            assert previous_model is not None
            intents = previous_model
            # Same classes, same examples: only the answers changed, which the policy reads from the KB.
            intents.report.kb_version = published.version

        duplicates = find_near_duplicates(
            phrasings, phrasing_vectors, settings.live_index.near_duplicate_similarity, only=added
        )
        # JSON, not YAML: at 10,000 entries the YAML dumper alone would take seconds of every publish.
        snapshot = [entry.to_yaml_dict() for entry in published.entries]
        (staging / KB_SNAPSHOT_FILE).write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
        index.save(staging)
        intents.save(staging)
        cache.save(staging, [p.text for p in phrasings] + list(texts))
        info = VersionInfo(
            version=number,
            kb_version=published.version,
            model=encoder.name,
            built_at=time.time(),
            reason=reason,
            phrasings=len(phrasings),
            encoded=cache.encoded,
            reused=cache.reused,
            retrained=retrained,
            training_checksum=checksum,
            seconds=0.0,
            near_duplicates=[asdict(d) for d in duplicates],
        )
        info.seconds = round(time.perf_counter() - started, 3)
        (staging / VERSION_FILE).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2))
        os.replace(staging, target)
        write_pointer(root, info)
        prune(root, settings.live_index.keep_versions)
        return info


def _phrasing_keys(directory: Path) -> set[tuple[str, str]] | None:
    """(entry, text) of every phrasing of a version; None when unreadable (then everything counts as new)."""
    try:
        payload = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {(p["entry_id"], p["text"]) for p in payload["phrasings"]}


def _published_copy(entry: KBEntry) -> KBEntry:
    return KBEntry(entry.id, entry.questions, entry.answers, list(entry.tags), "published")


def _load_model(directory: Path, model: str, kb_version: str) -> IntentModel | None:
    try:
        return IntentModel.load(directory, model, kb_version)
    except (ModelMismatchError, FileNotFoundError, OSError):
        return None


def rollback(root: Path, to: int | None = None) -> Pointer:
    """Point `current` back at version `to` (default: the newest complete version older than the current one)."""
    with build_lock(root):
        current = read_pointer(root)
        if to is None:
            older = [v.version for v in versions(root) if current is None or v.version < current.version]
            if not older:
                raise FileNotFoundError("no older index version to roll back to")
            to = older[-1]
        return write_pointer(root, version_info(root, to))


def prune(root: Path, keep: int) -> list[int]:
    """Delete all but the newest `keep` versions; the current one is always kept."""
    current = read_pointer(root)
    numbers = [v.version for v in versions(root)]
    doomed = [n for n in numbers[:-keep] if current is None or n != current.version]
    for number in doomed:
        shutil.rmtree(version_dir(root, number), ignore_errors=True)
    return doomed


@dataclass
class VersionAssets:
    """What a worker loads for one version; the engine is assembled from it with the process's signal models."""

    version: int
    kb: KnowledgeBase
    index: FaqIndex
    intents: IntentModel


def load_version(root: Path, version: int, model: str) -> VersionAssets:
    directory = version_dir(root, version)
    if not (directory / VERSION_FILE).exists():
        raise IndexMismatchError(f"index version {version} is missing or incomplete in {directory}")
    kb = KnowledgeBase([KBEntry(**raw) for raw in json.loads((directory / KB_SNAPSHOT_FILE).read_text("utf-8"))])
    index = FaqIndex.load(directory, model, kb.version)
    intents = IntentModel.load(directory, model, kb.version)
    return VersionAssets(version, kb, index, intents)
