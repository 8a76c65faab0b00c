"""The knowledge-base editor inside the console: pages under /console/kb (`pages`) and a JSON API under
/api/v1/kb (`api`) to list, search, edit, review, publish, archive, restore and preview FAQ entries (editors and
admins; every change audited). Both call the editor's use cases (assistant.services.kb_editing, wired in
`context`); publishing, archiving or rolling back a live entry asks for a re-index."""

from __future__ import annotations

import functools

from flask import Flask

from assistant.services.kb_editing import Reindex
from assistant.services.kb_source import editor_store
from assistant.store import KbConflictError
from webhooks.console.kb import api, pages
from webhooks.console.kb.context import REINDEX_EXTENSION, RUNTIME_EXTENSION, STORE_EXTENSION, default_reindex
from webhooks.console.kb.schemas import conflict_body
from webhooks.http_errors import add_error_body
from webhooks.runtime import Runtime


def register_kb_editor(app: Flask, runtime: Runtime, reindex: Reindex | None = None) -> None:
    app.extensions[RUNTIME_EXTENSION] = runtime
    # Built on first use: creating the app must not need the database (the readiness probe reports it).
    # The first use on a fresh install imports the KB folder (assistant.services.kb_source).
    app.extensions[STORE_EXTENSION] = functools.cache(lambda: editor_store(runtime.settings, runtime.store.engine))
    app.extensions.setdefault(REINDEX_EXTENSION, reindex or default_reindex(app))
    # The API's store errors are answered by the one error handler: not found 404, invalid content 422, a move
    # the workflow forbids 409, a save on an old version 409 with this body.
    add_error_body(app, KbConflictError, conflict_body)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
