"""`assistant users …`: create console accounts, set passwords, roles' queues and capacity, issue API tokens.
Passwords come from a hidden prompt or standard input, never from the command line (shell history, ps).
Refusals are the library's errors (AccountError, NotFound, BadInput); the `assistant` group prints them."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from assistant.domain.roles import ROLES, Role
from assistant.errors import BadInput, NotFound
from assistant.services.api_tokens import issue_token
from assistant.services.common import Audit
from assistant.settings import Settings, load_settings
from assistant.store import AccountError, AccountStore, UserRecord

ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password


def open_accounts(settings: Settings | None = None) -> AccountStore:
    from assistant.store.db import make_engine, migrate

    settings = settings or load_settings()
    migrate(settings.service.database_url)
    return AccountStore(
        make_engine(settings.service.database_url), password_min_length=settings.security.password_min_length
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("no password on standard input")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _account(username: str) -> tuple[AccountStore, UserRecord]:
    """The accounts store and the user `username` (NotFound for none)."""
    store = open_accounts()
    user = store.user_by_username(username)
    if user is None:
        raise NotFound(f"no user {username!r} (see `assistant users list`)")
    return store, user


def _cli_audit(store: AccountStore) -> Audit:
    """The audit writer of the command line: changes made on the server's command line are logged like the
    console's, marked as coming from it."""

    def write(action: str, object_type: str, object_id: str | int | None = None, **details: Any) -> None:
        store.audit(None, action, object_type, object_id, {"via": "cli", **details}, username="cli")

    return write


def _audit(store: AccountStore, action: str, user: UserRecord | None, **details: object) -> None:
    _cli_audit(store)(action, "user", user.id if user else None, **details)


def _update(username: str, action: str, details: dict[str, object], **changes: Any) -> UserRecord:
    """Change the user's fields (`AccountStore.update_user`) and log `action` with `details`."""
    store, user = _account(username)
    user = store.update_user(user.id, **changes)
    _audit(store, action, user, **details)
    return user


@click.group()
def users() -> None:
    """Console accounts: agents, editors and admins."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(ROLES), required=True, help="agent: works queues; editor: the KB; admin: all."
)
@click.option("--queue", "queues", multiple=True, help="A queue the user works (repeatable).")
@click.option("--capacity", type=click.IntRange(min=0), default=5, show_default=True, help="Conversations at once.")
@click.option("--name", "display_name", help="The name shown in the console (default: the username).")
@click.option("--email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_add(
    username: str,
    role: str,
    queues: tuple[str, ...],
    capacity: int,
    display_name: str | None,
    email: str | None,
    password_stdin: bool,
) -> None:
    """Create a user; the password is asked for (hidden) unless --password-stdin."""
    store = open_accounts()
    password = _read_password(password_stdin)
    user = store.create_user(
        username, password, role, display_name=display_name, queues=queues, capacity=capacity, email=email
    )
    _audit(store, "user_create", user, role=role, queues=list(user.queues))
    click.echo(f"created {user.username} ({user.role}), queues: {', '.join(user.queues) or '-'}")


@users.command("list")
def users_list() -> None:
    """Every user with role, state, capacity and queues."""
    store = open_accounts()
    rows = store.users()
    if not rows:
        click.echo("no users yet: `assistant users add NAME --role admin`")
        return
    click.echo(f"{'username':<24} {'role':<7} {'state':<9} {'online':<7} {'capacity':>8}  queues")
    for user in rows:
        state = "active" if user.is_active else "disabled"
        online = "yes" if user.is_online else "no"
        queues = ", ".join(user.queues) or ("all" if user.is_admin else "-")
        click.echo(f"{user.username:<24} {user.role:<7} {state:<9} {online:<7} {user.capacity:>8}  {queues}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_set_password(username: str, password_stdin: bool) -> None:
    """Set a new password; the user's other console sessions end."""
    store, user = _account(username)
    store.set_password(user.id, _read_password(password_stdin))
    _audit(store, "password_set", user)
    click.echo(f"password of {user.username} changed")


@users.command("set-queues")
@click.argument("username")
@click.argument("queues", nargs=-1)
@click.option("--capacity", type=click.IntRange(min=0), help="Also set how many conversations at once.")
def users_set_queues(username: str, queues: tuple[str, ...], capacity: int | None) -> None:
    """Replace the user's queues with QUEUES (none: no queue)."""
    store, user = _account(username)
    user = store.set_queues(user.id, queues)
    if capacity is not None:
        user = store.update_user(user.id, capacity=capacity)
    _audit(store, "queues_set", user, queues=list(user.queues), capacity=user.capacity)
    click.echo(f"{user.username}: queues {', '.join(user.queues) or '-'}, capacity {user.capacity}")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def users_set_role(username: str, role: str) -> None:
    """Change the user's role."""
    user = _update(username, "role_set", {"role": role}, role=role)
    click.echo(f"{user.username} is now {user.role}")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Stop the user signing in or using tokens (kept for the audit log); `enable` undoes it."""
    user = _update(username, "user_disable", {}, is_active=False)
    click.echo(f"{user.username} disabled")


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Let a disabled user sign in again."""
    user = _update(username, "user_enable", {}, is_active=True)
    click.echo(f"{user.username} enabled")


@users.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. 'helpdesk sync'.")
def users_token(username: str, name: str) -> None:
    """Issue an API token for the user and print it; only its hash is kept, so it is shown this once."""
    store, user = _account(username)
    issued = issue_token(store, user.id, name, _cli_audit(store), owner=user.username)
    click.echo(issued.token)
    click.echo(f"(token {issued.record.id} {name!r} for {user.username}: copy it now, it is not shown again)", err=True)


@users.command("tokens")
@click.argument("username")
def users_tokens(username: str) -> None:
    """The user's active tokens (ids and names; the tokens themselves are not kept)."""
    store, user = _account(username)
    for token in store.tokens(user.id):
        used = f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        click.echo(f"{token.id:>5}  {token.name:<32} created {token.created_at:%Y-%m-%d %H:%M}  {used}")


@users.command("revoke-token")
@click.argument("token_id", type=int)
def users_revoke_token(token_id: int) -> None:
    """Revoke a token by id (see `users tokens`)."""
    store = open_accounts()
    if not store.revoke_token(token_id):
        raise NotFound(f"no active token {token_id}")
    _cli_audit(store)("token_revoke", "api_token", token_id)
    click.echo(f"token {token_id} revoked")


@users.command("ensure-admin")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Where to write the generated password (default: <data_dir>/{ADMIN_PASSWORD_FILE}).",
)
def users_ensure_admin(password_file: Path | None) -> None:
    """On a fresh install (no user at all): create `admin` with a generated password written to a file only
    its owner can read. Does nothing once any user exists."""
    settings = load_settings()
    store = open_accounts(settings)
    target = password_file or settings.data_dir / ADMIN_PASSWORD_FILE
    if store.users():
        click.echo("users exist: nothing to do")
        return
    password = secrets.token_urlsafe(18)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    try:
        user = store.create_user("admin", password, Role.ADMIN, display_name="Admin")
    except AccountError:  # another process created users meanwhile: no password file for a user not created
        target.unlink(missing_ok=True)
        raise
    _audit(store, "user_create", user, role=Role.ADMIN, generated=True)
    click.echo(
        f"created the first admin: username admin, password in {target} (change it: assistant users set-password admin)"
    )
