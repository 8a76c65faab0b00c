"""The Celery worker's and beat's entry point: `celery -A webhooks.worker_app:celery_app worker` (or `beat`); the
`assistant worker` and `assistant beat` commands start it. It builds the Flask app from the environment's settings,
as the web process does, and serves that app's Celery app, so the tasks find the app's runtime in its context."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from webhooks.app import create_app
from webhooks.celery_app import CELERY_EXTENSION
from webhooks.runtime import RUNTIME_EXTENSION, Runtime

app = create_app()
celery_app: Celery = app.extensions[CELERY_EXTENSION]


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _load_models(**_: object) -> None:
    """Load the model and index when a worker process starts, not on the first customer's message."""
    runtime: Runtime = app.extensions[RUNTIME_EXTENSION]
    runtime.engine  # noqa: B018 - touching the property loads it
