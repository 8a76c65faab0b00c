"""Redis-backed dedupe of platform event ids: `SET NX EX` claims an event once per retry window, and a
claim is released when the event could not be queued, so the platform's retry gets another chance."""

from __future__ import annotations

from redis import Redis

KEY_PREFIX = "ca:event:"


class EventDeduplicator:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def claim(self, platform: str, event_id: str, ttl_seconds: int) -> bool:
        """True the first time an event is seen within `ttl_seconds`; False for redeliveries and retries."""
        return bool(self.redis.set(f"{KEY_PREFIX}{platform}:{event_id}", b"1", nx=True, ex=ttl_seconds))

    def release(self, platform: str, event_id: str) -> None:
        self.redis.delete(f"{KEY_PREFIX}{platform}:{event_id}")
