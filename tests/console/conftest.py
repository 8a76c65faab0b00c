"""Fixtures for the console: real Flask app, a SQLite file per test, real Redis (db 13), accounts of each
role, and clients that are signed in through the login form or carry a bearer token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from assistant.domain.channels import InboundEvent
from assistant.settings import Settings, load_settings
from assistant.store import AccountStore, ConsoleStore, Store, UserRecord
from tests.conftest import REDIS_SERVER, ROOT
from tests.console.support import PASSWORD, TEST_SECRET_KEY, ConsoleClient, MakeUser, Sent, user_maker
from tests.live_service import flushed_redis

CONSOLE_REDIS_URL = f"{REDIS_SERVER}/13"

ClientFor = Callable[[UserRecord], ConsoleClient]


def console_test_settings(tmp_path: Path, redis_url: str = CONSOLE_REDIS_URL, **overrides: object) -> Settings:
    """Settings of a console under test: a SQLite file and data folder in tmp_path, the given Redis db."""
    service = {"redis_url": redis_url, "database_url": f"sqlite:///{tmp_path / 'console.db'}"}
    service.update(overrides.pop("service", {}))  # type: ignore[call-overload]
    security = {"secret_key": TEST_SECRET_KEY}
    security.update(overrides.pop("security", {}))  # type: ignore[call-overload]
    # The console's tests start from an empty editor and never write into the shipped KB folder; the tests of the
    # one source of truth (tests/console/test_kb_source.py) switch both on.
    kb_sync = {"seed_from_yaml": False, "write_back": False}
    kb_sync.update(overrides.pop("kb_sync", {}))  # type: ignore[call-overload]
    return load_settings(
        kb_dir=ROOT / "knowledge_base",
        data_dir=tmp_path / "data",
        nlu_file=ROOT / "training" / "nlu.yml",
        service=service,
        security=security,
        kb_sync=kb_sync,
        **overrides,
    )


@pytest.fixture()
def console_redis_url() -> str:
    """The Redis db of the console's tests; a suite that owns another db overrides this."""
    return CONSOLE_REDIS_URL


@pytest.fixture()
def console_redis(console_redis_url: str) -> Iterator[Redis]:
    with flushed_redis(console_redis_url) as client:
        yield client


@pytest.fixture()
def console_settings(tmp_path: Path, console_redis: Redis, console_redis_url: str) -> Settings:
    return console_test_settings(tmp_path, redis_url=console_redis_url)


@pytest.fixture()
def enqueued() -> list[InboundEvent]:
    """The webhook events the console app queued (instead of sending them to Celery)."""
    return []


@pytest.fixture()
def console_app(console_settings: Settings, enqueued: list[InboundEvent]) -> Flask:
    from webhooks.app import create_app

    app = create_app(console_settings, enqueue=enqueued.append)
    app.test_client_class = ConsoleClient
    return app


@pytest.fixture()
def accounts(console_app: Flask) -> AccountStore:
    store: AccountStore = console_app.extensions["console.accounts"]()
    return store


@pytest.fixture()
def make_user(accounts: AccountStore) -> MakeUser:
    """make_user(role, queues=(), username=None, password=PASSWORD, capacity=5, display_name=None)."""
    return user_maker(accounts)


@pytest.fixture()
def api_client(console_app: Flask, accounts: AccountStore) -> ClientFor:
    """api_client(user): a test client whose every request carries `Authorization: Bearer <new token>`."""

    def make(user: UserRecord) -> ConsoleClient:
        token = accounts.issue_token(user.id, "tests")
        client = console_app.test_client()
        assert isinstance(client, ConsoleClient)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        client.api_token = token  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture()
def logged_in_client(console_app: Flask) -> Callable[..., ConsoleClient]:
    """logged_in_client(user, password=PASSWORD): signed in through the login form; unsafe requests send
    the session's CSRF token as X-CSRFToken (like htmx) unless the test passes its own header."""

    def make(user: UserRecord, password: str = PASSWORD) -> ConsoleClient:
        client = console_app.test_client()
        assert isinstance(client, ConsoleClient)
        response = client.login(user.username, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


@pytest.fixture()
def store(console_app: Flask) -> Store:
    """The app's own store (its runtime's)."""
    result: Store = console_app.extensions["console.queues.runtime"].store
    return result


@pytest.fixture()
def console(store: Store) -> ConsoleStore:
    return ConsoleStore(store.engine)


@pytest.fixture()
def sent(console_app: Flask) -> Sent:
    """Replies handed to delivery (these tests run no worker; test_queues_e2e.py does)."""
    calls: Sent = []
    console_app.extensions["console.queues.deliver"] = lambda *args: calls.append(args)
    return calls
