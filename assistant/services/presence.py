"""Presence as the console sees it: signing in makes a person online (so automatic assignment counts them without
anyone finding the toggle), signing out offline, and every use of their console notes that they are there; the
beat's assignment treats an online person not heard from for `console.away_after_minutes` as away."""

from __future__ import annotations

from datetime import datetime

from assistant.domain.presence import needs_touch
from assistant.services.common import Audit
from assistant.store import AccountStore, UserRecord


def signed_in(accounts: AccountStore, user: UserRecord, audit: Audit, now: datetime) -> UserRecord:
    updated = accounts.set_online(user.id, True, at=now)
    if not user.is_online:
        audit("presence", "user", user.id, online=True, by="sign_in")
    return updated


def signed_out(accounts: AccountStore, user: UserRecord, audit: Audit, now: datetime) -> None:
    if user.is_online:
        accounts.set_online(user.id, False, at=now)
        audit("presence", "user", user.id, online=False, by="sign_out")


def console_used(accounts: AccountStore, user: UserRecord, now: datetime) -> None:
    """A request from the user's console session: their last_seen_at moves on (at most once a minute)."""
    if needs_touch(user.last_seen_at, now):
        accounts.touch(user.id, now)
