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
from assistant.services.api_tokens import issue_token
from assistant.store import UserRecord
from webhooks.console.auth.guards import ALL_ROLES
from webhooks.console.auth.identity import accounts, audit, current_account
from webhooks.console.auth.pages import revoke_token
from webhooks.console.openapi import json_body, json_response, model_from, query_model
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
    return model_from(MeOut, user, queues=list(user.queues))


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
    return json_response(TokenListOut(tokens=[model_from(TokenOut, token) for token in tokens]))


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
    # An AccountError is answered 422 by the error handler.
    issued = issue_token(accounts(), current_account().id, body.name, audit)
    return json_response(model_from(TokenIssuedOut, issued.record, token=issued.token), 201)


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
    return json_response(UserListOut(users=[model_from(UserOut, user, queues=list(user.queues)) for user in users]))


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
    return json_response(AuditListOut(entries=[model_from(AuditOut, entry) for entry in entries]))
