"""The answer engine's commands of `assistant`: publish an index version of the KB folder (`index`), train and
publish (`train`, `ready-or-train`), and run messages through the published version (`ask`, `replay` in shadow
mode, `demo`)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from assistant.cli.options import folder_options, settings_from
from assistant.domain.messages import InboundMessage
from assistant.errors import NotReady
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.settings import Settings

REPLAY_BATCH = 64


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


def load_engine(settings: Settings, train_if_needed: bool = False, announce: bool = True) -> Any:
    """The engine of the published index version, the one the service serves to customers (a legacy data folder is
    migrated first); `announce` prints which version that is. `train_if_needed` trains when none is published."""
    from assistant.nlu.language import prepare_language_detector

    prepare_language_detector(settings.languages)  # overlaps the model imports below
    from assistant.knowledge.index_migration import published_pointer
    from assistant.nlu.embeddings import shared_encoder
    from assistant.pipeline import Engine, train_engine

    try:
        pointer = published_pointer(settings, shared_encoder())
        engine = Engine.load(settings, version=pointer.version)
    except (NotReady, FileNotFoundError) as error:
        if not train_if_needed:
            raise
        click.secho(f"{error}\n→ building the index and training the models now …", fg="yellow", err=True)
        engine = train_engine(settings)
    if announce:
        from assistant.cli.served import served_line

        click.secho(served_line(settings), fg="cyan", err=True)
    return engine


@click.command()
@folder_options
def index(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Publish an index version of the KB folder: only new phrasings are encoded, the matcher is reused, extended
    or retrained as the change needs (`assistant train` also retrains the signal models and recalibrates)."""
    from assistant.cli.live_index import echo_near_duplicates, echo_version
    from assistant.knowledge.index_builds import publish_version
    from assistant.knowledge.index_versions import version_dir
    from assistant.nlu.embeddings import shared_encoder

    settings = settings_from(kb_dir, data_dir)
    kb = load_knowledge_base(settings.kb_dir)
    info = publish_version(settings, kb, shared_encoder(), "assistant index", published=echo_version, kb_source="yaml")
    click.echo(
        f"indexed {info.phrasings} phrasings of {len(kb.published())} published entries "
        f"(KB version {info.kb_version}, model {info.model}) → {version_dir(settings.index_dir, info.version)}"
    )
    echo_near_duplicates(info)


@click.command()
@folder_options
def train(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Train the signal models, publish an index version with the intent model trained and its answer threshold
    calibrated from scratch; print the report."""
    from assistant.knowledge.index_versions import read_pointer, version_dir
    from assistant.pipeline import train_engine

    settings = settings_from(kb_dir, data_dir)
    engine = train_engine(settings)
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
    pointer = read_pointer(settings.index_dir)
    assert pointer is not None  # train_engine has just published it
    click.echo(
        f"trained in {r.seconds:.1f}s → index version {pointer.version} is live "
        f"({version_dir(settings.index_dir, pointer.version)}; signal models in {settings.models_dir})"
    )


@click.command()
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
    now = parse_at(at, settings)  # a wrong --at fails before the model loads, not seconds after
    engine = load_engine(settings, announce=not as_json)
    decision = engine.decide(InboundMessage(text=text, language=lang, sender_name=sender_name), now=now)
    if as_json:
        from assistant.cli.served import served_version

        body = {**decision.to_dict(), "served": served_version(settings)}
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    from assistant.cli.report import print_decision

    print_decision(text, decision)


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--at", "at", help="Decide as if at this ISO time (default: now).")
@folder_options
def replay(source: Path, out: Path, at: str | None, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Shadow mode: run a JSONL file of past messages through the engine, send nothing, write the decisions."""
    from assistant.cli.served import served_version

    settings = settings_from(kb_dir, data_dir)
    now = parse_at(at, settings)
    if not out.parent.is_dir():
        raise click.BadParameter(f"{out.parent} is not a folder", param_hint="--out")
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
    # Loaded once the input has been read: a wrong file or option fails at once, not after the model's seconds.
    engine = load_engine(settings)
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
        f"decided {decided} messages with index version {served_version(settings)['index_version']} "
        f"({bad} bad lines kept with their error) → {out}\n"
        f"answered from the KB: {kinds['kb_answer']}" + (f" (by kind: {by_kind})" if by_kind else "")
    )


@click.command()
@click.option("--at", "at", help="Run the demo as if at this ISO time (default: a Saturday evening).")
@folder_options
def demo(at: str | None, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run sample messages in five languages through the engine and show each decision with its reasons."""
    from assistant.cli.report import run_demo

    settings = settings_from(kb_dir, data_dir)
    engine = load_engine(settings, train_if_needed=True)
    run_demo(engine, parse_at(at or "2026-11-28T21:30", settings))


@click.command("ready-or-train")
@folder_options
def ready_or_train(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Train only if no index version loads, or the KB folder's one is stale (used by scripts/run.sh); a data
    folder in the legacy layout is migrated to version 1 here."""
    from assistant.knowledge.index_migration import published_pointer
    from assistant.knowledge.index_versions import read_pointer, refuse_stale
    from assistant.nlu.embeddings import shared_encoder
    from assistant.pipeline import Engine, train_engine
    from assistant.services.kb_source import editor_store

    settings = settings_from(kb_dir, data_dir)
    editor_store(settings)  # a fresh install: the KB folder becomes the editor's first content
    try:
        refuse_stale(settings, published_pointer(settings, shared_encoder()))
        engine = Engine.load(settings)
    except (NotReady, FileNotFoundError) as error:
        click.secho(f"{error}\n→ building the index and training the models now …", fg="yellow", err=True)
        engine = train_engine(settings)
    pointer = read_pointer(settings.index_dir)
    assert pointer is not None  # loaded or published above
    click.echo(f"index version {pointer.version} is ready (KB {engine.kb.version})")
