"""One source of truth for the KB: the editor's database is the live KB, and the YAML folder follows it.

- `editor_store` opens the editor's store for any process (the console, a re-index, a `kb` command) and, the first
  time, imports the KB folder into a database whose editor has never published (a fresh install), so the editor is
  never empty and the database holds what the folder held.
- `write_back` writes the entries whose live version changed into their YAML files (or `kb_sync.export_dir`) with a
  round-trip YAML library, so a git diff shows only the changed answer."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from assistant.knowledge.yaml_writeback import write_entries
from assistant.settings import Settings
from assistant.store import ImportResult, KbStore

log = logging.getLogger("community_assistant.kb_source")
WRITE_LOCK = ".kb-write-back.lock"


def seed(settings: Settings, store: KbStore) -> ImportResult | None:
    """The KB folder imported into a database whose editor has never published; None when nothing was done."""
    if not settings.kb_sync.seed_from_yaml or not settings.kb_dir.is_dir():
        return None
    result = store.seed_yaml(settings.kb_dir)
    if result is not None and result.created:
        log.info(
            "first start: imported %s entries (%s published) of %s into the KB editor's database",
            result.created,
            result.published,
            settings.kb_dir,
        )
    return result


def editor_store(settings: Settings, database: Engine | None = None) -> KbStore:
    """The editor's store on `database` (default: the configured one, migrated), seeded on first use."""
    if database is None:
        from assistant.store.db import make_engine, migrate

        migrate(settings.service.database_url)
        database = make_engine(settings.service.database_url)
    store = KbStore(database)
    seed(settings, store)
    return store


@contextmanager
def _write_lock(settings: Settings) -> Iterator[None]:
    """One write-back at a time per data folder (the web processes and the CLI each publish): a file is read,
    edited and replaced whole, so two writers at once would lose one's change. The lock file lives in the data
    folder, not in the team's git checkout."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / WRITE_LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def yaml_dir(settings: Settings) -> Path:
    return settings.kb_sync.export_dir or settings.kb_dir


def write_back(settings: Settings, store: KbStore, entry_ids: list[str] | tuple[str, ...]) -> list[Path]:
    """Write these entries, as customers now get them, into their YAML files; returns the files changed. A failure
    is logged, never raised: the database already holds the change, and the next publish writes the file again."""
    if not settings.kb_sync.write_back or not entry_ids:
        return []
    try:
        with _write_lock(settings):
            # Read under the lock: two publishes at once each write what is live after both.
            written = write_entries(yaml_dir(settings), store.file_entries(list(entry_ids)))
    except OSError:
        log.exception("could not write %s back to the YAML in %s", ", ".join(entry_ids), yaml_dir(settings))
        return []
    if written:
        log.info("wrote %s back to %s", ", ".join(entry_ids), ", ".join(str(p) for p in written))
    return written
