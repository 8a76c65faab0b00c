"""Login throttling: failed sign-ins counted in Redis per username and per client address."""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from assistant.settings import SecurityConfig

THROTTLE_EXTENSION = "console.login_throttle"


class LoginThrottle:
    """Failed sign-ins counted in Redis per username and per client address (moving window, `limits`).
    Counting only failures means a person who knows the password is never locked out by their own use."""

    def __init__(self, security: SecurityConfig, redis_url: str) -> None:
        self.limiter = MovingWindowRateLimiter(RedisStorage(redis_url))
        self.per_user = RateLimitItemPerMinute(security.login_max_failures, security.login_window_minutes)
        self.per_ip = RateLimitItemPerMinute(security.login_max_failures_per_ip, security.login_window_minutes)

    def retry_after(self, username: str, ip: str) -> int | None:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        waits = []
        for item, key in ((self.per_user, username), (self.per_ip, ip)):
            if not self.limiter.test(item, "ca-login", key):
                reset = self.limiter.get_window_stats(item, "ca-login", key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def failed(self, username: str, ip: str) -> None:
        self.limiter.hit(self.per_user, "ca-login", username)
        self.limiter.hit(self.per_ip, "ca-login", ip)

    def succeeded(self, username: str) -> None:
        self.limiter.clear(self.per_user, "ca-login", username)


def throttle() -> LoginThrottle:
    found: LoginThrottle = current_app.extensions[THROTTLE_EXTENSION]
    return found
