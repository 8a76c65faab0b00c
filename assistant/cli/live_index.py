"""`assistant live-index …`: build and publish a new index version of the published KB (what the `ca.reindex_kb`
task does), list the versions, roll the served version back. Workers follow the `current` pointer without a
restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.settings import load_settings

if TYPE_CHECKING:
    from assistant.knowledge.index_versions import VersionInfo


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
    from assistant.nlu.embeddings import shared_encoder
    from assistant.services.publishing import reindex

    settings = load_settings(kb_dir=kb_dir, data_dir=data_dir)
    info = reindex(settings, shared_encoder(), reason, echo_version, source=source, recalibrate=recalibrate)
    echo_near_duplicates(info)


def echo_near_duplicates(info: VersionInfo) -> None:
    """The near duplicates a build added (the first 20), for the editor to merge or tell apart."""
    for d in info.near_duplicates[:20]:
        click.secho(
            f"near duplicate ({d['similarity']:.2f}): {d['entry_id']}: {d['text']!r} ~ "
            f"{d['other_entry_id']}: {d['other_text']!r}",
            fg="yellow",
        )


def echo_version(info: VersionInfo) -> None:
    """One line per version made live (a publish may make a recalibrated one right after)."""
    click.echo(
        f"version {info.version} is live: {info.phrasings} phrasings ({info.encoded} encoded, {info.reused} reused), "
        f"matcher {info.matcher_update}, {info.seconds:.1f}s"
    )


@live_index.command("list")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")
def list_versions(data_dir: Path | None) -> None:
    """The complete versions, newest last; * marks the served one."""
    from assistant.knowledge.index_versions import read_pointer, versions

    settings = load_settings(data_dir=data_dir)
    pointer = read_pointer(settings.index_dir)
    found = versions(settings.index_dir)
    if not found:
        click.echo("no versions yet: `assistant train` builds the first one")
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
    from assistant.services.publishing import roll_back

    settings = load_settings(data_dir=data_dir)
    # No such version: FileNotFoundError, exit 2 (assistant.cli); this process serves nothing to refresh.
    pointer = roll_back(settings, lambda: None, version)
    click.echo(f"version {pointer.version} is live again (KB {pointer.kb_version})")
