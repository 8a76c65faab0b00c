"""Asking for a re-index from the web side: `request_reindex` queues the `ca.reindex_kb` Celery task, which runs
`assistant.services.publishing.reindex` in a worker."""

from __future__ import annotations

from webhooks.runtime import Runtime


def request_reindex(runtime: Runtime, reason: str) -> None:
    """Queue a re-index after a publish, archive or restore; the caller returns at once (the build is a task)."""
    from webhooks.celery_app import enqueue_on, reindex_kb

    enqueue_on(runtime.settings.service.redis_url, reindex_kb, reason)
