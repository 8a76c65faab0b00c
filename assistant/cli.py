"""The `assistant` command: build and train, ask and replay (shadow mode), manage the KB, run the demo
and the evaluation."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import click

from assistant.errors import AssistantError, BadInput, NotReady
from assistant.gaps_cli import gaps
from assistant.handoff import check_transition, ends_escalation
from assistant.kb_import import import_file
from assistant.knowledge_base import export_knowledge_base, load_knowledge_base
from assistant.live_index_cli import live_index
from assistant.messages import HandoffState, InboundMessage
from assistant.settings import Settings, load_settings
from assistant.users_cli import users

F = TypeVar("F", bound=Callable[..., Any])
REPLAY_BATCH = 64
# Errors a user can fix, shown as one clear line, never as a traceback: every kind of the library's tree
# (assistant.errors) and the standard library's for a missing file or a malformed value.
USER_ERRORS = (AssistantError, FileNotFoundError, ValueError)
# One exit code for every kind, as click gives usage errors: fix the input or the state and retry (the message
# says which); 1 stays a bug, with its traceback.
USER_ERROR_EXIT = 2


def folder_options(command: F) -> F:
    command = click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")(
        command
    )
    command = click.option("--kb-dir", type=click.Path(path_type=Path), help="The knowledge base folder.")(command)
    return command


def settings_from(kb_dir: Path | None, data_dir: Path | None) -> Settings:
    return load_settings(kb_dir=kb_dir, data_dir=data_dir)


def parse_at(value: str | None, settings: Settings) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO time such as 2026-11-23T21:30") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.business_hours.timezone))
    return moment


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


def load_engine(settings: Settings, train_if_needed: bool = False) -> Any:
    from assistant.pipeline import Engine, train_engine

    try:
        return Engine.load(settings)
    except (NotReady, FileNotFoundError) as error:
        if not train_if_needed:
            raise
        click.secho(f"{error}\n→ building the index and training the models now …", fg="yellow", err=True)
        return train_engine(settings, show_progress=True)


@click.group(cls=AssistantGroup)
@click.version_option(package_name="community-assistant")
def main() -> None:
    """community-assistant: a multilingual FAQ auto-responder that knows when to hand over to a person."""


@main.command()
@folder_options
def index(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Embed every published question phrasing and save the FAISS index."""
    from assistant.embeddings import shared_encoder
    from assistant.retrieval import FaqIndex

    settings = settings_from(kb_dir, data_dir)
    kb = load_knowledge_base(settings.kb_dir)
    started = time.perf_counter()
    built = FaqIndex.build(kb, shared_encoder(), show_progress=True)
    built.save(settings.index_dir)
    click.echo(
        f"indexed {built.meta.size} phrasings of {len(kb.published())} published entries "
        f"(KB version {kb.version}, model {built.meta.model}) in {time.perf_counter() - started:.1f}s → "
        f"{settings.index_dir}"
    )
    from assistant.index_versions import read_pointer

    if read_pointer(settings.index_dir) is not None:
        # Live re-indexing is in use: workers serve the `current` version, not this legacy index.
        click.secho(
            "note: a live index version is published; run `assistant live-index publish` to serve this KB", fg="yellow"
        )


@main.command()
@folder_options
def train(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Build the index, train intent and signal models, calibrate the answer threshold; print the report."""
    from assistant.pipeline import train_engine

    settings = settings_from(kb_dir, data_dir)
    engine = train_engine(settings, show_progress=True)
    r = engine.intents.report
    click.echo(f"classes {r.classes} ({r.examples} examples), KB version {r.kb_version}, model {r.model}")
    click.echo(
        f"calibrated answer threshold {r.threshold:.3f} for target precision {r.target_precision:.0%}: "
        f"held-out precision {r.oof_precision:.1%} at coverage {r.oof_coverage:.1%}"
    )
    click.echo(
        f"in-scope accuracy {r.in_scope_accuracy:.1%}; questions of held-out intents escalated "
        f"{r.held_out_escalated:.1%}; out-of-scope similarity floor {r.out_of_scope_similarity:.3f}"
    )
    click.echo(
        f"calibrated for {r.out_of_scope_share:.0%} of messages out of scope (policy.out_of_scope_share), on "
        f"{r.calibration_rows} held-out predictions ({r.out_of_scope_rows} out of scope, {r.cross_lingual_rows} "
        f"in a language the KB lacks)"
    )
    sureness = (
        "reliable"
        if r.calibration_reliable
        else f"NOT reliable: KB answers need {min(r.kb_threshold, 1.0):.3f}, set on the lower bound (safe side)"
    )
    click.echo(
        f"how sure: KB answers' precision is at least {r.precision_lower_bound:.1%} with 90% confidence, from "
        f"{r.kb_answer_rows} held-out predictions of a KB entry ({sureness})"
    )
    for warning in r.warnings[:10]:
        click.secho(f"warning: {warning}", fg="yellow")
    click.echo(f"trained in {r.seconds:.1f}s → {settings.models_dir}")


@main.command()
@click.argument("text")
@click.option("--lang", help="The sender's language, if known (skips detection).")
@click.option("--name", "sender_name", help="The sender's display name.")
@click.option("--at", "at", help="Decide as if at this ISO time (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@folder_options
def ask(
    text: str,
    lang: str | None,
    sender_name: str | None,
    at: str | None,
    as_json: bool,
    kb_dir: Path | None,
    data_dir: Path | None,
) -> None:
    """Decide about one message and print the decision with its reasons."""
    settings = settings_from(kb_dir, data_dir)
    engine = load_engine(settings)
    decision = engine.decide(
        InboundMessage(text=text, language=lang, sender_name=sender_name), now=parse_at(at, settings)
    )
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
        return
    from assistant.report_console import print_decision

    print_decision(text, decision)


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--at", "at", help="Decide as if at this ISO time (default: now).")
@folder_options
def replay(source: Path, out: Path, at: str | None, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Shadow mode: run a JSONL file of past messages through the engine, send nothing, write the decisions."""
    settings = settings_from(kb_dir, data_dir)
    engine = load_engine(settings)
    now = parse_at(at, settings)
    records: list[dict[str, Any]] = []
    bad = 0
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError("needs a string field `text`")
        except (json.JSONDecodeError, ValueError) as error:
            click.secho(f"{source}:{number}: skipped: {error}", fg="yellow", err=True)
            records.append({"line": number, "error": str(error), "raw": line[:200]})
            bad += 1
            continue
        records.append(record)
    decided = 0
    kinds: Counter[str] = Counter()
    with out.open("w", encoding="utf-8") as handle:
        valid = [r for r in records if "error" not in r]
        results: dict[int, dict[str, Any]] = {}
        for start in range(0, len(valid), REPLAY_BATCH):
            batch = valid[start : start + REPLAY_BATCH]
            messages = [
                InboundMessage(text=r["text"], sender_name=r.get("sender"), language=r.get("lang")) for r in batch
            ]
            for record, decision in zip(batch, engine.decide_batch(messages, None, now), strict=True):
                results[id(record)] = {
                    **record,
                    "action": decision.action.value,
                    "kind": decision.kind.value if decision.kind else None,
                    "entry_id": decision.entry_id,
                    "answer": decision.reply,
                    "confidence": round(decision.confidence, 4),
                    "language": decision.language,
                    "reasons": decision.reasons,
                    "queue": decision.queue,
                    "priority": decision.priority.name.lower() if decision.priority else None,
                    "choices": [{"label": c.label, "payload": c.payload} for c in decision.choices],
                    "latency_ms": round(decision.latency_ms, 2),
                }
                kinds[decision.kind.value if decision.kind else "unknown"] += 1
                decided += 1
        for record in records:
            handle.write(json.dumps(results.get(id(record), record), ensure_ascii=False) + "\n")
    # Only a KB answer counts as answered: templates and clarifications are replies, not answers.
    by_kind = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
    click.echo(
        f"decided {decided} messages ({bad} bad lines kept with their error) → {out}\n"
        f"answered from the KB: {kinds['kb_answer']}" + (f" (by kind: {by_kind})" if by_kind else "")
    )


@main.command()
@click.option("--at", "at", help="Run the demo as if at this ISO time (default: a Saturday evening).")
@folder_options
def demo(at: str | None, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run sample messages in five languages through the engine and show each decision with its reasons."""
    from assistant.report_console import run_demo

    settings = settings_from(kb_dir, data_dir)
    engine = load_engine(settings, train_if_needed=True)
    run_demo(engine, parse_at(at or "2026-11-28T21:30", settings))


@main.command("ready-or-train")
@folder_options
def ready_or_train(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Build the index and train the models only if they are missing or stale (used by scripts/run.sh)."""
    settings = settings_from(kb_dir, data_dir)
    from assistant.embeddings import MODEL_NAME
    from assistant.index_versions import load_version, read_pointer
    from assistant.signal_models import SignalModels

    pointer = read_pointer(settings.index_dir)
    if pointer is not None:
        # Live re-indexing: workers serve the published version, not the legacy index of the KB folder.
        load_version(settings.index_dir, pointer.version, MODEL_NAME)
        SignalModels.load(settings.models_dir, MODEL_NAME)
        click.echo(f"live index version {pointer.version} is ready")
        return
    load_engine(settings, train_if_needed=True)
    click.echo("index and models are ready")


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
        "webhooks.celery_app:celery_app",
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
            "webhooks.celery_app:celery_app",
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
    from assistant.store.db import migrate
    from assistant.store.repository import Store

    settings = load_settings()
    migrate(settings.service.database_url)
    store = Store.from_url(settings.service.database_url)
    for escalation in store.escalations(status="open", limit=limit):
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
    from assistant.store.db import migrate
    from assistant.store.repository import Store

    settings = load_settings()
    migrate(settings.service.database_url)
    store = Store.from_url(settings.service.database_url)
    current = store.conversation_by_id(conversation_id).handoff  # NotFoundError, HandoffTransitionError: exit 2
    check_transition(current, HandoffState(state))
    store.update_conversation(conversation_id, handoff=HandoffState(state))
    if ends_escalation(HandoffState(state)):
        for escalation in store.escalations(status=None, limit=1000):
            if escalation.conversation_id == conversation_id and escalation.status in ("open", "claimed"):
                store.resolve_escalation(escalation.id, datetime.now(UTC))
    click.echo(f"conversation {conversation_id}: {current.value} → {state}")


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
    from assistant.store import migrate
    from assistant.store.db import make_engine
    from assistant.store.kb_store import KbStore

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


main.add_command(users)
main.add_command(gaps)
main.add_command(live_index)

if __name__ == "__main__":
    main()
