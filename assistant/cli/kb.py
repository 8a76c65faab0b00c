"""`assistant kb check | import | export`: the knowledge base's YAML folder and the editor's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from assistant.cli.options import folder_options, settings_from
from assistant.errors import BadInput
from assistant.knowledge.kb_import import ParsedImport, read_import
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
@click.option(
    "--publish",
    is_flag=True,
    help="Publish new and changed entries (else they are drafts). A live entry whose published answer differs is "
    "never overwritten: it stays live and the import becomes a draft revision of it (a conflict).",
)
@click.option(
    "--responses",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Rasa only: the domain/responses file with the `utter_faq/...` answers (else SOURCE's own `responses:`).",
)
@click.option("--lang", help="Rasa only: the language of the examples and answers (default: the default language).")
@click.option("--to-db", is_flag=True, hidden=True, help="Kept for old scripts: the database is always the target.")
@folder_options
def kb_import(
    source: Path,
    target_file: str,
    publish: bool,
    responses: Path | None,
    lang: str | None,
    to_db: bool,
    kb_dir: Path | None,
    data_dir: Path | None,
) -> None:
    """Import into the live KB (the editor's database): CSV/TSV/JSONL rows (entry_id, question, answer, lang), a
    Rasa NLU file's `faq/...` retrieval intents, or a KB folder. All or nothing; says what it added, left unchanged
    and found in conflict. Names that are not valid ids are kept as labels."""
    from assistant.services.kb_source import editor_store, write_back

    settings = settings_from(kb_dir, data_dir)
    is_rasa = source.suffix.lower() in (".yml", ".yaml")
    if (source.is_dir() or not is_rasa) and (responses is not None or lang is not None):
        raise BadInput("--responses and --lang are for Rasa files (.yml); a table has a `lang` column")
    store = editor_store(settings)
    if source.is_dir():
        result = store.import_yaml(source, author="cli", publish=publish)
    else:
        rasa_lang = (lang or settings.default_language) if is_rasa else None
        _echo_parsed(source, read_import(source, responses, rasa_lang))
        result = store.import_rows(
            source, author="cli", publish=publish, target_file=target_file, responses=responses, lang=rasa_lang
        )
    added = f"{result.created} {'entries published' if publish else 'drafts'}"
    click.echo(
        f"{source}: added {added}, {result.updated} updated{'' if publish else ' (drafts)'}, "
        f"{result.unchanged} unchanged, {len(result.conflicts)} conflicts"
    )
    for entry_id in result.conflicts:
        click.secho(
            f"  conflict: {entry_id}: its published answer differs; it stays live and the import is a draft "
            "revision of it, to review in the editor",
            fg="yellow",
        )
    written = write_back(settings, store, result.live_changed)
    if result.live_changed:
        click.echo(
            f"{len(result.live_changed)} published (YAML written: {', '.join(str(p) for p in written) or 'none'}); "
            "customers get them from the next index version: `assistant live-index publish`"
        )


def _echo_parsed(source: Path, parsed: ParsedImport) -> None:
    if parsed.derived_ids:
        click.echo("ids derived from names that are not valid ids (the name is kept as the entry's label):")
        for derived in parsed.derived_ids:
            why = "  (nothing of the name fits an id: a hash of it)" if derived.hashed else ""
            click.echo(f"  {derived.original} -> {derived.entry_id}{why}")
    if parsed.skipped_rows:
        rows = ", ".join(str(n) for n in parsed.skipped_rows)
        click.secho(f"warning: {source}: skipped blank row(s) {rows}", fg="yellow", err=True)
    for note in parsed.notes:
        click.secho(f"note: {source}: {note}", fg="yellow", err=True)


def _kb_store(settings: Settings) -> Any:
    from assistant.services.kb_source import editor_store

    return editor_store(settings)


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
