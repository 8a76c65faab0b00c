"""`assistant gaps`: the content-gap report on the command line — unanswered questions clustered into topics,
entries never matched and entries agents often mark wrong; optionally the clusters as draft KB entries (YAML)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
import yaml

from assistant.settings import load_settings


@click.command()
@click.option("--days", type=int, help="Window: the last N days (default: live_index.gap_window_days).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--drafts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every cluster as a draft entry (status draft, never answered) into this KB YAML file.",
)
@click.option("--kb-dir", type=click.Path(path_type=Path), help="The knowledge base folder.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")
def gaps(days: int | None, as_json: bool, drafts: Path | None, kb_dir: Path | None, data_dir: Path | None) -> None:
    """What customers ask that the KB cannot answer."""
    from assistant.knowledge.gap_report import report_to_dict
    from assistant.knowledge.index_versions import load_version, read_pointer
    from assistant.knowledge.knowledge_base import load_knowledge_base
    from assistant.nlu.embeddings import shared_encoder
    from assistant.services.kb_gaps import window_report
    from assistant.store.db import make_engine, migrate

    settings = load_settings(kb_dir=kb_dir, data_dir=data_dir)
    now = datetime.now(UTC)
    migrate(settings.service.database_url)
    # The KB customers are answered from: the published live version if there is one, else the YAML folder.
    pointer = read_pointer(settings.index_dir)
    encoder = shared_encoder()
    kb = (
        load_version(settings.index_dir, pointer.version, encoder.name).kb
        if pointer is not None
        else load_knowledge_base(settings.kb_dir)
    )
    # The same window and thresholds as the console's report.
    report = window_report(make_engine(settings.service.database_url), kb, encoder, settings.live_index, days, now)
    if drafts is not None:
        entries = [cluster.draft(settings.default_language) for cluster in report.clusters]
        drafts.write_text(yaml.safe_dump({"entries": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report_to_dict(report), ensure_ascii=False, indent=2))
        return
    topics = f"{len(report.clusters)} topics"
    click.echo(f"{report.questions} unanswered questions, {topics} ({report.since:%Y-%m-%d} → now)")
    for cluster in report.clusters:
        langs = ", ".join(f"{lang} {n}" for lang, n in cluster.languages.items())
        click.echo(f"\n#{cluster.id}  {cluster.count}×  [{langs}]  → draft id {cluster.suggested_entry_id}")
        for example in cluster.examples:
            click.echo(f"   ? {example}")
        for reply in cluster.replies[:2]:
            click.echo(f"   ↳ agent: {reply[:160]}")
    click.echo("\nNever matched: " + (", ".join(report.never_matched) or "none"))
    click.echo(
        "Often marked wrong: "
        + (", ".join(f"{w.entry_id} ({w.wrong}/{w.rated})" for w in report.often_wrong) or "none")
    )
    if drafts is not None:
        click.echo(f"\nDrafts written to {drafts}")
