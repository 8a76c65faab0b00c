"""The accounts pages of the console: sign in (throttled; it makes the person online), sign out (offline), the
account page with its API tokens, going online or offline, and noting each use of the console (presence)."""

from __future__ import annotations

import logging
import math

import flask_login
from flask import current_app, flash, redirect, render_template, request, session, url_for
from redis.exceptions import RedisError
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from assistant.domain.roles import Role
from assistant.services import presence as presence_service
from assistant.services.api_tokens import issue_token
from assistant.services.common import utc_now
from assistant.store import AccountError, UserRecord
from webhooks.console.auth.guards import ALL_ROLES
from webhooks.console.auth.identity import (
    SessionUser,
    accounts,
    audit,
    client_ip,
    current_account,
    home_url,
    local_path,
    session_account,
)
from webhooks.console.auth.throttle import throttle
from webhooks.console.routes import ConsoleBlueprint

log = logging.getLogger("community_assistant.console.auth")

bp = ConsoleBlueprint("auth", __name__)


@bp.route("/console/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    next_path = local_path(request.values.get("next"))
    if request.method == "GET":
        if session_account() is not None:
            return redirect(next_path or home_url())
        return render_template("console/login.html", next=next_path, username="")
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    ip = client_ip() or "unknown"
    if not username or not password:
        return _login_error("Enter your username and password.", username, next_path, 400)
    try:
        wait = throttle().retry_after(username, ip)
    except (RedisError, OSError) as error:
        # Without the counter nobody could stop password guessing: refuse rather than sign in unchecked.
        log.warning("login throttle unavailable (%s); sign-in refused", type(error).__name__)
        return _login_error("Sign-in is unavailable for a moment. Try again shortly.", username, next_path, 503)
    if wait is not None:
        accounts().audit(None, "login_throttled", "user", None, {"retry_after_s": wait}, ip, username=username)
        log.info("login throttled for %s", username)
        minutes = max(1, math.ceil(wait / 60))
        message = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        response = current_app.make_response(_login_error(message, username, next_path, 429))
        response.headers["Retry-After"] = str(wait)
        return response
    user = accounts().verify_password(username, password)
    if user is None:
        throttle().failed(username, ip)
        accounts().audit(None, "login_failed", "user", None, {}, ip, username=username)
        log.info("failed login for %s", username)
        return _login_error("Wrong username or password.", username, next_path, 401)
    throttle().succeeded(username)
    session_id = accounts().session_id(user.id)
    if session_id is None:  # deleted between the check and now
        return _login_error("Wrong username or password.", username, next_path, 401)
    # A fresh session: nothing from before sign-in (a planted session, another user's flashes) carries over.
    session.clear()
    flask_login.login_user(SessionUser(user, session_id))
    session.permanent = True
    accounts().audit(user, "login", "user", user.id, {}, ip)
    presence_service.signed_in(accounts(), user, audit, utc_now())
    log.info("login %s (%s)", user.username, user.role)
    return redirect(next_path or home_url())


def _login_error(message: str, username: str, next_path: str | None, status: int) -> tuple[str, int]:
    return render_template("console/login.html", error=message, username=username, next=next_path), status


@bp.post("/console/logout")
def logout() -> BaseResponse:
    user = session_account()
    if user is not None:
        accounts().audit(user, "logout", "user", user.id, {}, client_ip())
        presence_service.signed_out(accounts(), user, audit, utc_now())
        log.info("logout %s", user.username)
    flask_login.logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.page("/console/account", roles=ALL_ROLES)
def account() -> str:
    user = current_account()
    return render_template("console/account.html", user=user, tokens=accounts().tokens(user.id), new_token=None)


@bp.page("/console/account/tokens", roles=ALL_ROLES, methods=("POST",))
def account_issue_token() -> str | tuple[str, int]:
    user = current_account()
    name = request.form.get("name", "")
    try:
        issued = issue_token(accounts(), user.id, name, audit)
    except AccountError as error:
        flash(str(error), "error")
        return render_template(
            "console/account.html", user=user, tokens=accounts().tokens(user.id), new_token=None
        ), 400
    # Rendered once, never stored in plain text: the page says to copy it now.
    return render_template("console/account.html", user=user, tokens=accounts().tokens(user.id), new_token=issued.token)


@bp.page("/console/account/tokens/<int:token_id>/revoke", roles=ALL_ROLES, methods=("POST",))
def account_revoke_token(token_id: int) -> BaseResponse:
    user = current_account()
    revoke_token(user, token_id)
    flash("Token revoked.", "info")
    return redirect(url_for("auth.account"))


def revoke_token(user: UserRecord, token_id: int) -> None:
    """Revoke one's own token (admins: anyone's); werkzeug's NotFound (the 404 page) for another's or none."""
    token = accounts().token(token_id)
    if token is None or (token.user_id != user.id and user.role != Role.ADMIN):
        raise NotFound(f"no token {token_id}")
    if accounts().revoke_token(token_id):
        audit("token_revoke", "api_token", token_id, owner_id=token.user_id)


@bp.before_app_request
def note_console_use() -> None:
    """Every request of a signed-in console session counts as the person being there (presence)."""
    if not request.path.startswith(("/console/", "/api/")) or request.path.startswith("/console/static/"):
        return
    user = session_account()
    if user is not None:
        presence_service.console_used(accounts(), user, utc_now())


@bp.page("/console/presence", roles=ALL_ROLES, methods=("POST",))
def presence() -> BaseResponse | str:
    user = current_account()
    wanted = request.form.get("online")
    online = (not user.is_online) if wanted is None else wanted in ("1", "true", "on")
    updated = accounts().set_online(user.id, online)
    audit("presence", "user", user.id, online=online)
    if request.headers.get("HX-Request"):
        return render_template("console/_presence.html", user=updated)
    return redirect(local_path(request.form.get("next")) or home_url())
