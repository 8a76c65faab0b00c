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
import gc
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.embeddings import Encoder
from assistant.intent_model import IntentModel, ModelMismatchError, matcher_for, training_set
from assistant.intent_training import train_as_configured
from assistant.knowledge_base import KBEntry, KnowledgeBase, version_of_snapshot
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
    # How the matcher was made: "trained" (and calibrated), "reused" (same examples), "extended" (a neighbours
    # matcher given the new examples under the previous calibration).
    matcher_update: str = ""
    # An extended matcher whose examples moved past `models.recalibrate_share`: a recalibrated build follows.
    recalibrate_due: bool = False


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
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a version is built or loaded: those make and drop ~100,000 small objects
    at 10,000 entries, and each collection pass walks every live object (measured: 0.8 s of a 4 s publish)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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


def build_version(
    settings: Settings, kb: KnowledgeBase, encoder: Encoder, reason: str = "", recalibrate: bool = False
) -> VersionInfo:
    """Build the next version from `kb` and publish it (pointer switch last). An answer-only edit reuses the
    intent model; new examples extend a neighbours matcher under its calibration (seconds, whatever the KB's size)
    and retrain a logistic one. `recalibrate` forces training and calibration from scratch."""
    started = time.perf_counter()
    root = index_root(settings)
    with build_lock(root), gc_paused():
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
        # The snapshot is the canonical JSON whose checksum is the KB version: one serialisation serves both.
        snapshot = published.published_snapshot()
        kb_version = version_of_snapshot(snapshot)
        phrasings = phrasings_of(published)
        phrasing_vectors = cache.encode([p.text for p in phrasings], encoder)
        before = _phrasing_keys(version_dir(root, previous.version)) if previous is not None else None
        added = None if before is None else [i for i, p in enumerate(phrasings) if (p.entry_id, p.text) not in before]
        index = FaqIndex.from_vectors(phrasing_vectors, phrasings, encoder.name, kb_version)

        found = training_set(published, load_nlu(settings.nlu_file))
        texts, labels = found.texts, found.labels
        checksum = _training_checksum(texts, labels, settings)
        if previous is None and previous_model is None:
            # First version: the legacy model is reusable when it was trained for exactly this KB.
            previous_model = _load_model(settings.models_dir, encoder.name, kb_version)
            previous_checksum = checksum if previous_model is not None else None
        models = settings.models
        matcher = matcher_for(models.matcher, len(set(labels)), models.neighbours_from_classes)
        recalibrate_due = False
        same_matcher = previous_model is not None and previous_model.report.matcher == matcher
        if same_matcher and previous_checksum == checksum and not recalibrate:
            update = "reused"
            assert previous_model is not None
            intents = previous_model
            # Same classes, same examples: only the answers changed, which the policy reads from the KB.
            intents.report.kb_version = kb_version
        elif (
            previous_model is not None
            and same_matcher
            and not recalibrate
            and previous_model.takes_examples_without_training
            and previous_model.report.target_precision == settings.policy.target_precision
            and previous_model.report.out_of_scope_share == settings.policy.out_of_scope_share
        ):
            update = "extended"
            intents = previous_model.with_examples(cache.encode(texts, encoder), list(labels), kb_version)
            recalibrate_due = intents.calibration_drift(len(labels)) > models.recalibrate_share
        else:
            update = "trained"
            intents, _ = train_as_configured(
                cache.encode(texts, encoder), found, encoder.name, kb_version, models, settings.policy, matcher
            )
        retrained = update == "trained"

        duplicates = find_near_duplicates(
            phrasings, phrasing_vectors, settings.live_index.near_duplicate_similarity, only=added
        )
        # JSON, not YAML: at 10,000 entries the YAML dumper alone would take seconds of every publish.
        (staging / KB_SNAPSHOT_FILE).write_text(snapshot, encoding="utf-8")
        index.save(staging)
        intents.save(staging)
        cache.save(staging, [p.text for p in phrasings] + list(texts))
        info = VersionInfo(
            version=number,
            kb_version=kb_version,
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
            matcher_update=update,
            recalibrate_due=recalibrate_due,
        )
        info.seconds = round(time.perf_counter() - started, 3)
        (staging / VERSION_FILE).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2))
        os.replace(staging, target)
        write_pointer(root, info)
        prune(root, settings.live_index.keep_versions)
        return info


def publish_version(
    settings: Settings,
    kb: KnowledgeBase,
    encoder: Encoder,
    reason: str = "",
    recalibrate: bool = False,
    published: Callable[[VersionInfo], None] = lambda _info: None,
) -> VersionInfo:
    """Build and serve the next version; when that quick build says the matcher's calibration is due, build and
    serve a recalibrated one after it. `published` is told of each version once its pointer is switched."""
    info = build_version(settings, kb, encoder, reason, recalibrate=recalibrate)
    published(info)
    if info.recalibrate_due:
        info = build_version(settings, kb, encoder, f"{reason} (recalibration)", recalibrate=True)
        published(info)
    return info


def _phrasing_keys(directory: Path) -> set[tuple[str, str]] | None:
    """(entry, text) of every phrasing of a version; None when unreadable (then everything counts as new)."""
    try:
        payload = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {(p["entry_id"], p["text"]) for p in payload["phrasings"]}


def _published_copy(entry: KBEntry) -> KBEntry:
    return KBEntry(entry.id, entry.questions, entry.answers, list(entry.tags), "published", label=entry.label)


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
    with gc_paused():
        return _load_version(root, version, model)


def _load_version(root: Path, version: int, model: str) -> VersionAssets:
    directory = version_dir(root, version)
    if not (directory / VERSION_FILE).exists():
        raise IndexMismatchError(f"index version {version} is missing or incomplete in {directory}")
    snapshot = (directory / KB_SNAPSHOT_FILE).read_text("utf-8")
    kb = KnowledgeBase([KBEntry(**raw) for raw in json.loads(snapshot)])
    # Written canonically by build_version, so its checksum is the KB's version without re-serialising 10,000
    # entries; a version built before snapshots were canonical is checked the slow way.
    kb_version = version_of_snapshot(snapshot)
    if kb_version != version_info(root, version).kb_version:
        kb_version = kb.version
    index = FaqIndex.load(directory, model, kb_version)
    intents = IntentModel.load(directory, model, kb_version)
    intents.classifier.ready()  # here, while the old engine still serves, not on the first message after the swap
    return VersionAssets(version, kb, index, intents)
