"""Fixtures that run every store test on SQLite (a temporary file) and on the real PostgreSQL, each test in its own
schema. PostgreSQL unreachable fails loudly; CA_TEST_POSTGRES=0 deselects those tests and says so."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from assistant.store import Store, migrate

POSTGRES_URL = os.environ.get("CA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
POSTGRES_ENABLED = os.environ.get("CA_TEST_POSTGRES", "1") != "0"
_deselected: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_ENABLED:
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("backend") == "postgresql"
        (dropped if on_postgres else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        _deselected.extend(item.nodeid for item in dropped)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _deselected:
        terminalreporter.write_line(
            f"WARNING: CA_TEST_POSTGRES=0: {len(_deselected)} PostgreSQL store tests were deselected, "
            "so the store is tested on SQLite only",
            yellow=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[URL]:
    """The PostgreSQL server, checked once; a unique schema prefix keeps concurrent test runs apart."""
    url = make_url(POSTGRES_URL)
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    problem: str | None = None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        problem = str(exc).splitlines()[0]
    finally:
        engine.dispose()
    if problem is not None:
        pytest.fail(
            f"PostgreSQL is unreachable at {url.render_as_string(hide_password=True)}: {problem}\n"
            "Start it, point CA_TEST_POSTGRES_URL at one, or set CA_TEST_POSTGRES=0 to run on SQLite only.",
            pytrace=False,
        )
    yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database, no schema yet: a fresh SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        # A folder that does not exist yet: the engine must create it.
        yield f"sqlite:///{tmp_path / 'data' / 'store.db'}"
        return
    base: URL = request.getfixturevalue("postgres_base_url")
    schema = f"ca_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # search_path in the connection options puts every table, alembic_version included, in the schema.
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    migrate(database_url)
    instance = Store.from_url(database_url)
    try:
        yield instance
    finally:
        instance.close()
