"""The `assistant` command: build and train, ask and replay (shadow mode) and the demo (`assistant.cli.engine`),
manage the KB, run the service and the evaluation."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from assistant.cli.engine import ask, demo, index, ready_or_train, replay, train
from assistant.cli.gaps import gaps
from assistant.cli.live_index import live_index
from assistant.cli.options import folder_options, settings_from
from assistant.cli.users import users
from assistant.domain.messages import EscalationStatus, HandoffState
from assistant.errors import AssistantError, BadInput
from assistant.knowledge.kb_import import import_file
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base
from assistant.settings import Settings, load_settings

# Errors a user can fix, shown as one clear line, never as a traceback: every kind of the library's tree
# (assistant.errors) and the standard library's for a missing file or a malformed value.
USER_ERRORS = (AssistantError, FileNotFoundError, ValueError)
# One exit code for every kind, as click gives usage errors: fix the input or the state and retry (the message
# says which); 1 stays a bug, with its traceback.
USER_ERROR_EXIT = 2


def fail(error: Exception) -> NoReturn:
    click.secho(f"error: {error}", fg="red", err=True)
    sys.exit(USER_ERROR_EXIT)


class AssistantGroup(click.Group):
    """The `assistant` command: the one place where a user error of any subcommand (`users`, `gaps` and
    `live-index` included) becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            fail(error)


@click.group(cls=AssistantGroup)
@click.version_option(package_name="community-assistant")
def main() -> None:
    """community-assistant: a multilingual FAQ auto-responder that knows when to hand over to a person."""


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@folder_options
def serve(bind: str, workers: int, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run the webhook service under gunicorn (production); settings come from TOML and environment."""
    import os

    _export_folders(kb_dir, data_dir)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(  # noqa: S606 - replace this process with gunicorn, no shell involved
        str(gunicorn),
        [str(gunicorn), "--bind", bind, "--workers", str(workers), "--access-logfile", "-", "webhooks.wsgi:app"],
    )


@main.command()
@click.option("--concurrency", default=1, show_default=True)
@click.option(
    "--beat",
    is_flag=True,
    help="Also run Celery beat (the console's SLA and assignment timers) inside this worker; use it on one "
    "worker only, or run `assistant beat` once instead.",
)
@folder_options
def worker(concurrency: int, beat: bool, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run a Celery worker that decides and replies; start as many as you like against one Redis."""
    import os

    _export_folders(kb_dir, data_dir)
    celery = Path(sys.executable).with_name("celery")
    arguments = [
        str(celery),
        "-A",
        "webhooks.worker_app:celery_app",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--queues",
        "community-assistant",
    ]
    if beat:
        arguments += ["--beat", "--schedule", str(_beat_schedule_file())]
    os.execv(str(celery), arguments)  # noqa: S606 - replace this process with the Celery worker, no shell involved


@main.command()
@folder_options
def beat(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run Celery beat: every `console.beat_interval_seconds` it flags SLA breaches and auto-assigns open
    escalations. Run exactly one per deployment."""
    import os

    _export_folders(kb_dir, data_dir)
    celery = Path(sys.executable).with_name("celery")
    os.execv(  # noqa: S606 - replace this process with Celery beat, no shell involved
        str(celery),
        [
            str(celery),
            "-A",
            "webhooks.worker_app:celery_app",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(_beat_schedule_file()),
        ],
    )


def _beat_schedule_file() -> Path:
    """Beat's own bookkeeping (last run times) lives with the other data, not in the working directory."""
    data_dir = load_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / "celerybeat-schedule"


def _export_folders(kb_dir: Path | None, data_dir: Path | None) -> None:
    import os

    if kb_dir:
        os.environ["CA_KB_DIR"] = str(kb_dir)
    if data_dir:
        os.environ["CA_DATA_DIR"] = str(data_dir)


@main.group()
def telegram() -> None:
    """Telegram set-up."""


@telegram.command("set-webhook")
@click.option("--url", help="Public HTTPS URL of /webhooks/telegram (default: service.public_base_url + path).")
def telegram_set_webhook(url: str | None) -> None:
    """Register the webhook with Telegram once (never on every start)."""
    import httpx

    from webhooks.adapters.telegram import set_webhook

    settings = load_settings()
    target = url or f"{settings.service.public_base_url.rstrip('/')}/webhooks/telegram"
    with httpx.Client(timeout=settings.service.send_timeout_seconds) as client:
        answer = set_webhook(client, settings.platforms["telegram"], target)
    click.echo(json.dumps(answer, ensure_ascii=False))


@main.group()
def conversations() -> None:
    """Look at conversations and move them between the bot and people (until the agent console exists)."""


@conversations.command("list")
@click.option("--limit", default=20, show_default=True)
def conversations_list(limit: int) -> None:
    """Open escalations, most urgent first, with their conversation's owner."""
    from assistant.store import Store
    from assistant.store.db import migrate

    settings = load_settings()
    migrate(settings.service.database_url)
    store = Store.from_url(settings.service.database_url)
    for escalation in store.escalations(status=EscalationStatus.OPEN, limit=limit):
        conversation = store.conversation_by_id(escalation.conversation_id)
        click.echo(
            f"conversation {conversation.id} [{conversation.platform}] {conversation.handoff.value:<18} "
            f"escalation {escalation.id} {escalation.queue}/{escalation.reason} priority {escalation.priority} "
            f"due {escalation.sla_due_at:%Y-%m-%d %H:%M %Z}"
        )


@conversations.command("handoff")
@click.argument("conversation_id", type=int)
@click.argument("state", type=click.Choice([s.value for s in HandoffState]))
def conversations_handoff(conversation_id: int, state: str) -> None:
    """Move a conversation to STATE (bot, waiting_for_human, human, closed); back to bot or closed settles its
    open escalation."""
    from assistant.store import Store
    from assistant.store.db import migrate

    settings = load_settings()
    migrate(settings.service.database_url)
    store = Store.from_url(settings.service.database_url)
    # The store's one write path checks the move (NotFoundError, HandoffTransitionError: exit 2).
    change = store.set_handoff(conversation_id, HandoffState(state))
    click.echo(f"conversation {conversation_id}: {change.before.value} → {state}")


@main.group()
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


@main.command("eval")
@click.option(
    "--data",
    "data_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("../shared/data"),
    show_default=True,
    help="Folder of the evaluation data sets.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("benchmarks/out"),
    show_default=True,
)
@click.option("--only", multiple=True, help="Run only these sections (repeatable).")
@click.option("--quick", is_flag=True, help="Smaller samples: a smoke run, not the reported numbers.")
@folder_options
def evaluate(
    data_root: Path, out_dir: Path, only: tuple[str, ...], quick: bool, kb_dir: Path | None, data_dir: Path | None
) -> None:
    """Measure the engine on ../shared/data and write a markdown report with a risk–coverage plot."""
    from assistant.evaluation.runner import run_evaluation

    settings = settings_from(kb_dir, data_dir)
    report = run_evaluation(settings, data_root, out_dir, sections=only or None, quick=quick)
    click.echo(f"report → {report}")


for command in (index, train, ask, replay, demo, ready_or_train, users, gaps, live_index):
    main.add_command(command)
