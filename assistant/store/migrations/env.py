"""Alembic environment for the store: runs in the caller's locked transaction (`db.migrate`) or, from the
alembic CLI, opens one itself with the same lock; the URL comes from `-x url=`, alembic.ini, or settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from assistant.store.db import make_engine, migration_transaction
from assistant.store.tables import Base, include_in_comparison

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    # Only the CLI configures logging; inside the application its own logging setup stays untouched.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # Imported late: settings pull in the whole configuration stack, needed only from the CLI.
    from assistant.settings import load_settings

    return load_settings().service.database_url


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables for later migrations.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_comparison,
    )
    # The connection is already inside the locked transaction, so Alembic neither begins nor commits it.
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        run_on(given)
        return
    engine = make_engine(database_url(), poolclass=NullPool)
    try:
        with migration_transaction(engine) as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
