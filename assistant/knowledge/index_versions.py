"""Versioned builds of the FAQ index and intent model on disk: the layout, the pointer that says which version is
served, and what reads them (listing, loading, rollback, pruning). Each build is a numbered directory with a KB
snapshot, published by an atomic pointer switch; `assistant.knowledge.index_builds` makes them (`assistant index`,
`assistant train`, `assistant live-index publish`, the `ca.reindex_kb` task).

Layout under <data_dir>/index/:  versions/<n>/ {kb.json (published snapshot), faq.faiss, faq.json, intent_model.pkl,
intent_model.json, embeddings.npy, embeddings.json, version.json}  and  current  (JSON: {"version": n, ...}),
replaced with os.replace so a reader sees the old pointer or the new one, never half of one. The signal models stay
in <data_dir>/models/. A folder in the legacy layout (index/faq.*, models/intent_model.*, no pointer) is migrated
by its first build (`assistant.knowledge.index_migration`).
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.domain.kb_entries import KBEntry, KnowledgeBase, version_of_snapshot
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.knowledge.retrieval import INDEX_FILE, META_FILE, FaqIndex, IndexMismatchError
from assistant.nlu.intent_model import MODEL_FILE, REPORT_FILE, IntentModel
from assistant.settings import Settings

POINTER_FILE = "current"
VERSIONS_DIR = "versions"
VERSION_FILE = "version.json"
KB_SNAPSHOT_FILE = "kb.json"
LOCK_FILE = ".build.lock"


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


def refuse_stale(settings: Settings, pointer: Pointer) -> None:
    """A version built from the KB folder must still match it (the command line and the tests answer from the
    folder they are given): an IndexMismatchError with what to run when the folder was edited since."""
    built = version_info(index_root(settings), pointer.version)
    if built.kb_source == "yaml" and (folder := load_knowledge_base(settings.kb_dir).version) != built.kb_version:
        raise IndexMismatchError(
            f"index version {built.version} is stale: built for KB version {built.kb_version}, the KB folder is "
            f"now {folder}; run `assistant index` (or `assistant train`)"
        )


def legacy_files(settings: Settings) -> list[Path]:
    """The files of the legacy layout still in the data folder (the signal models are not among them)."""
    candidates = [settings.index_dir / INDEX_FILE, settings.index_dir / META_FILE]
    candidates += [settings.models_dir / MODEL_FILE, settings.models_dir / REPORT_FILE]
    return [path for path in candidates if path.exists()]


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
