"""The process-wide objects of the service (settings, engine, store, Redis, adapters, HTTP client), built
once per process from the settings and shared by the Flask views and the Celery tasks."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import httpx
from limits.storage import RedisStorage
from redis import Redis

from assistant.business_hours import BusinessHours
from assistant.pipeline import Engine
from assistant.settings import Settings, load_settings
from assistant.store.db import migrate
from assistant.store.repository import Store
from webhooks.adapters.base import PlatformAdapter
from webhooks.adapters.registry import enabled_adapters
from webhooks.rate_limits import OutboundRateLimits


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def redis(self) -> Redis:
        return Redis.from_url(self.settings.service.redis_url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def store(self) -> Store:
        migrate(self.settings.service.database_url)
        return Store.from_url(self.settings.service.database_url)

    @cached_property
    def engine(self) -> Engine:
        return Engine.load(self.settings)

    @cached_property
    def adapters(self) -> dict[str, PlatformAdapter]:
        return enabled_adapters(self.settings)

    @cached_property
    def http(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.service.send_timeout_seconds)

    @cached_property
    def rate_limits(self) -> OutboundRateLimits:
        return OutboundRateLimits(self.settings, RedisStorage(self.settings.service.redis_url))

    @cached_property
    def hours(self) -> BusinessHours:
        return BusinessHours.from_config(self.settings.business_hours)


_runtime: Runtime | None = None
_lock = threading.Lock()


def current_runtime() -> Runtime:
    """The runtime of this process, built from the environment on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime(load_settings())
        return _runtime


def install_runtime(runtime: Runtime) -> None:
    """Use this runtime in this process (the app factory and tests call it)."""
    global _runtime
    with _lock:
        _runtime = runtime
