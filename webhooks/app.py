"""The Flask application: one webhook endpoint per platform (verify on raw bytes, dedupe, enqueue, answer
at once), health and readiness probes. The engine never runs inside a request."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from flask import Flask, Response, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from assistant.domain.channels import InboundEvent
from assistant.services.publishing import index_readiness
from assistant.settings import Settings, load_settings
from webhooks.adapters.base import WebhookRequest, WebhookResponse
from webhooks.celery_app import celery_config, celery_init_app, process_event
from webhooks.console import register_console
from webhooks.dedupe import EventDeduplicator
from webhooks.http_errors import install_error_handler
from webhooks.runtime import RUNTIME_EXTENSION, Runtime

log = logging.getLogger("community_assistant.webhooks")
Enqueue = Callable[[InboundEvent], None]


def celery_enqueue(celery: Celery, event: InboundEvent) -> None:
    """Queue the event for a worker on `celery`'s broker (the app's own: its settings' Redis)."""
    # A fixed argsrepr keeps the message text out of the task headers (and the logs and monitors that show
    # them), and saves Celery rendering it: about a third of the request's time.
    task = celery.tasks[process_event.name]
    task.apply_async(args=[event.to_dict()], argsrepr=f"({event.platform}:{event.event_id})", kwargsrepr="{}")


def _response(answer: WebhookResponse) -> Response:
    return Response(answer.body, status=answer.status, content_type=answer.content_type)


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def create_app(settings: Settings | None = None, enqueue: Enqueue | None = None) -> Flask:
    settings = settings or load_settings()
    runtime = Runtime(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.service.max_body_bytes
    app.config["CELERY"] = celery_config(settings)
    # The views, the console and the Celery tasks (through `current_app`) all use this one runtime.
    app.extensions[RUNTIME_EXTENSION] = runtime
    celery = celery_init_app(app)
    enqueue = enqueue or functools.partial(celery_enqueue, celery)
    install_error_handler(app)
    adapters = runtime.adapters
    dedupe = EventDeduplicator(runtime.redis)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code == 413:
            log.info("refused body over %s bytes on %s", settings.service.max_body_bytes, request.path)
            return _error(413, f"body larger than {settings.service.max_body_bytes} bytes")
        return _error(error.code or 500, error.description or error.name)

    @app.route("/webhooks/<platform>", methods=["GET", "POST"])
    def webhook(platform: str) -> Response:
        started = time.perf_counter()
        adapter = adapters.get(platform)
        if adapter is None:
            log.info("webhook for unknown or disabled platform %r", platform[:40])
            return _error(404, f"unknown or disabled platform {platform[:40]!r}")
        incoming = WebhookRequest(
            method=request.method,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=request.args.to_dict(),
            body=request.get_data(cache=False),
            received_at=datetime.now(UTC),
        )
        # A refused request (WebhookError) is answered by the one error handler with the adapter's status.
        if request.method == "GET":
            answer = adapter.handshake(incoming)
            return _response(answer) if answer else _error(405, "GET is only for the platform's handshake")
        adapter.verify(incoming)
        answer = adapter.handshake(incoming)
        if answer is not None:
            return _response(answer)
        events = adapter.parse(incoming)
        try:
            queued = _queue(platform, events)
        except (RedisError, OSError) as error:
            # Nothing is acknowledged that was not queued: a 503 makes the platform deliver again.
            log.warning("%s webhook: queue unavailable (%s); answered 503", platform, type(error).__name__)
            return _error(503, "temporarily unable to queue the event; retry later")
        log.info(
            "%s webhook: %d events, %d queued, %.1f ms",
            platform,
            len(events),
            queued,
            (time.perf_counter() - started) * 1000,
        )
        return _response(adapter.acknowledge(incoming, events))

    def _queue(platform: str, events: list[InboundEvent]) -> int:
        ttl = settings.platforms[platform].dedupe_ttl_seconds
        queued = 0
        for event in events:
            if event.message is None or event.kind not in ("message", "comment"):
                continue
            if not dedupe.claim(platform, event.event_id, ttl):
                continue
            try:
                enqueue(event)
            except Exception:
                dedupe.release(platform, event.event_id)
                raise
            queued += 1
        return queued

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        checks = readiness(runtime)
        response = jsonify({"ready": all(c["ok"] for c in checks.values()), "checks": checks})
        response.status_code = 200 if all(c["ok"] for c in checks.values()) else 503
        return response

    register_console(app, runtime)
    return app


def readiness(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Redis and database reachable, a complete index version published."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        runtime.redis.ping()
        checks["redis"] = {"ok": True}
    except (RedisError, OSError) as error:
        checks["redis"] = {"ok": False, "error": type(error).__name__}
    try:
        runtime.store.ping()
        checks["database"] = {"ok": True}
    except Exception as error:  # any driver error means not ready
        checks["database"] = {"ok": False, "error": type(error).__name__}
    checks["index"] = index_readiness(runtime.settings, runtime.served_version)
    return checks
