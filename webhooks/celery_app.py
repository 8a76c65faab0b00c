"""The Celery application and its thin tasks: process one webhook event, deliver one reply, push one
escalation to the helpdesk, re-index the KB after a publish, and the console's beat (SLA breaches, automatic
assignment). The work itself lives in `webhooks.worker`, `webhooks.sla` and `webhooks.kb_publish`."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init

from assistant.settings import load_settings
from webhooks.adapters.base import InboundEvent
from webhooks.runtime import current_runtime
from webhooks.worker import EventProcessor, backoff_seconds

log = logging.getLogger("community_assistant.tasks")


def make_celery(broker_url: str | None = None) -> Celery:
    settings = load_settings()
    app = Celery("community_assistant", broker=broker_url or settings.service.redis_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only when it finished: a worker killed mid-task leaves it to be redelivered,
        # and the idempotent store makes the second run finish the job instead of repeating it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="community-assistant",
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": int(os.environ.get("CA_CELERY_VISIBILITY_TIMEOUT", "3600")),
        },
        task_ignore_result=True,
        # Celery beat: the console's timers. A tick that could not run in time is dropped, not queued up.
        beat_schedule={
            "console-sla-breaches": {
                "task": "ca.flag_sla_breaches",
                "schedule": settings.console.beat_interval_seconds,
                "options": {"expires": settings.console.beat_interval_seconds},
            },
            "console-auto-assign": {
                "task": "ca.auto_assign",
                "schedule": settings.console.beat_interval_seconds,
                "options": {"expires": settings.console.beat_interval_seconds},
            },
        },
    )
    return app


celery_app = make_celery()


def enqueue_on(redis_url: str, task: Task, *args: Any) -> None:
    """Queue `task` on the broker at `redis_url`, whatever broker this module was imported with: the app and
    its tests build settings at run time, and a task must land where that process's workers listen."""
    if redis_url == celery_app.conf.broker_url:
        task.apply_async(args=list(args))  # the app's own pooled connection
        return
    with celery_app.connection_for_write(redis_url) as connection:
        task.apply_async(args=list(args), connection=connection)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _load_models(**_: object) -> None:
    """Load the model and index when a worker process starts, not on the first customer's message."""
    current_runtime().engine  # noqa: B018 - touching the cached property loads it


@celery_app.task(  # type: ignore[untyped-decorator]
    name="ca.process_event", bind=True, max_retries=8
)
def process_event(self: Task, event: dict[str, Any]) -> str:
    inbound = InboundEvent.from_dict(event)
    processor = EventProcessor(current_runtime())
    try:
        processed = processor.process(inbound)
    except Exception as error:  # the event must not be lost: retry with backoff, then it stays in the logs
        log.exception("event %s:%s failed", inbound.platform, inbound.event_id)
        raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries + 1, None)) from error
    if processed.outbound_id is not None:
        deliver_reply.delay(processed.outbound_id, inbound.reply_target, inbound.conversation_key)
    if processed.escalation_id is not None and current_runtime().settings.service.helpdesk_url:
        push_escalation.delay(processed.escalation_id)
    return processed.outcome


@celery_app.task(  # type: ignore[untyped-decorator]
    name="ca.deliver_reply", bind=True, max_retries=20
)
def deliver_reply(self: Task, outbound_id: int, reply_target: dict[str, str], conversation_key: str) -> str:
    processor = EventProcessor(current_runtime())
    delivery = processor.deliver(outbound_id, reply_target, conversation_key=conversation_key)
    if delivery.outcome == "retry":
        raise self.retry(countdown=delivery.retry_after or 1.0)
    return delivery.outcome


@celery_app.task(  # type: ignore[untyped-decorator]
    name="ca.push_escalation", bind=True, max_retries=10
)
def push_escalation(self: Task, escalation_id: int) -> str:
    from webhooks.helpdesk import push_to_helpdesk

    outcome = push_to_helpdesk(current_runtime(), escalation_id)
    if outcome.retry_after is not None:
        raise self.retry(countdown=outcome.retry_after)
    return outcome.status


@celery_app.task(name="ca.flag_sla_breaches")  # type: ignore[untyped-decorator]
def flag_sla_breaches() -> int:
    from webhooks.sla import flag_breaches

    return flag_breaches(current_runtime())


@celery_app.task(name="ca.reindex_kb")  # type: ignore[untyped-decorator]
def reindex_kb(reason: str = "") -> int:
    """Build the next index version from the published KB and publish it; every worker swaps to it."""
    from webhooks.kb_publish import reindex

    return reindex(current_runtime(), reason).version


@celery_app.task(name="ca.auto_assign")  # type: ignore[untyped-decorator]
def auto_assign() -> int:
    from webhooks.sla import auto_assign as assign

    return assign(current_runtime())
