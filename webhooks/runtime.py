"""The process-wide objects of the service (settings, engine, store, Redis, adapters, HTTP client), built
once per process from the settings and shared by the Flask views and the Celery tasks; the engine is swapped
in place when a new index version is published (live re-indexing, issue 5)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import httpx
from limits.storage import RedisStorage
from redis import Redis

from assistant.business_hours import BusinessHours
from assistant.embeddings import shared_encoder
from assistant.index_versions import Pointer, load_version, read_pointer
from assistant.pipeline import Engine
from assistant.settings import Settings, load_settings
from assistant.signal_models import SignalModels
from assistant.store.db import migrate
from assistant.store.repository import Store
from webhooks.adapters.base import PlatformAdapter
from webhooks.adapters.registry import enabled_adapters
from webhooks.rate_limits import OutboundRateLimits

log = logging.getLogger("community_assistant.runtime")


@dataclass
class Runtime:
    settings: Settings
    # The engine being served and the index version it was built from (None: the legacy layout).
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
        pointer = None
        try:
            pointer = read_pointer(self.settings.index_dir)
            if pointer is not None:
                self._load(pointer)
                return
        except Exception:  # a broken pointer or version: start on the legacy layout rather than not at all
            log.exception("the published index version failed to load; trying the legacy index")
            self._failed_version = pointer.version if pointer is not None else None
        self._load(None)

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

    def _load(self, pointer: Pointer | None) -> None:
        if pointer is None:
            self._engine = Engine.load(self.settings)
            self.served_version = None
            return
        encoder = shared_encoder()
        assets = load_version(self.settings.index_dir, pointer.version, encoder.name)
        signals = self._signals if self._engine is None else self._engine.signals
        engine = Engine.assemble(self.settings, encoder, assets.kb, assets.index, assets.intents, signals)
        self._engine, self.served_version = engine, pointer.version
        log.info("serving index version %s (KB %s)", pointer.version, pointer.kb_version)

    @cached_property
    def _signals(self) -> SignalModels:
        return SignalModels.load(self.settings.models_dir, shared_encoder().name)

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
