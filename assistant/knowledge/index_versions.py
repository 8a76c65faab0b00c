"""Versioned builds of the FAQ index and intent model: each build is a numbered directory with a KB snapshot, made
incrementally (unchanged phrasings reuse their vectors), published by an atomic pointer. Every build makes one:
`assistant index`, `assistant train`, `assistant live-index publish`, the `ca.reindex_kb` task.

Layout under <data_dir>/index/:  versions/<n>/ {kb.json (published snapshot), faq.faiss, faq.json, intent_model.pkl,
intent_model.json, embeddings.npy, embeddings.json, version.json}  and  current  (JSON: {"version": n, ...}),
replaced with os.replace so a reader sees the old pointer or the new one, never half of one. The signal models stay
in <data_dir>/models/. A folder in the legacy layout (index/faq.*, models/intent_model.*, no pointer) is migrated
by its first build, which seeds itself from those files and deletes them; `published_pointer`, which every loader
calls, makes that build from the KB folder the first time anything loads the folder.
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.domain.kb_entries import KBEntry, KnowledgeBase, version_of_snapshot
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.knowledge.near_duplicates import find_near_duplicates
from assistant.knowledge.retrieval import INDEX_FILE, META_FILE, FaqIndex, IndexMismatchError, phrasings_of
from assistant.knowledge.vector_cache import VectorCache
from assistant.nlu.embeddings import Encoder
from assistant.nlu.intent_model import (
    MODEL_FILE,
    REPORT_FILE,
    IntentModel,
    ModelMismatchError,
    matcher_for,
    training_set,
)
from assistant.nlu.intent_training import train_as_configured, training_checksum
from assistant.nlu.nlu_data import load_nlu
from assistant.settings import Settings

POINTER_FILE = "current"
VERSIONS_DIR = "versions"
VERSION_FILE = "version.json"
KB_SNAPSHOT_FILE = "kb.json"
LOCK_FILE = ".build.lock"
MIGRATION_REASON = "migrated from the legacy layout"

log = logging.getLogger("community_assistant.index_versions")


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
    # Where the KB came from: "yaml" (the KB folder), "db" (the editor's database), "" (not recorded).
    kb_source: str = ""


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
    """The published version, or None when nothing was ever built here (or the folder is in the legacy layout)."""
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


def build_version(
    settings: Settings,
    kb: KnowledgeBase,
    encoder: Encoder,
    reason: str = "",
    recalibrate: bool = False,
    kb_source: str = "",
) -> VersionInfo:
    """Build the next version from `kb` and publish it (pointer switch last). An answer-only edit reuses the
    intent model; new examples extend a neighbours matcher under its calibration (seconds, whatever the KB's size)
    and retrain a logistic one. `recalibrate` forces training and calibration from scratch."""
    with build_lock(index_root(settings)), gc_paused():
        return _build_locked(settings, kb, encoder, reason, recalibrate, kb_source)


def published_pointer(settings: Settings, encoder: Encoder) -> Pointer:
    """The version to serve, for every loader. A data folder still in the legacy layout becomes version 1 here
    (built from the KB folder, seeded from the legacy files, which are then deleted); nothing built at all is a
    NotReady with what to run."""
    root = index_root(settings)
    pointer = read_pointer(root)
    if pointer is not None:
        return pointer
    if not _legacy_files(settings):
        raise IndexMismatchError(f"no index version is published in {root}; build one with `assistant train`")
    with build_lock(root), gc_paused():
        if (pointer := read_pointer(root)) is None:  # not migrated meanwhile by another process
            kb = load_knowledge_base(settings.kb_dir)
            info = _build_locked(settings, kb, encoder, MIGRATION_REASON, False, "yaml")
            log.info("migrated the legacy index of %s to version %s (%s encoded)", root, info.version, info.encoded)
            pointer = read_pointer(root)
    assert pointer is not None
    return pointer


def refuse_stale(settings: Settings, pointer: Pointer) -> None:
    """A version built from the KB folder must still match it (the command line and the tests answer from the
    folder they are given): an IndexMismatchError with what to run when the folder was edited since."""
    built = version_info(index_root(settings), pointer.version)
    if built.kb_source == "yaml" and (folder := load_knowledge_base(settings.kb_dir).version) != built.kb_version:
        raise IndexMismatchError(
            f"index version {built.version} is stale: built for KB version {built.kb_version}, the KB folder is "
            f"now {folder}; run `assistant index` (or `assistant train`)"
        )


def _legacy_files(settings: Settings) -> list[Path]:
    """The files of the legacy layout still in the data folder (the signal models are not among them)."""
    candidates = [settings.index_dir / INDEX_FILE, settings.index_dir / META_FILE]
    candidates += [settings.models_dir / MODEL_FILE, settings.models_dir / REPORT_FILE]
    return [path for path in candidates if path.exists()]


def _build_locked(
    settings: Settings, kb: KnowledgeBase, encoder: Encoder, reason: str, recalibrate: bool, kb_source: str
) -> VersionInfo:
    started = time.perf_counter()
    root = index_root(settings)
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
    checksum = training_checksum(texts, labels, settings.models, settings.policy)
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
        kb_source=kb_source,
    )
    info.seconds = round(time.perf_counter() - started, 3)
    (staging / VERSION_FILE).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2))
    os.replace(staging, target)
    write_pointer(root, info)
    # Whatever seeded this build, the legacy files are never read again.
    for path in _legacy_files(settings):
        path.unlink(missing_ok=True)
    prune(root, settings.live_index.keep_versions)
    return info


def publish_version(
    settings: Settings,
    kb: KnowledgeBase,
    encoder: Encoder,
    reason: str = "",
    recalibrate: bool = False,
    published: Callable[[VersionInfo], None] = lambda _info: None,
    kb_source: str = "",
) -> VersionInfo:
    """Build and serve the next version; when that quick build says the matcher's calibration is due, build and
    serve a recalibrated one after it. `published` is told of each version once its pointer is switched."""
    info = build_version(settings, kb, encoder, reason, recalibrate, kb_source)
    published(info)
    if info.recalibrate_due:
        info = build_version(settings, kb, encoder, f"{reason} (recalibration)", True, kb_source)
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
