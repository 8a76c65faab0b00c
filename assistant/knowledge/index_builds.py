"""Building the next version of the FAQ index and intent model, and publishing it by switching the pointer.

A build is incremental: unchanged phrasings reuse their vectors from the previous version, an answer-only edit
reuses the intent model, new examples extend a neighbours matcher under its calibration. The layout it writes and
the pointer it switches are `assistant.knowledge.index_versions`'; the first build of a legacy folder seeds itself
from the legacy files and deletes them (see `assistant.knowledge.index_migration`)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from assistant.domain.kb_entries import KBEntry, KnowledgeBase, version_of_snapshot
from assistant.knowledge.index_versions import (
    KB_SNAPSHOT_FILE,
    VERSION_FILE,
    VERSIONS_DIR,
    Pointer,
    VersionInfo,
    build_lock,
    gc_paused,
    index_root,
    legacy_files,
    prune,
    read_pointer,
    version_dir,
    version_info,
    versions,
    write_pointer,
)
from assistant.knowledge.near_duplicates import find_near_duplicates
from assistant.knowledge.retrieval import META_FILE, FaqIndex, phrasings_of
from assistant.knowledge.vector_cache import VectorCache
from assistant.nlu.embeddings import Encoder
from assistant.nlu.intent_model import IntentModel, ModelMismatchError, matcher_for, training_set
from assistant.nlu.intent_training import train_as_configured, training_checksum
from assistant.nlu.nlu_data import load_nlu
from assistant.settings import Settings


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
        return build_locked(settings, kb, encoder, reason, recalibrate, kb_source)


def build_locked(
    settings: Settings, kb: KnowledgeBase, encoder: Encoder, reason: str, recalibrate: bool, kb_source: str
) -> VersionInfo:
    """Build and publish the next version; the caller holds `build_lock` (and pauses the collector)."""
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
    for path in legacy_files(settings):
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
