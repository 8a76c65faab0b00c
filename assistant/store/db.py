"""Engines for SQLite (default, WAL) and PostgreSQL (psycopg 3), and the programmatic Alembic upgrade.
`migrate(url)` is idempotent and safe to call at every start from several processes at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from assistant.store.errors import NotFoundError

DEFAULT_DATABASE_URL = "sqlite:///.data/community-assistant.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
# Connections of the engine returned by `read_only()` carry this option, so SQLite may skip the write lock.
READ_ONLY_OPTION = "ca_read_only"
# First half of the two-int advisory lock key; the second half is the schema, so schemas migrate independently.
_MIGRATION_LOCK_CLASS = 0x0CA5_7013
# Alembic's `context` is a process-wide proxy: two threads running env.py at once would clobber each other.
_ALEMBIC_LOCK = threading.Lock()

# The session of the unit of work open in this thread or task (see `Transactions.unit_of_work`), with its engine.
_UNIT: ContextVar[tuple[Engine, Session] | None] = ContextVar("ca_store_unit", default=None)

_Row = TypeVar("_Row")
_Record = TypeVar("_Record")


def backend(url: str | URL) -> str:
    return make_url(url).get_backend_name()


def make_engine(database_url: str = DEFAULT_DATABASE_URL, *, busy_timeout_ms: int = 30_000, **kwargs: Any) -> Engine:
    """An Engine for `database_url`; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE writes."""
    url = make_url(database_url)
    name = url.get_backend_name()
    if name not in SUPPORTED_BACKENDS:
        raise ValueError(f"unsupported database {name!r}: use sqlite:///path or postgresql+psycopg://…")
    if name == "postgresql":
        if url.drivername == "postgresql":
            # Plain postgresql:// would pick psycopg2, which is not a dependency.
            url = url.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    return _sqlite_engine(url, busy_timeout_ms, kwargs)


def _sqlite_engine(url: URL, busy_timeout_ms: int, kwargs: dict[str, Any]) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in str(url)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)  # pooled connections move between threads
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)  # one shared connection, else each checkout is a new empty DB
    elif not url.query.get("uri"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is deferred and skips SELECTs; we emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first, so switching to WAL waits for a concurrent starter instead of failing.
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if not in_memory:
                _switch_to_wal(cursor, busy_timeout_ms)
                cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL, far fewer fsyncs
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock (SQLITE_BUSY_SNAPSHOT);
        # taking the write lock up front makes writers queue on busy_timeout instead of failing.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _switch_to_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """WAL is persistent, so only a database not in it yet is switched. The switch needs an exclusive lock for
    which SQLite does not always call the busy handler (several processes opening a new file at once, one of
    them already migrating): retry for as long as busy_timeout allows instead of failing the connection."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def read_only(engine: Engine) -> Engine:
    """The same pool, but transactions that only read: on SQLite they take no write lock."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def alembic_config(connection: Connection | None = None, database_url: str | None = None) -> Config:
    """Alembic configuration built in code, so no alembic.ini has to be found at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        # ConfigParser interpolation would eat a '%' in a password.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the migration lock until it commits.

    PostgreSQL: a transaction-scoped advisory lock (released by commit or by a crashed process's disconnect).
    SQLite: BEGIN IMMEDIATE, the database's single write lock. Whoever waits reads alembic_version only
    after the winner committed, finds head, and does nothing.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(CAST(:lock_class AS integer), hashtext(current_schema()))"),
                {"lock_class": _MIGRATION_LOCK_CLASS},
            )
        yield connection


def migrate(database: str | Engine = DEFAULT_DATABASE_URL, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (Alembic `upgrade head`); a no-op when already there."""
    engine = make_engine(database) if isinstance(database, str) else database
    try:
        with _ALEMBIC_LOCK, migration_transaction(engine) as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        if isinstance(database, str):
            engine.dispose()


class Transactions:
    """Short write and read-only transactions on one engine: the base of every store in this package."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(read_only(engine), expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Every call of this store (and of any store on the same engine) inside the block runs in one write
        transaction, committed when the block ends and rolled back when it raises: one BEGIN and one COMMIT for a
        use case that writes several times in a row, instead of one each. Inside a unit, a unit is a no-op.
        Keep the block short and free of slow work: on SQLite it holds the database's one write lock."""
        if _UNIT.get() is not None:
            yield
            return
        with self._sessions.begin() as session:
            token = _UNIT.set((self.engine, session))
            try:
                yield
            finally:
                _UNIT.reset(token)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        unit = self._unit()
        if unit is not None:
            yield unit
            return
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        # Inside a unit, reads see its uncommitted writes (on SQLite another connection would not, and would wait).
        unit = self._unit()
        if unit is not None:
            yield unit
            return
        with self._read_sessions.begin() as session:
            yield session

    def _unit(self) -> Session | None:
        unit = _UNIT.get()
        if unit is None:
            return None
        engine, session = unit
        if engine is self.engine:
            return session
        if self._postgres:
            return None  # another pool: its own transaction, outside the unit
        # On SQLite it would wait for the write lock the unit itself holds: a self-deadlock, refused at once.
        raise RuntimeError("a store on another engine was called inside a unit of work")

    def _insert(self, model: type[Any]) -> PgInsert | SqliteInsert:
        # INSERT … ON CONFLICT DO NOTHING settles races without raising, so PostgreSQL does not abort the
        # transaction (and log an error) for every redelivered event.
        return pg_insert(model) if self._postgres else sqlite_insert(model)

    def _read_record(self, model: type[_Row], row_id: int, what: str, record: Callable[[_Row], _Record]) -> _Record:
        """One row by primary key as its record, in a read-only transaction; NotFoundError when there is none."""
        with self._read() as session:
            return record(found(session, model, row_id, what))


def found(session: Session, model: type[_Row], row_id: int, what: str) -> _Row:
    """The row with this primary key, in the caller's transaction; a NotFoundError naming `what` when there is none."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"{what} {row_id}")
    return row


def added(session: Session, row: _Row) -> _Row:
    """`row` added to the caller's transaction and flushed, so its id and column defaults are there to read."""
    session.add(row)
    session.flush()
    return row


def insert_if_new(
    session: Session,
    insert: PgInsert | SqliteInsert,
    unique: Sequence[str],
    values: Mapping[str, Any],
    *,
    where: Any = None,
) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING on the unique columns `unique` (of a partial index, with `where`), in the
    caller's transaction: the new row's id, or None when a row with that key was there already."""
    # The values go as parameters of one statement shape (compiled once, cached), on the session's connection: the
    # ORM's per-call coercion of `.values(...)` cost several ms per message in the worker.
    statement = insert.on_conflict_do_nothing(index_elements=list(unique), index_where=where)
    returning = statement.returning(insert.table.c.id)
    new_id = session.connection().execute(returning, dict(values)).scalar_one_or_none()
    return None if new_id is None else int(new_id)
