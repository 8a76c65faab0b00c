"""AccountStore on SQLite and PostgreSQL: users and queue memberships, passwords, sessions, tokens and the
audit log, through migration 0002 on each backend."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from assistant.store import AccountError, AccountStore, Store

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def accounts(store: Store) -> AccountStore:
    return AccountStore(store.engine)


def test_users_queues_and_presence(accounts: AccountStore) -> None:
    ann = accounts.create_user("ann", PASSWORD, "agent", display_name="Ann A", queues=["support", "urgent"])
    bea = accounts.create_user("bea", PASSWORD, "agent", queues=["support"], capacity=2)
    accounts.create_user("root", PASSWORD, "admin")
    assert ann.queues == ("support", "urgent") and ann.display_name == "Ann A" and not ann.is_online
    accounts.set_online(bea.id, True)
    assert [u.username for u in accounts.users(queue="support")] == ["ann", "bea"]
    assert [u.username for u in accounts.users(role="agent", online=True)] == ["bea"]
    assert [u.username for u in accounts.users(role="admin")] == ["root"]
    assert accounts.set_queues(ann.id, []).queues == ()
    disabled = accounts.update_user(bea.id, is_active=False)
    assert not disabled.is_active and not disabled.is_online  # a disabled agent gets no assignments
    with pytest.raises(AccountError, match="taken"):
        accounts.create_user("ann", PASSWORD, "agent")
    with pytest.raises(AccountError, match="no user"):
        accounts.set_queues(999, ["support"])


def test_passwords_and_sessions(accounts: AccountStore) -> None:
    ann = accounts.create_user("ann", PASSWORD, "agent")
    assert accounts.verify_password("ann", PASSWORD) == ann
    assert accounts.verify_password("ann", PASSWORD + "x") is None
    assert accounts.verify_password("nobody", PASSWORD) is None
    session_id = accounts.session_id(ann.id)
    assert session_id is not None and accounts.user_for_session(session_id) == ann
    accounts.set_password(ann.id, "another-long-password")
    assert accounts.user_for_session(session_id) is None
    assert accounts.user_for_session("1.forged") is None and accounts.user_for_session("x") is None
    assert accounts.verify_password("ann", "another-long-password") is not None


def test_tokens(accounts: AccountStore) -> None:
    ann = accounts.create_user("ann", PASSWORD, "agent")
    token = accounts.issue_token(ann.id, "sync")
    with accounts.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    now = datetime.now(UTC)
    assert accounts.user_for_token(token, at=now) == ann
    assert accounts.tokens(ann.id)[0].last_used_at == now
    accounts.user_for_token(token, at=now + timedelta(seconds=10))  # within a minute: not written again
    assert accounts.tokens(ann.id)[0].last_used_at == now
    token_id = accounts.tokens(ann.id)[0].id
    assert accounts.revoke_token(token_id) and not accounts.revoke_token(token_id)
    assert accounts.user_for_token(token) is None
    assert accounts.tokens(ann.id) == [] and len(accounts.tokens(ann.id, include_revoked=True)) == 1


def test_audit_log(accounts: AccountStore) -> None:
    ann = accounts.create_user("ann", PASSWORD, "agent")
    accounts.audit(None, "login_failed", "user", None, {}, "10.0.0.1", username="mallory")
    accounts.audit(ann, "claim", "escalation", 7, {"queue": "support", "nested": {"k": [1, 2]}}, "10.0.0.2")
    newest, oldest = accounts.audit_entries()
    assert (newest.action, newest.user_id, newest.username, newest.object_id) == ("claim", ann.id, "ann", "7")
    assert newest.details == {"queue": "support", "nested": {"k": [1, 2]}} and newest.ip == "10.0.0.2"
    assert (oldest.user_id, oldest.username) == (None, "mallory")
    assert [e.action for e in accounts.audit_entries(object_type="escalation", object_id=7)] == ["claim"]
    assert [e.action for e in accounts.audit_entries(action=["login_failed", "x"])] == ["login_failed"]
    assert accounts.audit_entries(since=datetime.now(UTC) + timedelta(minutes=1)) == []
