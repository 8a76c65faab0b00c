"""Celery set up as Flask's own Celery pattern does it: `celery_init_app` gives each Flask app its Celery app (kept in
`app.extensions["celery"]`, every task run inside that Flask app's context), and the tasks are `shared_task`s that
take the runtime from `current_app.extensions`. Each task parses its arguments, calls one use case of
`assistant.services` (process an event, deliver a reply, push an escalation to the helpdesk, re-index the KB, the
console's beat timers) and maps the result: retry, or queue the next task. The worker's entry point is
`webhooks.worker_app`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task, shared_task
from flask import Flask, current_app

from assistant.domain.channels import InboundEvent
from assistant.nlu.embeddings import shared_encoder
from assistant.services import delivery, helpdesk, inbound, publishing, timers
from assistant.settings import Settings
from assistant.store import AccountStore, ConsoleStore
from webhooks.helpdesk import helpdesk_post
from webhooks.runtime import RUNTIME_EXTENSION, Runtime

log = logging.getLogger("community_assistant.tasks")
CELERY_EXTENSION = "celery"
TASK_QUEUE = "community-assistant"


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration of an app built from `settings` (the app factory puts it in `app.config["CELERY"]`)."""
    beat_seconds = settings.console.beat_interval_seconds
    return {
        "broker_url": settings.service.redis_url,
        "task_serializer": "json",
        "accept_content": ["json"],
        # A task is acknowledged only when it finished: a worker killed mid-task leaves it to be redelivered,
        # and the idempotent store makes the second run finish the job instead of repeating it.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": TASK_QUEUE,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": settings.celery_visibility_timeout},
        "task_ignore_result": True,
        # Celery beat: the console's timers. A tick that could not run in time is dropped, not queued up.
        "beat_schedule": {
            "console-sla-breaches": {
                "task": "ca.flag_sla_breaches",
                "schedule": beat_seconds,
                "options": {"expires": beat_seconds},
            },
            "console-auto-assign": {
                "task": "ca.auto_assign",
                "schedule": beat_seconds,
                "options": {"expires": beat_seconds},
            },
        },
    }


def celery_init_app(app: Flask) -> Celery:
    """The Celery app of this Flask app, configured from `app.config["CELERY"]`; its tasks run in the app's context."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.set_default()
    app.extensions[CELERY_EXTENSION] = celery
    return celery


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return runtime


@shared_task(name="ca.process_event", bind=True, max_retries=8)  # type: ignore[untyped-decorator]
def process_event(self: Task, event: dict[str, Any]) -> str:
    runtime = _runtime()
    received = InboundEvent.from_dict(event)
    try:
        processed = inbound.process_event(runtime.inbound(), received, datetime.now(UTC))
    except Exception as error:  # the event must not be lost: retry with backoff, then it stays in the logs
        log.exception("event %s:%s failed", received.platform, received.event_id)
        raise self.retry(exc=error, countdown=delivery.backoff_seconds(self.request.retries + 1, None)) from error
    if processed.outbound_id is not None:
        deliver_reply.delay(processed.outbound_id, received.reply_target, received.conversation_key)
    if processed.escalation_id is not None and runtime.settings.service.helpdesk_url:
        push_escalation.delay(processed.escalation_id)
    return processed.outcome.value


@shared_task(name="ca.deliver_reply", bind=True, max_retries=20)  # type: ignore[untyped-decorator]
def deliver_reply(self: Task, outbound_id: int, reply_target: dict[str, str], conversation_key: str) -> str:
    sent = delivery.deliver_reply(_runtime().outbox(), outbound_id, reply_target, conversation_key=conversation_key)
    if sent.outcome == delivery.DeliveryOutcome.RETRY:
        raise self.retry(countdown=sent.retry_after or 1.0)
    return sent.outcome.value


@shared_task(name="ca.push_escalation", bind=True, max_retries=10)  # type: ignore[untyped-decorator]
def push_escalation(self: Task, escalation_id: int) -> str:
    runtime = _runtime()
    post = helpdesk_post(runtime.settings.service, runtime.http)
    outcome = helpdesk.push_escalation(runtime.store, post, escalation_id, datetime.now(UTC))
    if outcome.retry_after is not None:
        raise self.retry(countdown=outcome.retry_after)
    return outcome.status.value


@shared_task(name="ca.flag_sla_breaches")  # type: ignore[untyped-decorator]
def flag_sla_breaches() -> int:
    engine = _runtime().store.engine
    return timers.flag_sla_breaches(ConsoleStore(engine), AccountStore(engine), datetime.now(UTC))


@shared_task(name="ca.reindex_kb")  # type: ignore[untyped-decorator]
def reindex_kb(reason: str = "") -> int:
    """Build the next index version from the published KB and publish it; every worker swaps to it."""
    runtime = _runtime()
    info = publishing.reindex(
        runtime.settings, shared_encoder(), reason, lambda _: runtime.refresh(), database=runtime.store.engine
    )
    return info.version


@shared_task(name="ca.auto_assign")  # type: ignore[untyped-decorator]
def auto_assign() -> int:
    runtime = _runtime()
    engine = runtime.store.engine
    strategy = runtime.settings.console.assignment
    return timers.auto_assign(ConsoleStore(engine), AccountStore(engine), strategy, runtime.round_robin)
