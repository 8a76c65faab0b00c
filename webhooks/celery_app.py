"""Celery set up as Flask's own Celery pattern does it: `celery_init_app` gives each Flask app its Celery app (kept in
`app.extensions["celery"]`, every task run inside that Flask app's context), and the tasks are `shared_task`s that
take the runtime from `current_app.extensions`. Each task parses its arguments, calls one use case of
`assistant.services` (process an event, deliver a reply, push an escalation to the helpdesk, re-index the KB, the
console's beat timers, the inbox and outbox sweepers, queueing a large delivery's stored events) and maps the
result: retry, or queue the next task. The worker's entry point is `webhooks.worker_app`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery, Task, shared_task
from flask import Flask, current_app
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from assistant.domain.channels import InboundEvent
from assistant.nlu.embeddings import shared_encoder
from assistant.services import delivery, helpdesk, inbound, intake, publishing, sweeps, timers
from assistant.settings import Settings
from assistant.store import AccountStore, ConsoleStore
from webhooks.helpdesk import helpdesk_post
from webhooks.runtime import RUNTIME_EXTENSION, Runtime

log = logging.getLogger("community_assistant.tasks")
CELERY_EXTENSION = "celery"
TASK_QUEUE = "community-assistant"
# A message waiting for its conversation's lock (another worker deciding the one before) looks again this soon.
BUSY_RETRY_SECONDS = 0.5


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration of an app built from `settings` (the app factory puts it in `app.config["CELERY"]`)."""
    beat_seconds = settings.console.beat_interval_seconds
    reliability = settings.reliability
    sweep_seconds = reliability.sweep_interval_seconds
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
        # A task stuck past the soft limit raises inside it (and is retried or handed to a person); past the hard
        # limit its process is replaced. Re-indexing sets its own, longer limits.
        "task_soft_time_limit": reliability.task_soft_time_limit_seconds,
        "task_time_limit": reliability.task_time_limit_seconds,
        # Publishing waits briefly for a broker that is down: what is stored is queued by the sweeper instead.
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2},
        # Celery beat: the console's timers and the sweepers. A tick that could not run in time is dropped.
        "beat_schedule": {
            "sweep-inbox-and-outbox": {
                "task": "ca.sweep",
                "schedule": sweep_seconds,
                "options": {"expires": sweep_seconds},
            },
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


def _publish(
    celery: Celery, name: str, args: list[Any], argsrepr: str | None = None, countdown: float | None = None
) -> None:
    """Queue task `name` on `celery`'s broker (to run after `countdown` seconds); QueueUnavailableError when the
    broker does not take it."""
    try:
        celery.tasks[name].apply_async(
            args=args, argsrepr=argsrepr, kwargsrepr="{}" if argsrepr else None, countdown=countdown
        )
    except (BrokerError, RedisError, OSError) as error:
        raise intake.QueueUnavailableError(f"the task queue is unavailable ({type(error).__name__})") from error


def queue_decision(celery: Celery, event: InboundEvent) -> None:
    """Queue the decision of a stored event."""
    # A fixed argsrepr keeps the message text out of the task headers (and the logs and monitors that show
    # them), and saves Celery rendering it: about a third of the request's time.
    _publish(celery, process_event.name, [event.to_dict()], f"({event.platform}:{event.event_id})")


def queue_stored(celery: Celery, inbox_ids: Sequence[int]) -> None:
    """Hand a large delivery's stored events to one task that queues their decisions."""
    _publish(celery, queue_stored_events.name, [list(inbox_ids)], f"({len(inbox_ids)} events)")


def queue_delivery(
    celery: Celery,
    outbound_id: int,
    reply_target: dict[str, str],
    conversation_key: str,
    countdown: float | None = None,
) -> None:
    _publish(celery, deliver_reply.name, [outbound_id, reply_target, conversation_key], f"({outbound_id})", countdown)


def intake_for(runtime: Runtime, celery: Celery, enqueue: intake.Enqueue | None = None) -> intake.Intake:
    """The intake use case queueing on `celery` (or through `enqueue`, a test's)."""
    return intake.Intake(
        runtime.store,
        enqueue or functools.partial(queue_decision, celery),
        functools.partial(queue_stored, celery),
        runtime.settings.reliability,
    )


def _celery() -> Celery:
    celery: Celery = current_app.extensions[CELERY_EXTENSION]
    return celery


@shared_task(name="ca.process_event", bind=True, max_retries=None)  # type: ignore[untyped-decorator]
def process_event(self: Task, event: dict[str, Any], failures: int = 0) -> str:
    """`failures`: the attempts that failed so far (a busy conversation is not one)."""
    runtime = _runtime()
    received = InboundEvent.from_dict(event)
    try:
        processed = inbound.process_event(runtime.inbound(), received, datetime.now(UTC))
    except inbound.ConversationBusyError as busy:  # the lock expires, so this ends: no person needed
        raise self.retry(exc=busy, countdown=BUSY_RETRY_SECONDS, kwargs={"failures": failures}) from busy
    except Exception as error:  # never lost: retried with backoff, then a person gets it (processing_failed)
        log.exception("event %s:%s failed", received.platform, received.event_id)
        wait = inbound.failed_attempt(runtime.inbound(), received, failures, error, datetime.now(UTC))
        if wait is None:
            return inbound.ProcessOutcome.FAILED.value
        raise self.retry(exc=error, countdown=wait, kwargs={"failures": failures + 1}) from error
    try:
        if processed.escalation_id is not None and runtime.settings.service.helpdesk_url:
            push_escalation.delay(processed.escalation_id)
        if processed.outbound_id is not None:
            _send_reply(runtime, processed.outbound_id, received)
    except intake.QueueUnavailableError:
        log.warning("event %s:%s decided; its reply waits for the outbox sweeper", received.platform, received.event_id)
    return processed.outcome.value


def _send_reply(runtime: Runtime, outbound_id: int, event: InboundEvent) -> None:
    """Send a reply from the task that decided it (one task per message instead of two); one that has to wait (the
    rate limit, a retryable failure) goes on with `deliver_reply`'s retries. If sending raises, the reserved row
    stays in the outbox, where the sweeper finds it."""
    target, key = event.reply_target, event.conversation_key
    try:
        sent = delivery.deliver_reply(runtime.outbox(), outbound_id, target, conversation_key=key)
    except Exception:
        log.exception("reply %s: sending from the deciding task failed; the outbox sweeper has it", outbound_id)
        return
    if sent.outcome == delivery.DeliveryOutcome.RETRY:
        queue_delivery(_celery(), outbound_id, target, key, countdown=sent.retry_after or 1.0)


@shared_task(name="ca.queue_stored_events")  # type: ignore[untyped-decorator]
def queue_stored_events(inbox_ids: list[int]) -> int:
    return intake.queue_stored(intake_for(_runtime(), _celery()), inbox_ids)


@shared_task(name="ca.sweep")  # type: ignore[untyped-decorator]
def sweep() -> dict[str, int]:
    """The inbox and outbox sweepers (`assistant.services.sweeps`), under beat."""
    runtime, celery, now = _runtime(), _celery(), datetime.now(UTC)
    config = runtime.settings.reliability
    backlog = int(runtime.redis.llen(TASK_QUEUE))  # tasks waiting their turn in the broker's queue list
    inbox = sweeps.sweep_inbox(runtime.inbound(), lambda event: queue_decision(celery, event), config, now, backlog)
    outbox = sweeps.sweep_outbox(runtime.outbox(), lambda *args: queue_delivery(celery, *args), config, backlog)
    return {
        "inbox_requeued": inbox.requeued,
        "outbox_requeued": outbox.requeued,
        "to_person": inbox.to_person + outbox.to_person,
    }


@shared_task(name="ca.deliver_reply", bind=True, max_retries=None)  # type: ignore[untyped-decorator]
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


# Building a version of a large KB takes minutes (issue 5: 50 s for 10,000 entries × 5 languages here).
@shared_task(name="ca.reindex_kb", soft_time_limit=1800, time_limit=1900)  # type: ignore[untyped-decorator]
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
    away = timedelta(minutes=runtime.settings.console.away_after_minutes)
    return timers.auto_assign(
        ConsoleStore(engine), AccountStore(engine), strategy, runtime.round_robin, away_after=away
    )
