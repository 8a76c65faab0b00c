"""`assistant live-index …`: build and publish a new index version (what the `ca.reindex_kb` task does), list the
versions, roll the served version back. Workers follow the `current` pointer without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import Engine

from assistant.knowledge_base import KnowledgeBase, load_knowledge_base
from assistant.settings import Settings, load_settings

if TYPE_CHECKING:
    from assistant.index_versions import VersionInfo


def published_kb(settings: Settings, source: str, database: Engine | None = None) -> KnowledgeBase:
    """The KB to index: `db` (the editor's published entries), `yaml` (the KB folder), or `auto` — the database
    once any entry in it was ever published (the team edits in the console; archiving everything then really
    empties the KB), else the YAML folder (a YAML-only team, perhaps with a few drafts from the gap report)."""
    if source != "yaml":
        from assistant.store.db import make_engine, migrate
        from assistant.store.kb_store import KbStore

        if database is None:
            migrate(settings.service.database_url)
            database = make_engine(settings.service.database_url)
        store = KbStore(database)
        records, _ = store.search(None, None, limit=1_000_000)
        if source == "db" or any(record.is_live or record.status == "archived" for record in records):
            return store.published_kb()
    return load_knowledge_base(settings.kb_dir)


@click.group("live-index")
def live_index() -> None:
    """Versioned index builds served live by every worker (see README: live re-indexing)."""


@live_index.command("publish")
@click.option("--source", type=click.Choice(["auto", "db", "yaml"]), default="auto", show_default=True)
@click.option("--reason", default="cli", show_default=True)
@click.option("--kb-dir", type=click.Path(path_type=Path), help="The knowledge base folder.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")
@click.option("--recalibrate", is_flag=True, help="Train and calibrate the matcher from scratch.")
def publish(source: str, reason: str, kb_dir: Path | None, data_dir: Path | None, recalibrate: bool) -> None:
    """Build the next version (only new phrasings are encoded) and make it the served one."""
    from assistant.embeddings import shared_encoder
    from assistant.index_versions import publish_version

    settings = load_settings(kb_dir=kb_dir, data_dir=data_dir)
    kb = published_kb(settings, source)
    info = publish_version(settings, kb, shared_encoder(), reason, recalibrate=recalibrate, published=_echo_version)
    for d in info.near_duplicates[:20]:
        click.secho(
            f"near duplicate ({d['similarity']:.2f}): {d['entry_id']}: {d['text']!r} ~ "
            f"{d['other_entry_id']}: {d['other_text']!r}",
            fg="yellow",
        )


def _echo_version(info: VersionInfo) -> None:
    click.echo(
        f"version {info.version} is live: {info.phrasings} phrasings ({info.encoded} encoded, {info.reused} reused), "
        f"matcher {info.matcher_update}, {info.seconds:.1f}s"
    )


@live_index.command("list")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")
def list_versions(data_dir: Path | None) -> None:
    """The complete versions, newest last; * marks the served one."""
    from assistant.index_versions import read_pointer, versions

    settings = load_settings(data_dir=data_dir)
    pointer = read_pointer(settings.index_dir)
    found = versions(settings.index_dir)
    if not found:
        click.echo("no versions: the legacy index (`assistant index`) is served")
    for v in found:
        mark = "*" if pointer and pointer.version == v.version else " "
        at = datetime.fromtimestamp(v.built_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{mark} {v.version:>4}  {at}  KB {v.kb_version}  {v.phrasings} phrasings  "
            f"{len(v.near_duplicates)} near dup.  {v.reason}"
        )


@live_index.command("rollback")
@click.argument("version", type=int, required=False)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")
def rollback_command(version: int | None, data_dir: Path | None) -> None:
    """Serve VERSION again (default: the one before the served one)."""
    from assistant.index_versions import rollback

    settings = load_settings(data_dir=data_dir)
    pointer = rollback(settings.index_dir, version)  # no such version: FileNotFoundError, exit 2 (assistant.cli)
    click.echo(f"version {pointer.version} is live again (KB {pointer.kb_version})")
