"""Who is calling the console and what they may do: Flask-Login sessions for pages, bearer tokens for the API,
role checks, login throttling, the audit helper, and the `auth` blueprint (login, logout, account, tokens)."""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import flask_login
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from werkzeug.exceptions import Forbidden, HTTPException, NotFound, Unauthorized
from werkzeug.wrappers import Response as BaseResponse

from assistant import errors
from assistant.settings import SecurityConfig
from assistant.store.accounts import ROLES, AccountError, AccountStore, UserRecord
from webhooks.console.openapi import ErrorOut, api_operation, json_body, query_model

log = logging.getLogger("community_assistant.console.auth")
P = ParamSpec("P")
R = TypeVar("R")

ACCOUNTS_EXTENSION = "console.accounts"
THROTTLE_EXTENSION = "console.login_throttle"
ALL_ROLES = ROLES
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

bp = Blueprint("auth", __name__)


# Who is calling


@dataclass(frozen=True)
class SessionUser:
    """What Flask-Login keeps for a page session; its id changes with the password (see AccountStore.session_id)."""

    record: UserRecord
    session_id: str
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def is_active(self) -> bool:
        return self.record.is_active

    def get_id(self) -> str:
        return self.session_id


def accounts() -> AccountStore:
    store: AccountStore = current_app.extensions[ACCOUNTS_EXTENSION]()
    return store


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header, '' for a malformed one, None without the header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def session_account() -> UserRecord | None:
    user = flask_login.current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    record: UserRecord = user.record
    return record


def optional_account() -> UserRecord | None:
    """The caller: the user of the bearer token this request authenticated with, else the session's, else None."""
    found: UserRecord | None = g.get("console_account")
    return found if found is not None else session_account()


def current_account() -> UserRecord:
    """The authenticated caller; only inside views guarded by `page_login_required` or `api_auth_required`."""
    account = optional_account()
    if account is None:
        raise Unauthorized("authentication required")
    return account


def accepts(user: UserRecord, roles: tuple[str, ...]) -> bool:
    """Roles are not a hierarchy: each endpoint lists the roles it accepts; admins are accepted everywhere."""
    return user.role == "admin" or user.role in roles


def can_see_queue(user: UserRecord, queue: str) -> bool:
    return user.role == "admin" or queue in user.queues


def client_ip() -> str | None:
    return request.remote_addr


def audit(action: str, object_type: str, object_id: str | int | None = None, **details: Any) -> None:
    """Write one audit entry for the current caller and address (QUEUES' actions call this too)."""
    accounts().audit(optional_account(), action, object_type, object_id, details, client_ip())


def _check_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"list the accepted roles explicitly, from {ALL_ROLES}; got {roles}")
    return roles


def page_login_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    """For HTML pages: anonymous → redirect to the login page (htmx: 401 with HX-Redirect), wrong role → 403."""
    accepted = _check_roles(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            user = session_account()
            if user is None:
                login = url_for("auth.login", next=_local_path(request.full_path))
                if request.headers.get("HX-Request"):
                    response = Response("sign in again", status=401)
                    response.headers["HX-Redirect"] = login
                    return response
                return redirect(login)
            if not accepts(user, accepted):
                raise Forbidden(f"this page is for {', '.join(accepted)}; you are signed in as {user.role}")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def api_auth_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    """For JSON endpoints: a bearer token, or the page session (htmx). No or bad credentials → 401 JSON,
    wrong role → 403 JSON. A request that carries a token is judged by the token alone."""
    accepted = _check_roles(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            token = bearer_token()
            if token is not None:
                user = accounts().user_for_token(token) if token else None
                if user is None:
                    return _api_error(401, "invalid or revoked token")
                g.console_account = user
                g.console_auth = "token"
            else:
                user = session_account()
                if user is None:
                    return _api_error(401, "authentication required: a bearer token or a console session")
                g.console_auth = "session"
            if not accepts(user, accepted):
                return _api_error(403, f"this endpoint is for {', '.join(accepted)}; the caller is {user.role}")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _api_error(status: int, message: str) -> Response:
    response = jsonify(ErrorOut(error=message).model_dump(exclude_none=True))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="community-assistant"'
    return response


def _local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site; never an absolute or scheme-relative URL (open redirect)."""
    if not target:
        return None
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_url() -> str:
    """Where a signed-in person lands: editors on the KB editor (the queue list is agents' work), everyone else
    on the queue list when the console has one, else the account page."""
    user = optional_account()
    adapter = current_app.url_map.bind("localhost")
    if user is not None and user.role == "editor":
        try:
            adapter.match("/console/kb", method="GET")
            return "/console/kb"
        except HTTPException:
            pass
    try:
        adapter.match("/console/", method="GET")
    except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect: no queue list page
        return url_for("auth.account")
    return "/console/"


# Login throttling


class LoginThrottle:
    """Failed sign-ins counted in Redis per username and per client address (moving window, `limits`).
    Counting only failures means a person who knows the password is never locked out by their own use."""

    def __init__(self, security: SecurityConfig, redis_url: str) -> None:
        self.limiter = MovingWindowRateLimiter(RedisStorage(redis_url))
        self.per_user = RateLimitItemPerMinute(security.login_max_failures, security.login_window_minutes)
        self.per_ip = RateLimitItemPerMinute(security.login_max_failures_per_ip, security.login_window_minutes)

    def retry_after(self, username: str, ip: str) -> int | None:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        waits = []
        for item, key in ((self.per_user, username), (self.per_ip, ip)):
            if not self.limiter.test(item, "ca-login", key):
                reset = self.limiter.get_window_stats(item, "ca-login", key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def failed(self, username: str, ip: str) -> None:
        self.limiter.hit(self.per_user, "ca-login", username)
        self.limiter.hit(self.per_ip, "ca-login", ip)

    def succeeded(self, username: str) -> None:
        self.limiter.clear(self.per_user, "ca-login", username)


def throttle() -> LoginThrottle:
    found: LoginThrottle = current_app.extensions[THROTTLE_EXTENSION]
    return found


# Pages


@bp.route("/console/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    next_path = _local_path(request.values.get("next"))
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
    log.info("login %s (%s)", user.username, user.role)
    return redirect(next_path or home_url())


def _login_error(message: str, username: str, next_path: str | None, status: int) -> tuple[str, int]:
    return render_template("console/login.html", error=message, username=username, next=next_path), status


@bp.post("/console/logout")
def logout() -> BaseResponse:
    user = session_account()
    if user is not None:
        accounts().audit(user, "logout", "user", user.id, {}, client_ip())
        log.info("logout %s", user.username)
    flask_login.logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/console/account")
@page_login_required(*ALL_ROLES)
def account() -> str:
    user = current_account()
    return render_template("console/account.html", user=user, tokens=accounts().tokens(user.id), new_token=None)


@bp.post("/console/account/tokens")
@page_login_required(*ALL_ROLES)
def account_issue_token() -> str | tuple[str, int]:
    user = current_account()
    name = request.form.get("name", "")
    try:
        token = accounts().issue_token(user.id, name)
    except AccountError as error:
        flash(str(error), "error")
        return render_template(
            "console/account.html", user=user, tokens=accounts().tokens(user.id), new_token=None
        ), 400
    issued = accounts().tokens(user.id)[-1]
    audit("token_issue", "api_token", issued.id, name=issued.name)
    # Rendered once, never stored in plain text: the page says to copy it now.
    return render_template("console/account.html", user=user, tokens=accounts().tokens(user.id), new_token=token)


@bp.post("/console/account/tokens/<int:token_id>/revoke")
@page_login_required(*ALL_ROLES)
def account_revoke_token(token_id: int) -> BaseResponse:
    user = current_account()
    _revoke(user, token_id)
    flash("Token revoked.", "info")
    return redirect(url_for("auth.account"))


def _revoke(user: UserRecord, token_id: int) -> None:
    token = accounts().token(token_id)
    if token is None or (token.user_id != user.id and user.role != "admin"):
        raise NotFound(f"no token {token_id}")
    if accounts().revoke_token(token_id):
        audit("token_revoke", "api_token", token_id, owner_id=token.user_id)


@bp.post("/console/presence")
@page_login_required(*ALL_ROLES)
def presence() -> BaseResponse | str:
    user = current_account()
    wanted = request.form.get("online")
    online = (not user.is_online) if wanted is None else wanted in ("1", "true", "on")
    updated = accounts().set_online(user.id, online)
    audit("presence", "user", user.id, online=online)
    if request.headers.get("HX-Request"):
        return render_template("console/_presence.html", user=updated)
    return redirect(_local_path(request.form.get("next")) or home_url())


# JSON API


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    queues: list[str]
    capacity: int
    is_online: bool
    last_seen_at: datetime | None


class PresenceIn(BaseModel):
    online: bool


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=128, description="What the token is for, e.g. 'helpdesk sync'.")


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class TokenIssuedOut(TokenOut):
    token: str = Field(description="The bearer token. Shown this one time only: only its hash is kept.")


class TokenListOut(BaseModel):
    tokens: list[TokenOut]


class UserOut(MeOut):
    email: str | None
    is_active: bool


class UserListOut(BaseModel):
    users: list[UserOut]


class UserQuery(BaseModel):
    role: str | None = Field(None, description="Only users with this role.")
    online: bool | None = Field(None, description="Only users who are (or are not) online.")
    queue: str | None = Field(None, description="Only members of this queue.")


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]
    ip: str | None


class AuditListOut(BaseModel):
    entries: list[AuditOut]


class AuditQuery(BaseModel):
    user_id: int | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    limit: int = Field(100, ge=1, le=1000)


def me_out(user: UserRecord) -> MeOut:
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        queues=list(user.queues),
        capacity=user.capacity,
        is_online=user.is_online,
        last_seen_at=user.last_seen_at,
    )


def json_response(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


@bp.get("/api/v1/me")
@api_operation("/api/v1/me", "get", "The caller's account", response=MeOut, roles=ALL_ROLES, tags=("accounts",))
@api_auth_required(*ALL_ROLES)
def api_me() -> Response:
    return json_response(me_out(current_account()))


@bp.put("/api/v1/me/presence")
@api_operation(
    "/api/v1/me/presence",
    "put",
    "Go online or offline (online agents get automatic assignments)",
    request=PresenceIn,
    response=MeOut,
    roles=ALL_ROLES,
    tags=("accounts",),
)
@api_auth_required(*ALL_ROLES)
def api_presence() -> Response:
    body = json_body(PresenceIn)
    user = accounts().set_online(current_account().id, body.online)
    audit("presence", "user", user.id, online=body.online)
    return json_response(me_out(user))


def _token_out(token: Any) -> TokenOut:
    return TokenOut(id=token.id, name=token.name, created_at=token.created_at, last_used_at=token.last_used_at)


@bp.get("/api/v1/tokens")
@api_operation(
    "/api/v1/tokens",
    "get",
    "The caller's active API tokens",
    response=TokenListOut,
    roles=ALL_ROLES,
    tags=("accounts",),
)
@api_auth_required(*ALL_ROLES)
def api_tokens() -> Response:
    tokens = accounts().tokens(current_account().id)
    return json_response(TokenListOut(tokens=[_token_out(token) for token in tokens]))


@bp.post("/api/v1/tokens")
@api_operation(
    "/api/v1/tokens",
    "post",
    "Issue an API token for the caller (the token is in this answer only)",
    request=TokenIn,
    response=TokenIssuedOut,
    roles=ALL_ROLES,
    status=201,
    tags=("accounts",),
)
@api_auth_required(*ALL_ROLES)
def api_issue_token() -> Response:
    body = json_body(TokenIn)
    user = current_account()
    token = accounts().issue_token(user.id, body.name)  # an AccountError is answered 422 by the error handler
    issued = accounts().tokens(user.id)[-1]
    audit("token_issue", "api_token", issued.id, name=issued.name)
    out = TokenIssuedOut(**_token_out(issued).model_dump(), token=token)
    return json_response(out, 201)


@bp.delete("/api/v1/tokens/<int:token_id>")
@api_operation(
    "/api/v1/tokens/{token_id}",
    "delete",
    "Revoke an API token (one's own; admins any)",
    roles=ALL_ROLES,
    status=204,
    errors=(404,),
    tags=("accounts",),
)
@api_auth_required(*ALL_ROLES)
def api_revoke_token(token_id: int) -> Response:
    try:
        _revoke(current_account(), token_id)
    except NotFound as error:  # werkzeug's, for the page; the API says which token
        raise errors.NotFound(f"no token {token_id}") from error
    return Response(status=204)


@bp.get("/api/v1/users")
@api_operation(
    "/api/v1/users",
    "get",
    "Console users, with role, queues and presence",
    query=UserQuery,
    response=UserListOut,
    roles=("admin",),
    tags=("accounts",),
)
@api_auth_required("admin")
def api_users() -> Response:
    query = query_model(UserQuery)
    users = accounts().users(role=query.role, online=query.online, queue=query.queue)
    return json_response(
        UserListOut(users=[UserOut(**me_out(u).model_dump(), email=u.email, is_active=u.is_active) for u in users])
    )


@bp.get("/api/v1/audit")
@api_operation(
    "/api/v1/audit",
    "get",
    "The audit log, newest first",
    query=AuditQuery,
    response=AuditListOut,
    roles=("admin",),
    tags=("accounts",),
)
@api_auth_required("admin")
def api_audit() -> Response:
    query = query_model(AuditQuery)
    entries = accounts().audit_entries(
        user_id=query.user_id,
        action=query.action,
        object_type=query.object_type,
        object_id=query.object_id,
        limit=query.limit,
    )
    return json_response(AuditListOut(entries=[AuditOut(**entry.__dict__) for entry in entries]))
