"""Console accounts: users with a role and queue memberships, hashed API tokens, and the audit log.
`AccountStore` is their one interface; passwords are hashed with Argon2id (argon2-cffi), tokens with SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.domain.roles import ROLES, Role
from assistant.store.db import Transactions, added
from assistant.store.errors import AccountError
from assistant.store.records import AuditRecord, TokenRecord, UserRecord
from assistant.store.tables import ApiToken, AuditEntry, QueueMember, User, utcnow

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
QUEUE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TOKEN_PREFIX = "ca_"  # noqa: S105 - a marker that makes leaked tokens easy to find, not a secret
MAX_PASSWORD_CHARS = 1024  # Argon2 takes any length; a cap stops a megabyte "password" costing CPU
# last_used_at is written at most this often, so API calls do not each take the write lock.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MAX_AUDIT_DETAIL_CHARS = 2000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            f"invalid username {username[:64]!r}: 1–64 characters, lowercase letters, digits and . _ @ -"
        )
    return name


def normalise_queues(queues: Iterable[str]) -> tuple[str, ...]:
    names = sorted({queue.strip().lower() for queue in queues if queue.strip()})
    for name in names:
        if not QUEUE_PATTERN.match(name):
            raise AccountError(f"invalid queue name {name[:64]!r}: lowercase letters, digits, _ and -")
    return tuple(names)


class AccountStore(Transactions):
    """Users, queue memberships, API tokens and the audit log, on the engine of the service's `Store`.

    The schema comes from the Alembic migrations (revision 0002); run `assistant.store.db.migrate` first.
    """

    def __init__(self, engine: Engine, *, password_min_length: int = 10, hasher: PasswordHasher | None = None) -> None:
        super().__init__(engine)
        self.password_min_length = password_min_length
        self._hasher = hasher or PasswordHasher()
        # Verified against when the username is unknown, so a missing account answers as slowly as a real one.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def _record(self, session: Session, row: User) -> UserRecord:
        queues = session.scalars(
            select(QueueMember.queue).where(QueueMember.user_id == row.id).order_by(QueueMember.queue)
        )
        return UserRecord.from_row(row, queues=tuple(queues))

    def _check_password(self, password: str) -> None:
        if len(password) < self.password_min_length:
            raise AccountError(f"password too short: at least {self.password_min_length} characters")
        if len(password) > MAX_PASSWORD_CHARS:
            raise AccountError(f"password too long: at most {MAX_PASSWORD_CHARS} characters")

    # Users

    def create_user(
        self,
        username: str,
        password: str,
        role: Role | str,
        display_name: str | None = None,
        queues: Iterable[str] = (),
        capacity: int = 5,
        email: str | None = None,
    ) -> UserRecord:
        name = normalise_username(username)
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if capacity < 0:
            raise AccountError("capacity must be 0 or more")
        self._check_password(password)
        members = normalise_queues(queues)
        password_hash = self._hasher.hash(password)
        try:
            with self._write() as session:
                row = added(
                    session,
                    User(
                        username=name,
                        display_name=(display_name or name)[:128],
                        email=email,
                        role=Role(role).value,
                        password_hash=password_hash,
                        is_active=True,
                        capacity=capacity,
                        is_online=False,
                        created_at=utcnow(),
                    ),
                )
                session.add_all(QueueMember(user_id=row.id, queue=queue) for queue in members)
                session.flush()
                return self._record(session, row)
        except IntegrityError as error:
            raise AccountError(f"username {name!r} is taken") from error

    def user(self, user_id: int) -> UserRecord | None:
        with self._read() as session:
            row = session.get(User, user_id)
            return self._record(session, row) if row is not None else None

    def user_by_username(self, name: str) -> UserRecord | None:
        with self._read() as session:
            row = session.scalars(select(User).where(User.username == name.strip().lower())).first()
            return self._record(session, row) if row is not None else None

    def _require(self, session: Session, user_id: int) -> User:
        row = session.get(User, user_id)
        if row is None:
            raise AccountError(f"no user with id {user_id}")
        return row

    def users(
        self, role: Role | str | None = None, online: bool | None = None, queue: str | None = None
    ) -> list[UserRecord]:
        """Active and inactive users by username; `queue` keeps the members of that queue (admins included
        only when they are members: admins see every queue but are not assigned work by membership)."""
        query = select(User).order_by(User.username)
        if role is not None:
            query = query.where(User.role == role)
        if online is not None:
            query = query.where(User.is_online.is_(online))
        if queue is not None:
            query = query.where(User.id.in_(select(QueueMember.user_id).where(QueueMember.queue == queue)))
        with self._read() as session:
            return [self._record(session, row) for row in session.scalars(query)]

    def update_user(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        email: str | None = None,
        role: Role | str | None = None,
        capacity: int | None = None,
        is_active: bool | None = None,
    ) -> UserRecord:
        if role is not None and role not in ROLES:
            raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if capacity is not None and capacity < 0:
            raise AccountError("capacity must be 0 or more")
        with self._write() as session:
            row = self._require(session, user_id)
            if display_name is not None:
                row.display_name = display_name[:128]
            if email is not None:
                row.email = email or None
            if role is not None:
                row.role = Role(role).value
            if capacity is not None:
                row.capacity = capacity
            if is_active is not None:
                row.is_active = is_active
                if not is_active:
                    row.is_online = False
            session.flush()
            return self._record(session, row)

    def set_queues(self, user_id: int, queues: Iterable[str]) -> UserRecord:
        members = normalise_queues(queues)
        with self._write() as session:
            row = self._require(session, user_id)
            session.execute(delete(QueueMember).where(QueueMember.user_id == user_id))
            session.add_all(QueueMember(user_id=user_id, queue=queue) for queue in members)
            session.flush()
            return self._record(session, row)

    def set_online(self, user_id: int, online: bool, at: datetime | None = None) -> UserRecord:
        with self._write() as session:
            row = self._require(session, user_id)
            row.is_online = online and row.is_active
            row.last_seen_at = at or utcnow()
            session.flush()
            return self._record(session, row)

    def touch(self, user_id: int, at: datetime | None = None) -> None:
        """Note that the user's console was used now (presence: their `last_seen_at`)."""
        with self._write() as session:
            session.execute(update(User).where(User.id == user_id).values(last_seen_at=at or utcnow()))

    # Passwords and sessions

    def set_password(self, user_id: int, password: str) -> None:
        self._check_password(password)
        password_hash = self._hasher.hash(password)
        with self._write() as session:
            self._require(session, user_id).password_hash = password_hash

    def verify_password(self, username: str, password: str) -> UserRecord | None:
        """The active user with this name and password, or None; upgrades the hash when the parameters changed."""
        try:
            name = normalise_username(username)
        except AccountError:
            name = None
        with self._read() as session:
            row = session.scalars(select(User).where(User.username == name)).first() if name else None
            stored = row.password_hash if row is not None else self._dummy_hash
            user_id = row.id if row is not None else None
            active = row is not None and row.is_active
        try:
            self._hasher.verify(stored, password[:MAX_PASSWORD_CHARS])
            matched = user_id is not None
        except (VerificationError, InvalidHashError):
            matched = False
        if not matched or not active or user_id is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            new_hash = self._hasher.hash(password)
            with self._write() as session:
                # Only if nobody changed the password meanwhile.
                session.execute(
                    update(User).where(User.id == user_id, User.password_hash == stored).values(password_hash=new_hash)
                )
        return self.user(user_id)

    def session_id(self, user_id: int) -> str | None:
        """An id for the login session that changes with the password: a new password ends every other session."""
        with self._read() as session:
            row = session.get(User, user_id)
            if row is None:
                return None
            return f"{row.id}.{hashlib.sha256(row.password_hash.encode()).hexdigest()[:16]}"

    def user_for_session(self, session_id: str) -> UserRecord | None:
        user_id_text, _, _fingerprint = session_id.partition(".")
        if not user_id_text.isdigit():
            return None
        expected = self.session_id(int(user_id_text))
        if expected is None or not secrets.compare_digest(expected, session_id):
            return None
        user = self.user(int(user_id_text))
        return user if user is not None and user.is_active else None

    # API tokens

    def issue_token(self, user_id: int, name: str) -> str:
        """A new bearer token for the user; only its SHA-256 is kept, so this is the one time it can be shown."""
        label = name.strip()[:128]
        if not label:
            raise AccountError("a token needs a name (what it is for)")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._write() as session:
            self._require(session, user_id)
            session.add(ApiToken(user_id=user_id, name=label, token_hash=hash_token(token), created_at=utcnow()))
        return token

    def user_for_token(self, token: str, at: datetime | None = None) -> UserRecord | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        now = at or utcnow()
        digest = hash_token(token)
        with self._read() as session:
            found = session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), User.is_active.is_(True))
            ).first()
            if found is None:
                return None
            token_row, user_row = found
            record = self._record(session, user_row)
            stale = token_row.last_used_at is None or now - token_row.last_used_at > TOKEN_TOUCH_INTERVAL
            token_id = token_row.id
        if stale:
            with self._write() as session:
                session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        return record

    def tokens(self, user_id: int | None = None, include_revoked: bool = False) -> list[TokenRecord]:
        query = select(ApiToken).order_by(ApiToken.id)
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        if not include_revoked:
            query = query.where(ApiToken.revoked_at.is_(None))
        with self._read() as session:
            return [TokenRecord.from_row(row) for row in session.scalars(query)]

    def token(self, token_id: int) -> TokenRecord | None:
        with self._read() as session:
            row = session.get(ApiToken, token_id)
            return TokenRecord.from_row(row) if row is not None else None

    def revoke_token(self, token_id: int, at: datetime | None = None) -> bool:
        """True when this call revoked it; False when it was unknown or already revoked."""
        with self._write() as session:
            result = session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=at or utcnow())
            )
            return bool(getattr(result, "rowcount", 0))

    # Audit log

    def audit(
        self,
        user: UserRecord | None,
        action: str,
        object_type: str,
        object_id: str | int | None = None,
        details: dict[str, Any] | None = None,
        ip: str | None = None,
        username: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append one entry; `username` names the account tried when there is no user (a failed login)."""
        name = user.username if user is not None else username
        safe_details = {str(key)[:64]: _bounded(value) for key, value in (details or {}).items()}
        with self._write() as session:
            row = AuditEntry(
                at=at or utcnow(),
                user_id=user.id if user is not None else None,
                username=name[:64] if name else None,
                action=action[:64],
                object_type=object_type[:32],
                object_id=str(object_id)[:64] if object_id is not None else None,
                details=safe_details,
                ip=ip[:64] if ip else None,
            )
            return added(session, row).id

    def audit_entries(
        self,
        *,
        user_id: int | None = None,
        action: str | Sequence[str] | None = None,
        object_type: str | None = None,
        object_id: str | int | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Newest first."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(AuditEntry.user_id == user_id)
        if isinstance(action, str):
            query = query.where(AuditEntry.action == action)
        elif action is not None:
            query = query.where(AuditEntry.action.in_(list(action)))
        if object_type is not None:
            query = query.where(AuditEntry.object_type == object_type)
        if object_id is not None:
            query = query.where(AuditEntry.object_id == str(object_id))
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        with self._read() as session:
            return [AuditRecord.from_row(row) for row in session.scalars(query)]


def _bounded(value: Any) -> Any:
    """JSON-safe and short: the audit log records what happened, not whole messages."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_bounded(item) for item in list(value)[:50]]
    if isinstance(value, dict):
        return {str(key)[:64]: _bounded(item) for key, item in list(value.items())[:50]}
    return str(value)[:MAX_AUDIT_DETAIL_CHARS]
