"""The caller of a console request: a Flask-Login page session or an API bearer token, and the audit line
written in the caller's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flask_login
from flask import current_app, g, request, url_for
from werkzeug.exceptions import HTTPException, Unauthorized

from assistant.domain.roles import Role
from assistant.store import AccountStore, UserRecord

ACCOUNTS_EXTENSION = "console.accounts"


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


def client_ip() -> str | None:
    return request.remote_addr


def audit(action: str, object_type: str, object_id: str | int | None = None, **details: Any) -> None:
    """Write one audit entry for the current caller and address (QUEUES' actions call this too)."""
    accounts().audit(optional_account(), action, object_type, object_id, details, client_ip())


def local_path(target: str | None) -> str | None:
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
    if user is not None and user.role == Role.EDITOR:
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
