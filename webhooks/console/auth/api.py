"""The accounts endpoints of the console API: the caller's account and presence, API tokens, users and the
audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response
from pydantic import BaseModel, Field
from werkzeug.exceptions import NotFound

from assistant import errors
from assistant.domain.roles import Role
from assistant.store import UserRecord
from webhooks.console.auth.guards import ALL_ROLES
from webhooks.console.auth.identity import accounts, audit, current_account
from webhooks.console.auth.pages import revoke_token
from webhooks.console.openapi import json_body, json_response, query_model
from webhooks.console.routes import ConsoleBlueprint

bp = ConsoleBlueprint("accounts_api", __name__)


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


@bp.api("get", "/api/v1/me", "The caller's account", response=MeOut, roles=ALL_ROLES, tags=("accounts",))
def api_me() -> Response:
    return json_response(me_out(current_account()))


@bp.api(
    "put",
    "/api/v1/me/presence",
    "Go online or offline (online agents get automatic assignments)",
    request=PresenceIn,
    response=MeOut,
    roles=ALL_ROLES,
    tags=("accounts",),
)
def api_presence() -> Response:
    body = json_body(PresenceIn)
    user = accounts().set_online(current_account().id, body.online)
    audit("presence", "user", user.id, online=body.online)
    return json_response(me_out(user))


def _token_out(token: Any) -> TokenOut:
    return TokenOut(id=token.id, name=token.name, created_at=token.created_at, last_used_at=token.last_used_at)


@bp.api(
    "get",
    "/api/v1/tokens",
    "The caller's active API tokens",
    response=TokenListOut,
    roles=ALL_ROLES,
    tags=("accounts",),
)
def api_tokens() -> Response:
    tokens = accounts().tokens(current_account().id)
    return json_response(TokenListOut(tokens=[_token_out(token) for token in tokens]))


@bp.api(
    "post",
    "/api/v1/tokens",
    "Issue an API token for the caller (the token is in this answer only)",
    request=TokenIn,
    response=TokenIssuedOut,
    roles=ALL_ROLES,
    status=201,
    tags=("accounts",),
)
def api_issue_token() -> Response:
    body = json_body(TokenIn)
    user = current_account()
    token = accounts().issue_token(user.id, body.name)  # an AccountError is answered 422 by the error handler
    issued = accounts().tokens(user.id)[-1]
    audit("token_issue", "api_token", issued.id, name=issued.name)
    out = TokenIssuedOut(**_token_out(issued).model_dump(), token=token)
    return json_response(out, 201)


@bp.api(
    "delete",
    "/api/v1/tokens/<int:token_id>",
    "Revoke an API token (one's own; admins any)",
    roles=ALL_ROLES,
    status=204,
    errors=(404,),
    tags=("accounts",),
)
def api_revoke_token(token_id: int) -> Response:
    try:
        revoke_token(current_account(), token_id)
    except NotFound as error:  # werkzeug's, for the page; the API says which token
        raise errors.NotFound(f"no token {token_id}") from error
    return Response(status=204)


@bp.api(
    "get",
    "/api/v1/users",
    "Console users, with role, queues and presence",
    query=UserQuery,
    response=UserListOut,
    roles=(Role.ADMIN,),
    tags=("accounts",),
)
def api_users() -> Response:
    query = query_model(UserQuery)
    users = accounts().users(role=query.role, online=query.online, queue=query.queue)
    return json_response(
        UserListOut(users=[UserOut(**me_out(u).model_dump(), email=u.email, is_active=u.is_active) for u in users])
    )


@bp.api(
    "get",
    "/api/v1/audit",
    "The audit log, newest first",
    query=AuditQuery,
    response=AuditListOut,
    roles=(Role.ADMIN,),
    tags=("accounts",),
)
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
