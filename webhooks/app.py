"""The Flask application: one webhook endpoint per platform (verify on raw bytes, store in the durable inbox,
queue, answer at once), health and readiness probes. The engine never runs inside a request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from assistant.domain.channels import InboundEvent
from assistant.services import intake
from assistant.services.publishing import index_readiness
from assistant.settings import Settings, load_settings
from webhooks.adapters.base import WebhookRequest, WebhookResponse
from webhooks.celery_app import celery_config, celery_init_app, intake_for
from webhooks.console import register_console
from webhooks.http_errors import install_error_handler
from webhooks.redis_requirements import check_redis_policy
from webhooks.runtime import RUNTIME_EXTENSION, Runtime

log = logging.getLogger("community_assistant.webhooks")
Enqueue = Callable[[InboundEvent], None]


def _response(answer: WebhookResponse) -> Response:
    return Response(answer.body, status=answer.status, content_type=answer.content_type)


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def create_app(settings: Settings | None = None, enqueue: Enqueue | None = None) -> Flask:
    settings = settings or load_settings()
    runtime = Runtime(settings)
    # Refuses a Redis that may evict queued tasks (README, "Production").
    check_redis_policy(runtime.redis)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.service.max_body_bytes
    app.config["CELERY"] = celery_config(settings)
    # The views, the console and the Celery tasks (through `current_app`) all use this one runtime.
    app.extensions[RUNTIME_EXTENSION] = runtime
    celery = celery_init_app(app)
    install_error_handler(app)
    adapters = runtime.adapters

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
        # Nothing is acknowledged that was not stored: a database that refuses is a 503 (the platform delivers
        # again); a queue that is down is not, the sweeper queues what was stored.
        accepted = intake.accept(intake_for(runtime, celery, enqueue), events, incoming.received_at)
        log.info(
            "%s webhook: %d events, %d new, %d queued%s, %.1f ms",
            platform,
            len(events),
            accepted.stored,
            accepted.queued,
            " (queue down: the sweeper queues the rest)" if accepted.deferred else "",
            (time.perf_counter() - started) * 1000,
        )
        return _response(adapter.acknowledge(incoming, events))

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
