"""Outbound rate limits per platform and per conversation, shared by every worker through Redis
(moving windows from the `limits` library), so many workers on many machines respect one budget."""

from __future__ import annotations

import math

from limits import RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from assistant.settings import Settings


class OutboundRateLimits:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.limiter = MovingWindowRateLimiter(storage)

    def allow(self, platform: str, conversation_key: str) -> bool:
        """Take one send from the platform's and the conversation's budget; False means wait and retry."""
        config = self.settings.platforms.get(platform)
        if config is None:
            return True
        per_platform = RateLimitItemPerSecond(max(1, math.floor(config.requests_per_second)))
        per_chat = RateLimitItemPerSecond(max(1, math.floor(config.per_chat_per_second)))
        if not self.limiter.test(per_platform, "platform", platform):
            return False
        if not self.limiter.hit(per_chat, "chat", platform, conversation_key):
            return False
        return self.limiter.hit(per_platform, "platform", platform)
