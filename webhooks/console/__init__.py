"""The agent console inside the Flask app: `register_console(app, runtime)` sets up sessions, CSRF, security
headers and error pages, and registers the OpenAPI views (here), `auth` (sign-in pages, accounts API, the role
checks), `queues` (agents), `kb` (the KB editor) and `gaps` (the content-gap report). Every view is declared
once with `routes.ConsoleBlueprint`; the use cases behind them live in `assistant.services`."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from assistant.settings import session_secret
from assistant.store import AccountStore
from webhooks.console.auth import api as accounts_api
from webhooks.console.auth import pages as auth_pages
from webhooks.console.auth.guards import ALL_ROLES
from webhooks.console.auth.identity import (
    ACCOUNTS_EXTENSION,
    SessionUser,
    accounts,
    bearer_token,
    optional_account,
    session_account,
)
from webhooks.console.auth.throttle import THROTTLE_EXTENSION, LoginThrottle
from webhooks.console.nav import QUEUE_LINKS_EXTENSION, QueueLinks, default_queue_links, nav_links
from webhooks.console.openapi import docs_page, document, swagger_ui
from webhooks.console.routes import ConsoleBlueprint
from webhooks.runtime import Runtime

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_COOKIE = "ca_session"
# Scripts only from our own static files (no inline script, no eval, so no hx-on attributes); inline style
# attributes are allowed for small things such as a progress width.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


bp = ConsoleBlueprint(
    "console",
    __name__,
    static_folder="static",
    static_url_path="/console/static",
    template_folder="templates",
)


@bp.api("get", "/api/openapi.json", "This OpenAPI document", roles=ALL_ROLES, tags=("meta",))
def openapi_json() -> Response:
    return jsonify(document())


@bp.api(
    "get",
    "/api/docs",
    "A page listing the operations (HTML; anonymous callers are sent to the login page)",
    roles=ALL_ROLES,
    tags=("meta",),
    content_type="text/html",
    login="page",
)
def api_docs() -> str:
    return docs_page()


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or bool(request.headers.get("HX-Request"))
        or request.accept_mimetypes.best == "application/json"
    )


def register_console(app: Flask, runtime: Runtime) -> None:
    settings = runtime.settings
    security = settings.security
    secure = (
        security.cookie_secure
        if security.cookie_secure is not None
        else settings.service.public_base_url.startswith("https://")
    )
    app.secret_key = session_secret(settings)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=security.session_hours),
        # CSRF is checked by our own hook below (console and API only, never on platform webhooks), and lives
        # as long as the session: a console tab left open all day must still be able to act.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
    )
    # Built on first use: creating the app must not need the database (the readiness probe reports it).
    app.extensions[ACCOUNTS_EXTENSION] = functools.cache(
        lambda: AccountStore(runtime.store.engine, password_min_length=security.password_min_length)
    )
    app.extensions[THROTTLE_EXTENSION] = LoginThrottle(security, settings.service.redis_url)
    app.extensions.setdefault(QUEUE_LINKS_EXTENSION, default_queue_links(settings))

    login_manager = LoginManager()
    login_manager.session_protection = "basic"
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    csrf = CSRFProtect(app)

    @app.before_request
    def check_csrf() -> None:
        if request.method in SAFE_METHODS or not request.path.startswith(("/console/", "/api/")):
            return
        # An API request with a bearer token is judged by the token alone (browsers never add one on their own),
        # and one without a session is refused by the auth check (401): only cookie-authenticated calls need CSRF.
        if request.path.startswith("/api/") and (bearer_token() is not None or session_account() is None):
            return
        csrf.protect()

    @app.after_request
    def security_headers(response: Response) -> Response:
        if request.path.startswith(("/console", "/api/")):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            if not request.path.startswith("/console/static/"):
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.register_error_handler(CSRFError, _csrf_error)
    for code in (400, 403, 404, 405, 429):
        app.register_error_handler(code, _error_page)
    app.context_processor(_template_context)
    app.register_blueprint(bp)
    app.register_blueprint(swagger_ui)
    app.register_blueprint(auth_pages.bp)
    app.register_blueprint(accounts_api.bp)
    from webhooks.console.queues import register_queues

    register_queues(app, runtime)
    # The agents' inbox (issue 13): /console/inbox, search, customer panel and labels; API under /api/v1.
    from webhooks.console.inbox import register_inbox

    register_inbox(app)
    # The knowledge-base editor (issue 5): pages under /console/kb, API under /api/v1/kb.
    from webhooks.console.kb import register_kb_editor

    register_kb_editor(app, runtime)

    # The content-gap report (issue 5): /console/kb/gaps and /api/v1/kb/gaps.
    from webhooks.console.gaps import register_kb_gaps

    register_kb_gaps(app, runtime)


def _load_user(session_id: str) -> SessionUser | None:
    user = accounts().user_for_session(session_id)
    return SessionUser(user, session_id) if user is not None else None


def _template_context() -> dict[str, Any]:
    user = optional_account()
    links: QueueLinks = _app_extension(QUEUE_LINKS_EXTENSION)
    return {
        "console_user": user,
        "queue_links": links(user) if user is not None else [],
        "nav_links": nav_links(_current_app(), user) if user is not None else [],
    }


def _current_app() -> Flask:
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _app_extension(name: str) -> Any:
    from flask import current_app

    return current_app.extensions[name]


def _json_error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _csrf_error(error: CSRFError) -> Response | tuple[str, int]:
    message = "The form expired or did not come from this console (CSRF check failed): reload the page and retry."
    if wants_json():
        return _json_error(400, message)
    if request.endpoint == "auth.login":
        return render_template("console/login.html", error=message, username="", next=None), 400
    return render_template("console/error.html", code=400, title="Form expired", message=message), 400


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    429: "Too many requests",
}


def _error_page(error: HTTPException) -> Response | tuple[str, int]:
    code = error.code or 500
    message = error.description or error.name
    if wants_json() or not request.path.startswith("/console"):
        return _json_error(code, message)
    if code == 404:
        message = "There is nothing at this address. It may have been moved, or the link is old."
    return render_template(
        "console/error.html", code=code, title=ERROR_TITLES.get(code, "Error"), message=message
    ), code
