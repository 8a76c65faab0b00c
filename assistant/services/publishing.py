"""Publishing the KB to the answer engine: which KB gets indexed (the editor's database or the KB folder), building
and serving the next index version, rolling the served version back, and what the readiness probe reports. The
callers (`assistant live-index`, the `ca.reindex_kb` task) pass the settings, the editor's database, the encoder
and what to do once a version is live (refresh their engine, print a line)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine

from assistant.domain.kb_entries import KnowledgeBase
from assistant.knowledge.index_builds import publish_version
from assistant.knowledge.index_versions import VERSION_FILE, Pointer, VersionInfo, read_pointer, rollback, version_dir
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.nlu.embeddings import Encoder
from assistant.settings import Settings

log = logging.getLogger("community_assistant.kb_publish")

# Told of each version once its pointer is switched (a publish may serve a recalibrated one right after).
SwapIn = Callable[[VersionInfo], object]


def published_kb(settings: Settings, source: str = "auto", database: Engine | None = None) -> KnowledgeBase:
    """The KB to index: `db` (the editor's published entries), `yaml` (the KB folder), or `auto` — the database
    once any entry in it was ever published (the team edits in the console; archiving everything then really
    empties the KB), else the YAML folder (a YAML-only team, perhaps with a few drafts from the gap report)."""
    return _chosen_kb(settings, source, database)[0]


def _chosen_kb(settings: Settings, source: str, database: Engine | None) -> tuple[KnowledgeBase, str]:
    """The KB to index and where it came from ("db" or "yaml")."""
    if source != "yaml":
        from assistant.services.kb_source import editor_store

        store = editor_store(settings, database)  # a fresh install's first re-index imports the KB folder first
        records, _ = store.search(None, None, limit=1_000_000)
        if source == "db" or any(record.is_live or record.status == "archived" for record in records):
            return store.published_kb(), "db"
    return load_knowledge_base(settings.kb_dir), "yaml"


def reindex(
    settings: Settings,
    encoder: Encoder,
    reason: str,
    swap_in: SwapIn,
    database: Engine | None = None,
    source: str = "auto",
    recalibrate: bool = False,
) -> VersionInfo:
    """Build and publish the next version of the published KB; `swap_in` is told of it at once (the caller's
    engine swaps, other processes notice the pointer). When the fast build says the matcher's calibration is due,
    a recalibrated version follows it."""
    kb, chosen = _chosen_kb(settings, source, database)

    def published(info: VersionInfo) -> None:
        _log_version(info)
        swap_in(info)

    return publish_version(
        settings, kb, encoder, reason, recalibrate=recalibrate, published=published, kb_source=chosen
    )


def _log_version(info: VersionInfo) -> None:
    log.info(
        "index version %s published (%s): %s phrasings, %s encoded, %s reused, matcher %s, %.1f s",
        info.version,
        info.reason,
        info.phrasings,
        info.encoded,
        info.reused,
        info.matcher_update,
        info.seconds,
    )


def roll_back(settings: Settings, refresh: Callable[[], object], version: int | None = None) -> Pointer:
    """Serve an earlier version again (default: the one before the current); every worker follows the pointer,
    `refresh` swaps the caller's engine at once."""
    pointer = rollback(settings.index_dir, version)  # no such version: FileNotFoundError
    refresh()
    return pointer


def served_version(settings: Settings, serving: int | None) -> dict[str, Any]:
    """The published pointer and the version this process serves (`serving`, None before its first load)."""
    try:
        pointer = read_pointer(settings.index_dir)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"published": None, "served_version": serving, "pointer_error": str(error)[:200]}
    return {"published": asdict(pointer) if pointer else None, "served_version": serving}


def index_readiness(settings: Settings, serving: int | None) -> dict[str, Any]:
    """/readyz's index check: the published version is a complete build (with its own KB snapshot)."""
    live = served_version(settings, serving)
    published = live["published"]
    if "pointer_error" in live:
        return {"ok": False, **live}
    if published is None:
        # A data folder in the legacy layout is migrated by its first load (`assistant ready-or-train`, a worker).
        return {"ok": False, "error": "no index version is published; run `assistant train`", **live}
    complete = (version_dir(settings.index_dir, published["version"]) / VERSION_FILE).exists()
    return {"ok": complete, "kb_version": published["kb_version"], **live}
