"""Asking for a re-index from the web side: `request_reindex` queues the `ca.reindex_kb` Celery task, which runs
`assistant.services.publishing.reindex` in a worker."""

from __future__ import annotations

from celery import Celery
from flask import Flask


def request_reindex(app: Flask, reason: str) -> None:
    """Queue a re-index after a publish, archive or restore through `app`'s own Celery app (its broker and queue);
    the caller returns at once (the build is a task)."""
    from webhooks.celery_app import CELERY_EXTENSION, reindex_kb

    celery: Celery = app.extensions[CELERY_EXTENSION]
    celery.tasks[reindex_kb.name].apply_async(args=[reason])
