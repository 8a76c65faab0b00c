"""What a KB editor request works with, built from the app's extensions: the editor's store, the runtime, and the
editor's use cases (`editor()`, assistant.services.kb_editing) wired to this app's re-index and audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

from assistant.domain.roles import Role
from assistant.services.kb_editing import KbEditingDeps, KbEditor, Reindex
from assistant.settings import Settings
from assistant.store import KbEntryRecord, KbStore
from webhooks.console.auth.identity import audit, current_account
from webhooks.runtime import Runtime

log = logging.getLogger("community_assistant.kb_editor")

STORE_EXTENSION = "console.kb.store"
RUNTIME_EXTENSION = "console.kb.runtime"
REINDEX_EXTENSION = "console.kb.reindex"
# Who edits the KB. Admins are accepted everywhere; agents answer customers and do not change the FAQ.
EDIT_ROLES = (Role.EDITOR,)


def runtime() -> Runtime:
    found: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return found


def settings() -> Settings:
    return runtime().settings


def kb_store() -> KbStore:
    store: KbStore = current_app.extensions[STORE_EXTENSION]()
    return store


def default_reindex(app: Flask) -> Reindex:
    """Queue LIVEINDEX's re-index task on `app`'s Celery; a tree without it only logs (the next `assistant index`
    picks it up)."""

    def reindex(reason: str) -> None:
        try:
            from webhooks.kb_publish import request_reindex
        except ImportError:
            log.warning("no live re-index available (webhooks.kb_publish missing): %s", reason)
            return
        request_reindex(app, reason)

    return reindex


def editor() -> KbEditor:
    """The editor's use cases for the caller of this request."""
    found = runtime()
    reindex: Callable[[str], None] = current_app.extensions[REINDEX_EXTENSION]
    deps = KbEditingDeps(
        store=kb_store(), settings=found.settings, engine=lambda: found.engine, audit=audit, reindex=reindex
    )
    return KbEditor(deps, current_account().username)


def entry_languages(record: KbEntryRecord | None = None) -> list[str]:
    """The configured languages, then any other the entry has."""
    configured = list(settings().languages)
    if record is not None:
        configured += [lang for lang in record.content.answers if lang not in configured]
        configured += [lang for lang in record.content.questions if lang not in configured]
    return configured
