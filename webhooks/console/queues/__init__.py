"""The queues side of the agent console: JSON API (`api`, /api/v1/…) and pages (`pages`, /console/…) to list
queues and their escalations, read a whole conversation, claim, reply through the platform, note, prioritise,
transfer, resolve and hand back to the bot. Both call the same use cases (assistant.services.agent_actions,
wired in `context`), so pages and API behave the same; `schemas` and `mapping` are the API's models."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask

from assistant.domain.handoff import HandoffTransitionError
from assistant.domain.voice import BrandVoice
from assistant.services.agent_actions import Deliver, UnansweredResolveError, can_see_queue
from assistant.services.reply_rules import ReplyConflictError
from assistant.settings import Settings
from assistant.store import ClaimConflictError, ConsoleStore, UserRecord
from webhooks.console.nav import QueueLink, set_queue_links
from webhooks.console.queues import api, canned, pages
from webhooks.console.queues.context import (
    DELIVER_EXTENSION,
    RUNTIME_EXTENSION,
    STORE_EXTENSION,
    VOICE_EXTENSION,
    celery_deliver,
    request_queue_counts,
)
from webhooks.console.queues.mapping import (
    claim_conflict_body,
    handoff_conflict_body,
    reply_conflict_body,
    unanswered_conflict_body,
)
from webhooks.http_errors import add_error_body
from webhooks.runtime import Runtime


def register_queues(app: Flask, runtime: Runtime, deliver: Deliver | None = None) -> None:
    """Register the queues blueprints; `deliver` queues a reserved reply for sending (Celery by default)."""
    app.extensions[RUNTIME_EXTENSION] = runtime
    # Built on first use: creating the app must not need the database (the readiness probe reports it).
    app.extensions[STORE_EXTENSION] = functools.cache(lambda: ConsoleStore(runtime.store.engine))
    app.extensions.setdefault(DELIVER_EXTENSION, deliver or celery_deliver(app))
    settings = runtime.settings
    # The bot's voice without the engine (no model to load): it fills agents' replies as it fills KB answers.
    app.extensions[VOICE_EXTENSION] = functools.cache(
        lambda: BrandVoice.load(settings.brand, settings.default_language, settings.responses_file)
    )
    set_queue_links(app, _queue_links(runtime.settings))
    add_error_body(app, ClaimConflictError, claim_conflict_body)
    add_error_body(app, HandoffTransitionError, handoff_conflict_body)
    add_error_body(app, ReplyConflictError, reply_conflict_body)
    add_error_body(app, UnansweredResolveError, unanswered_conflict_body)
    app.context_processor(_nav_count_context)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(canned.bp)


def _queue_links(settings: Settings) -> Callable[[UserRecord], list[QueueLink]]:
    def links(user: UserRecord) -> list[QueueLink]:
        return [
            QueueLink(queue.name, queue.label, f"/console/queues/{queue.name}")
            for queue in settings.console.queues
            if can_see_queue(user, queue.name)
        ]

    return links


def _nav_count_context() -> dict[str, Any]:
    # A function, not the counts: partials that never show the header never pay for the query.
    def nav_count(queue: str) -> int:
        found = request_queue_counts().get(queue)
        return found.active if found is not None else 0

    return {"nav_count": nav_count}
