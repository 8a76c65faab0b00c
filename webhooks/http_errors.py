"""The one translation of the library's errors to HTTP. `install_error_handler(app)` (the app factory calls it)
answers every `AssistantError` a view lets through with the status of its kind (the table below; the tree is
drawn in `assistant.errors`). The body is `{"error": message}` (plus `details` where the error lists per-field
problems), or what a blueprint registered for that error type with `add_error_body`: a 409's current state.
Console pages (/console/…) are answered as the queue pages always were: an htmx request gets the message as a
fragment, a 403 or 404 the error page, anything else a flash message and a redirect back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, flash, jsonify, redirect, render_template, request, url_for

from assistant.errors import (
    AssistantError,
    AuthError,
    BadInput,
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    NotReady,
    PlatformError,
)

log = logging.getLogger("community_assistant.webhooks")

BODIES_EXTENSION = "errors.bodies"
# The kind's status; a class's nearest kind wins (BadInput before InputError). A PlatformError that carries a
# `status` (a refused webhook) answers that one: the platform's contract fixes it (Meta: 403, wrong verify token).
STATUS: dict[type[AssistantError], int] = {
    BadInput: 400,
    InputError: 422,
    AuthError: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    NotReady: 503,
    PlatformError: 502,  # an outside platform's answer we cannot use; a refused webhook carries its own
}
UNKNOWN_KIND_STATUS = 500  # an AssistantError of no kind is a bug in the library

ErrorBody = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class PageError:
    """What the console's error fragment shows: the message and, for a conflict, the body (its current state)."""

    message: str
    status: int
    conflict: dict[str, Any] | None = None


def kind_status(error_type: type[AssistantError]) -> int:
    """The status of the error type's nearest kind."""
    for cls in error_type.__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return UNKNOWN_KIND_STATUS


def status_of(error: AssistantError) -> int:
    own = getattr(error, "status", None)
    if isinstance(error, PlatformError) and isinstance(own, int):
        return own
    return kind_status(type(error))


def add_error_body(app: Flask, error_type: type[AssistantError], body: ErrorBody) -> None:
    """Answer errors of `error_type` (and its subclasses) with `body(error)` as JSON instead of `{"error": ...}`."""
    app.extensions.setdefault(BODIES_EXTENSION, {})[error_type] = body


def _registered_body(error: AssistantError) -> dict[str, Any] | None:
    bodies: dict[type[AssistantError], ErrorBody] = current_app.extensions.get(BODIES_EXTENSION, {})
    for cls in type(error).__mro__:
        if cls in bodies:
            return bodies[cls](error)
    return None


def _default_body(error: AssistantError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": str(error)}
    details = getattr(error, "details", None)
    if details is not None:
        body["details"] = details
    return body


def handle_error(error: AssistantError) -> Response | tuple[Any, int]:
    status = status_of(error)
    if status >= 500 and not isinstance(error, NotReady):
        log.error("%s %s: %s", request.method, request.path[:80], error, exc_info=error)
    elif isinstance(error, PlatformError):
        log.info("%s refused: %s %s", request.path[:80], status, error)
    registered = _registered_body(error)
    if not request.path.startswith("/console"):
        response = jsonify(registered if registered is not None else _default_body(error))
        response.status_code = status
        return response
    message = str(error)
    if request.headers.get("HX-Request"):
        # Shown in the page's message area (console queues.js swaps 4xx answers of our forms there).
        shown = PageError(message, status, registered if isinstance(error, Conflict) else None)
        return render_template("console/_action_error.html", error=shown), status
    if status in (403, 404):
        return render_template("console/error.html", code=status, title="Not available", message=message), status
    flash(message, "error")
    return redirect(request.referrer or url_for("queues.queue_list")), 303


def install_error_handler(app: Flask) -> None:
    app.register_error_handler(AssistantError, handle_error)
