"""Whether a console user is there to be given work: online from sign-in, away once nothing was heard from their
console for a while, offline when they said so (the header's toggle) or signed out. Pure: the store keeps
`is_online` and `last_seen_at`, the console notes activity, the beat's assignment asks `presence`."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

# A request notes activity at most this often, so an open console does not take the write lock on every poll.
TOUCH_INTERVAL = timedelta(minutes=1)


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


def presence(is_online: bool, last_seen_at: datetime | None, now: datetime, away_after: timedelta | None) -> Presence:
    """Online while the console was heard from within `away_after` (None: never away); away past it."""
    if not is_online:
        return Presence.OFFLINE
    if away_after is None:
        return Presence.ONLINE
    if last_seen_at is None or now - last_seen_at > away_after:
        return Presence.AWAY
    return Presence.ONLINE


def needs_touch(last_seen_at: datetime | None, now: datetime, interval: timedelta = TOUCH_INTERVAL) -> bool:
    """Whether a request at `now` should write `last_seen_at` again."""
    return last_seen_at is None or now - last_seen_at >= interval
