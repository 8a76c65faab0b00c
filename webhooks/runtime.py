"""The objects of the service (settings, engine, store, Redis, adapters, HTTP client), built from the settings by the
app factory, kept on the Flask app (`app.extensions[RUNTIME_EXTENSION]`) and shared by its views and the Celery
tasks; the engine is swapped in place when a new index version is published (live re-indexing, issue 5). It also
hands the use cases of `assistant.services` their dependencies (`inbound`, `outbox`, `escalations`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import httpx
from limits.storage import RedisStorage
from redis import Redis
from redis.lock import Lock

from assistant.domain.business_hours import BusinessHours
from assistant.domain.channels import Channel, OutboundMessage, PlatformRules, SendResult
from assistant.knowledge.index_migration import published_pointer
from assistant.knowledge.index_versions import Pointer, read_pointer
from assistant.nlu.embeddings import shared_encoder
from assistant.pipeline import Engine
from assistant.services.delivery import Clock, Outbox
from assistant.services.escalate import Escalations
from assistant.services.inbound import ConversationBusyError, Inbound
from assistant.settings import Settings
from assistant.store import Store
from assistant.store.db import migrate
from webhooks.adapters.base import PlatformAdapter
from webhooks.adapters.registry import enabled_adapters
from webhooks.rate_limits import OutboundRateLimits

log = logging.getLogger("community_assistant.runtime")
# Where the app factory keeps the runtime on its Flask app (the Celery tasks read it from `current_app`).
RUNTIME_EXTENSION = "community_assistant.runtime"
LOCK_PREFIX = "ca:lock:conversation:"
# Where round robin remembers who got the last escalation of each queue (shared by every beat and worker).
ROUND_ROBIN_KEY = "ca:console:round-robin"


@dataclass
class Runtime:
    settings: Settings
    # The engine being served and the index version it was built from (None: nothing loaded yet).
    _engine: Engine | None = field(default=None, init=False, repr=False)
    served_version: int | None = field(default=None, init=False)
    _checked_at: float = field(default=0.0, init=False, repr=False)
    _failed_version: int | None = field(default=None, init=False, repr=False)
    _swap_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def engine(self) -> Engine:
        """The engine to use for this message. At most every `live_index.check_seconds` one small file is read to
        see whether a new index version was published; if so this caller loads it and swaps it in, while other
        threads keep using the old engine. There is never a moment without an engine, and a version that fails
        to load leaves the old one serving."""
        engine = self._engine
        if engine is None:
            with self._swap_lock:
                if self._engine is None:
                    self._first_load()
                engine = self._engine
            assert engine is not None
            return engine
        now = time.monotonic()
        if now - self._checked_at >= self.settings.live_index.check_seconds:
            self._checked_at = now
            self.refresh()
        return self._engine or engine

    @engine.setter
    def engine(self, engine: Engine) -> None:
        self._engine = engine

    def _first_load(self) -> None:
        # A data folder in the legacy layout becomes version 1 here; nothing published is a NotReady.
        self._load(published_pointer(self.settings, shared_encoder()))

    def refresh(self) -> bool:
        """Swap to the published version if it is not the served one; True when a swap happened."""
        try:
            pointer = read_pointer(self.settings.index_dir)
        except (OSError, ValueError, KeyError, TypeError):  # a pointer being hand-edited or a full disk
            log.exception("cannot read the index pointer; still serving version %s", self.served_version)
            return False
        if pointer is None or pointer.version in (self.served_version, self._failed_version):
            return False
        if not self._swap_lock.acquire(blocking=False):
            return False  # another thread is loading it; keep answering with the old engine meanwhile
        try:
            if pointer.version == self.served_version:
                return False
            try:
                self._load(pointer)
            except Exception:  # a broken build must not take the service down: keep serving the old engine
                log.exception("index version %s failed to load; still serving %s", pointer.version, self.served_version)
                self._failed_version = pointer.version
                return False
            return True
        finally:
            self._swap_lock.release()

    def _load(self, pointer: Pointer) -> None:
        # The signal models are not part of a version: a swap keeps the ones already loaded.
        signals = self._engine.signals if self._engine is not None else None
        engine = Engine.load(self.settings, shared_encoder(), signals, pointer.version)
        self._engine, self.served_version = engine, pointer.version
        log.info("serving index version %s (KB %s)", pointer.version, pointer.kb_version)

    @cached_property
    def redis(self) -> Redis:
        return Redis.from_url(self.settings.service.redis_url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def store(self) -> Store:
        migrate(self.settings.service.database_url)
        return Store.from_url(self.settings.service.database_url)

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

    @cached_property
    def channels(self) -> dict[str, Channel]:
        return {name: AdapterChannel(adapter, self.http) for name, adapter in self.adapters.items()}

    @cached_property
    def escalations(self) -> Escalations:
        return Escalations(self.store, self.settings, self.hours)

    def conversation_lock(self, key: str) -> Lock:
        """The Redis lock every worker takes before deciding a message of the conversation `key`."""
        service = self.settings.service
        lock: Lock = self.redis.lock(
            f"{LOCK_PREFIX}{key}",
            timeout=service.conversation_lock_seconds,
            blocking_timeout=service.conversation_lock_wait_seconds,
        )
        return lock

    @contextmanager
    def deciding_lock(self, key: str) -> Iterator[None]:
        """The conversation lock as the inbound use case takes it: ConversationBusyError when another worker still
        holds it after `conversation_lock_wait_seconds`."""
        lock = self.conversation_lock(key)
        if not lock.acquire():
            raise ConversationBusyError(f"another worker is deciding a message of {key}")
        try:
            yield
        finally:
            lock.release()

    def inbound(self) -> Inbound:
        """The inbound use case's dependencies; its engine is the one serving when it decides (a new index version
        swaps it), loaded only then."""
        return Inbound(
            self.store,
            lambda: self.engine,
            self.deciding_lock,
            self.escalations,
            self.settings.reliability.process_max_retries,
        )

    def outbox(self, clock: Clock | None = None) -> Outbox:
        """The delivery use case's dependencies; `clock` is the wall clock unless a caller fixes the time."""
        return Outbox(
            self.store,
            self.channels,
            self.rate_limits.allow,
            self.escalations,
            self.settings.service.send_max_retries,
            clock or utc_now,
            self.settings.service.send_timeout_seconds,
            self.settings.reliability.outbox_deadline_seconds,
        )

    @cached_property
    def round_robin(self) -> RedisRoundRobin:
        return RedisRoundRobin(self.redis)


def utc_now() -> datetime:
    return datetime.now(UTC)


class RedisRoundRobin:
    """Round robin's memory in one Redis hash (queue → the agent id who got its last escalation), so every beat and
    worker continues where the last one stopped."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def load(self) -> dict[str, int]:
        raw = self.redis.hgetall(ROUND_ROBIN_KEY)
        return {(key.decode() if isinstance(key, bytes) else key): int(value) for key, value in raw.items()}

    def save(self, last: Mapping[str, int]) -> None:
        self.redis.hset(ROUND_ROBIN_KEY, mapping={queue: str(agent_id) for queue, agent_id in last.items()})


@dataclass(frozen=True)
class AdapterChannel:
    """A platform adapter bound to the runtime's HTTP client: the `Channel` the delivery use case sends through."""

    adapter: PlatformAdapter
    http: httpx.Client

    @property
    def rules(self) -> PlatformRules:
        return self.adapter.rules

    def send(self, message: OutboundMessage) -> SendResult:
        return self.adapter.send(self.http, message)
