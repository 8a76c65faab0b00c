"""`assistant kb check | import | export`: the knowledge base's YAML folder and the editor's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from assistant.cli.options import folder_options, settings_from
from assistant.errors import BadInput
from assistant.knowledge.kb_import import import_file
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base
from assistant.settings import Settings


@click.group()
def kb() -> None:
    """Check, import and export the knowledge base."""


@kb.command("check")
@folder_options
def kb_check(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Validate every KB file; report entries, languages and missing translations."""
    settings = settings_from(kb_dir, data_dir)
    knowledge = load_knowledge_base(settings.kb_dir)
    published = knowledge.published()
    click.echo(f"{len(knowledge)} entries ({len(published)} published), KB version {knowledge.version}")
    for entry in published:
        missing = sorted(set(settings.languages) - set(entry.answers))
        if missing:
            click.secho(f"  {entry.id}: no answer in {', '.join(missing)}", fg="yellow")


@kb.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--file", "target_file", default="imported.yml", show_default=True, help="KB file that receives new entries."
)
@click.option("--status", type=click.Choice(["published", "draft"]), default="published", show_default=True)
@click.option(
    "--responses",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Rasa only: the domain/responses file with the `utter_faq/...` answers (else SOURCE's own `responses:`).",
)
@click.option("--lang", help="Rasa only: the language of the examples and answers (default: the default language).")
@click.option(
    "--to-db",
    is_flag=True,
    help="Into the editor's database instead of the YAML: SOURCE is a KB folder (YAML, statuses kept) or a "
    "CSV/TSV/JSONL file (rows become drafts). All or nothing.",
)
@folder_options
def kb_import(
    source: Path,
    target_file: str,
    status: str,
    responses: Path | None,
    lang: str | None,
    to_db: bool,
    kb_dir: Path | None,
    data_dir: Path | None,
) -> None:
    """Import CSV/TSV/JSONL rows (entry_id, question, answer, lang) or a Rasa NLU file's `faq/...` retrieval
    intents into the KB's YAML; all or nothing. Names that are not valid ids are kept as labels."""
    settings = settings_from(kb_dir, data_dir)
    if to_db:
        _kb_import_to_db(settings, source)
        return
    if source.is_dir():
        raise BadInput(f"{source} is a folder: import a CSV/TSV/JSONL or Rasa file, or a KB folder with --to-db")
    is_rasa = source.suffix.lower() in (".yml", ".yaml")
    if not is_rasa and (responses is not None or lang is not None):
        raise BadInput("--responses and --lang are for Rasa files (.yml); a table has a `lang` column")
    summary = import_file(
        source,
        settings.kb_dir,
        target_file=target_file,
        status=status,
        responses=responses,
        lang=(lang or settings.default_language) if is_rasa else None,
    )
    if summary.derived_ids:
        click.echo("ids derived from names that are not valid ids (the name is kept as the entry's label):")
        for derived in summary.derived_ids:
            why = "  (nothing of the name fits an id: a hash of it)" if derived.hashed else ""
            click.echo(f"  {derived.original} -> {derived.entry_id}{why}")
    if summary.skipped_rows:
        rows = ", ".join(str(n) for n in summary.skipped_rows)
        click.secho(f"warning: {source}: skipped blank row(s) {rows}", fg="yellow", err=True)
    for note in summary.notes:
        click.secho(f"note: {source}: {note}", fg="yellow", err=True)
    click.echo(
        f"{summary.rows} rows: {summary.entries_created} entries created, {summary.entries_updated} updated, "
        f"{summary.questions_added} phrasings added, {summary.answers_set} answers set; wrote "
        f"{', '.join(str(p) for p in summary.files_written) or 'nothing'}. Run `assistant train` to use them."
    )


def _kb_store(settings: Settings) -> Any:
    from assistant.store import KbStore, migrate
    from assistant.store.db import make_engine

    migrate(settings.service.database_url)
    return KbStore(make_engine(settings.service.database_url))


def _kb_import_to_db(settings: Settings, source: Path) -> None:
    store = _kb_store(settings)
    load = store.import_yaml if source.is_dir() else store.import_rows
    result = load(source, author="cli")
    click.echo(
        f"database: {result.created} entries created, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.published} published"
    )


@kb.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--from-db", is_flag=True, help="Export the editor's database (live versions of published entries, drafts)."
)
@folder_options
def kb_export(out_dir: Path, from_db: bool, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Write the KB as YAML files into OUT_DIR (one per source file)."""
    settings = settings_from(kb_dir, data_dir)
    if from_db:
        written = _kb_store(settings).export_yaml(out_dir)
    else:
        written = export_knowledge_base(load_knowledge_base(settings.kb_dir), out_dir)
    click.echo(f"wrote {len(written)} files to {out_dir}")
