"""The content-gap report and drafts from it: unanswered questions of a window clustered by meaning, entries never
matched and entries often marked wrong; "create a draft from a cluster" turns a cluster's questions and the agents'
replies into a draft KB entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine as Database

from assistant.domain.kb_entries import KnowledgeBase
from assistant.errors import Conflict, InputError, NotFound
from assistant.knowledge.gap_report import GapCluster, GapReport, take_free_entry_id
from assistant.nlu.embeddings import Encoder
from assistant.pipeline import Engine
from assistant.services.common import Audit, utc_now
from assistant.settings import LiveIndexConfig, Settings
from assistant.store import EntryContent, KbConflictError, KbEntryRecord, KbStore, KbStoreError
from assistant.store.gap_queries import load_gap_report


@dataclass(frozen=True)
class GapDeps:
    """What the console's gap report needs; `engine()` is the served answer engine (its KB is what customers get)."""

    database: Database
    kb_store: KbStore
    settings: Settings
    engine: Callable[[], Engine]
    audit: Audit
    now: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class GapDraft:
    record: KbEntryRecord
    cluster: GapCluster


def window_report(
    database: Database,
    kb: KnowledgeBase,
    encoder: Encoder,
    config: LiveIndexConfig,
    days: int | None,
    now: datetime,
) -> GapReport:
    """The report of the last `days` days (default: `live_index.gap_window_days`) up to `now`."""
    since = now - timedelta(days=days or config.gap_window_days)
    return load_gap_report(database, kb, encoder, config, since, now)


def gap_report(deps: GapDeps, days: int | None) -> GapReport:
    """The report against the served KB, each cluster's suggested id free in the KB and the editor's database."""
    engine = deps.engine()
    report = window_report(deps.database, engine.kb, engine.encoder, deps.settings.live_index, days, deps.now())
    records, _ = deps.kb_store.search(None, None, limit=1_000_000)
    # Drafts must not reuse an id of the editor's database either (entries not yet published).
    taken = {entry.id for entry in engine.kb} | {record.entry_id for record in records}
    for cluster in report.clusters:
        cluster.suggested_entry_id = take_free_entry_id(cluster.suggested_entry_id, taken)
    return report


def find_cluster(report: GapReport, cluster_id: int, expected: list[str] | None) -> GapCluster:
    """The cluster; Conflict when it no longer has the examples the caller saw (new data since)."""
    cluster = next((c for c in report.clusters if c.id == cluster_id), None)
    if cluster is None:
        raise NotFound(f"no cluster {cluster_id} in the report")
    if expected is not None and not set(expected) <= set(cluster.examples):
        raise Conflict("the report changed since it was shown; reload it")
    return cluster


def draft_from_cluster(
    deps: GapDeps,
    cluster_id: int,
    days: int | None,
    expected_examples: list[str] | None,
    entry_id: str | None,
    author: str,
) -> GapDraft:
    """Save the cluster of the current report as a draft entry (default id: the cluster's suggested one)."""
    cluster = find_cluster(gap_report(deps, days), cluster_id, expected_examples)
    settings = deps.settings
    draft = cluster.draft(settings.default_language)
    languages = set(settings.languages)
    questions = {lang: texts for lang, texts in draft["questions"].items() if lang in languages}
    answers = {lang: text for lang, text in draft["answers"].items() if lang in languages}
    if not answers:  # the replies are in languages this deployment does not answer in: quote one to start from
        quoted = f" Agents replied: {cluster.replies[0]}" if cluster.replies else ""
        answers = {settings.default_language: "TODO: write the answer." + quoted}
    content = EntryContent(entry_id or draft["id"], questions, answers, list(draft["tags"]))
    try:
        record = deps.kb_store.save(content, None, author, note=f"from gap cluster {cluster.id}")
    except KbConflictError as error:  # the id was taken since the report was built
        raise Conflict(f"KB entry {content.entry_id!r} already exists; choose another id") from error
    except KbStoreError as error:  # whichever it is, the cluster's draft is what cannot be saved: 422
        raise InputError(str(error)) from error
    deps.audit("kb.draft_from_gap", "kb_entry", record.entry_id, cluster=cluster.id, count=cluster.count)
    return GapDraft(record, cluster)
