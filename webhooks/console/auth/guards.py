"""The role checks of the console's views: `page_login_required` for HTML pages, `api_auth_required` for JSON
endpoints (`webhooks.console.routes` applies them when a view is declared)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Response, g, jsonify, redirect, request, url_for
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response as BaseResponse

from assistant.domain.roles import ROLES, Role
from assistant.store import UserRecord
from webhooks.console.auth.identity import accounts, bearer_token, local_path, session_account
from webhooks.console.openapi import ErrorOut

P = ParamSpec("P")
R = TypeVar("R")

ALL_ROLES = ROLES


def accepts(user: UserRecord, roles: tuple[str, ...]) -> bool:
    """Roles are not a hierarchy: each endpoint lists the roles it accepts; admins are accepted everywhere."""
    return user.role == Role.ADMIN or user.role in roles


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
                login = url_for("auth.login", next=local_path(request.full_path))
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
