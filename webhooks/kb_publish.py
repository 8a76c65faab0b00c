"""Publishing the KB to the answer engine: `request_reindex` queues the `ca.reindex_kb` Celery task, which builds
a new index version from the published KB and switches the pointer every worker watches; rollback is a switch back."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from assistant.embeddings import shared_encoder
from assistant.index_versions import Pointer, VersionInfo, publish_version, read_pointer, rollback
from assistant.knowledge_base import KnowledgeBase
from assistant.live_index_cli import published_kb as kb_source
from webhooks.runtime import Runtime

log = logging.getLogger("community_assistant.kb_publish")


def request_reindex(runtime: Runtime, reason: str) -> None:
    """Queue a re-index after a publish, archive or restore; the caller returns at once (the build is a task)."""
    from webhooks.celery_app import enqueue_on, reindex_kb

    enqueue_on(runtime.settings.service.redis_url, reindex_kb, reason)


def published_kb(runtime: Runtime) -> KnowledgeBase:
    """The KB to index: the editor's database once an entry in it was published, else the YAML folder."""
    return kb_source(runtime.settings, "auto", runtime.store.engine)


def reindex(runtime: Runtime, reason: str) -> VersionInfo:
    """Build and publish the next version, then swap this process's engine at once (others notice the pointer).
    When the fast build says the matcher's calibration is due, a recalibrated version follows it."""

    def swap_in(info: VersionInfo) -> None:
        _log_version(info)
        runtime.refresh()

    return publish_version(runtime.settings, published_kb(runtime), shared_encoder(), reason, published=swap_in)


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


def roll_back(runtime: Runtime, version: int | None = None) -> Pointer:
    """Serve an earlier version again (default: the one before the current); every worker follows the pointer."""
    pointer = rollback(runtime.settings.index_dir, version)
    runtime.refresh()
    return pointer


def served_version(runtime: Runtime) -> dict[str, Any]:
    """What /readyz reports: the published pointer and the version this process serves."""
    try:
        pointer = read_pointer(runtime.settings.index_dir)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"published": None, "served_version": runtime.served_version, "pointer_error": str(error)[:200]}
    return {"published": asdict(pointer) if pointer else None, "served_version": runtime.served_version}
