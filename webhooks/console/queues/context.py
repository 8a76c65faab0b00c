"""What a queues request works with, built from the app's extensions: the console store, the per-request queue
counts, and the agent use cases (`actions()`) wired to this app's delivery, reply windows and audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from celery import Celery
from flask import Flask, current_app, g

from assistant.domain.reply_windows import ReplyWindow, reply_window
from assistant.domain.roles import Role
from assistant.services.agent_actions import AgentActions, AgentDeps, Deliver
from assistant.settings import Settings
from assistant.store import ConsoleStore, QueueCounts
from webhooks.adapters.registry import rules_for
from webhooks.console.auth.identity import audit, current_account
from webhooks.runtime import Runtime

STORE_EXTENSION = "console.queues.store"
RUNTIME_EXTENSION = "console.queues.runtime"
DELIVER_EXTENSION = "console.queues.deliver"
VOICE_EXTENSION = "console.queues.voice"
# Who works queues. Admins are accepted everywhere; editors write the KB and canned replies, not customers.
WORK_ROLES = (Role.AGENT,)
CANNED_READ_ROLES = (Role.AGENT, Role.EDITOR)
CANNED_EDIT_ROLES = (Role.EDITOR,)  # and admins; assistant.services.canned_replies checks the same


@dataclass(frozen=True)
class AdapterWindows:
    """The reply windows as the platform adapters declare them (assistant.domain.reply_windows reads them)."""

    offer_human_agent_tag: bool

    def window(self, platform: str, last_inbound_at: datetime | None, now: datetime) -> ReplyWindow:
        return reply_window(rules_for(platform), last_inbound_at, now, self.offer_human_agent_tag)

    def taggable(self, platform: str) -> bool:
        return rules_for(platform).tagged_reply_window is not None


def runtime() -> Runtime:
    found: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return found


def settings() -> Settings:
    return runtime().settings


def console_store() -> ConsoleStore:
    store: ConsoleStore = current_app.extensions[STORE_EXTENSION]()
    return store


def request_queue_counts() -> dict[str, QueueCounts]:
    """Per-queue counts, read at most once per request (one GROUP BY over the active escalations) and shared by
    the page and the header's queue links."""
    if "queue_counts" not in g:
        g.queue_counts = console_store().queue_counts()
    counts: dict[str, QueueCounts] = g.queue_counts
    return counts


def celery_deliver(app: Flask) -> Deliver:
    """Queue `deliver_reply` through `app`'s own Celery app (its broker and queue): the same task, retries and
    idempotency as the bot's replies."""

    def deliver(outbound_id: int, reply_target: dict[str, str], conversation_key: str) -> None:
        from webhooks.celery_app import CELERY_EXTENSION, deliver_reply

        celery: Celery = app.extensions[CELERY_EXTENSION]
        celery.tasks[deliver_reply.name].apply_async(args=[outbound_id, reply_target, conversation_key])

    return deliver


def actions() -> AgentActions:
    """The agent use cases for the caller of this request."""
    found = runtime()
    deliver: Callable[[int, dict[str, str], str], None] = current_app.extensions[DELIVER_EXTENSION]
    deps = AgentDeps(
        console=console_store(),
        store=found.store,
        settings=found.settings,
        hours=found.hours,
        windows=AdapterWindows(found.settings.console.offer_human_agent_tag),
        deliver=deliver,
        audit=audit,
        counts=request_queue_counts,
        voice=current_app.extensions[VOICE_EXTENSION](),
    )
    return AgentActions(deps, current_account())
