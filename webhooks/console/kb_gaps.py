"""The content-gap report in the console: GET /api/v1/kb/gaps and the page /console/kb/gaps (editors and admins),
and "create a draft from a cluster" — the cluster's questions and the agents' replies become a draft KB entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response as BaseResponse

from assistant.errors import Conflict, InputError, NotFound
from assistant.gap_report import GapCluster, GapReport, report_to_dict
from assistant.store.gap_queries import load_gap_report
from assistant.store.kb_store import EntryContent, KbConflictError, KbStore, KbStoreError
from webhooks.console.auth import api_auth_required, audit, current_account, page_login_required
from webhooks.console.openapi import api_operation, json_body, query_model
from webhooks.runtime import Runtime

RUNTIME_EXTENSION = "console.kb_gaps.runtime"
EDIT_ROLES = ("editor",)  # admins are accepted everywhere

bp = Blueprint("kb_gaps", __name__, template_folder="templates")


def register_kb_gaps(app: Flask, runtime: Runtime) -> None:
    app.extensions[RUNTIME_EXTENSION] = runtime
    app.register_blueprint(bp)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return runtime


class GapQuery(BaseModel):
    days: int | None = Field(None, gt=0, le=366, description="Window: the last N days (default: the setting)")


class ClusterOut(BaseModel):
    id: int
    count: int
    languages: dict[str, int]
    reasons: dict[str, int]
    examples: list[str]
    replies: list[str] = Field(description="What agents answered to these questions (gap candidates)")
    escalation_ids: list[int]
    suggested_entry_id: str


class WrongEntryOut(BaseModel):
    entry_id: str
    wrong: int
    rated: int
    share: float


class GapReportOut(BaseModel):
    since: str | None
    until: str | None
    questions: int
    threshold: float
    clusters: list[ClusterOut]
    never_matched: list[str] = Field(description="Published entries that answered nothing in the window")
    often_wrong: list[WrongEntryOut] = Field(description="Entries agents often marked wrong as suggestions")


class DraftFromClusterIn(BaseModel):
    cluster_id: int = Field(gt=0)
    days: int | None = Field(None, gt=0, le=366)
    entry_id: str | None = Field(None, description="Default: the cluster's suggested id")
    expected_examples: list[str] | None = Field(
        None, description="The examples the caller saw; 409 when the cluster no longer has them (new data)"
    )


class DraftOut(BaseModel):
    entry_id: str
    status: str
    version: int
    questions: dict[str, list[str]]
    answers: dict[str, str]


def _report(days: int | None) -> GapReport:
    runtime = _runtime()
    settings = runtime.settings
    until = datetime.now(UTC)
    since = until - timedelta(days=days or settings.live_index.gap_window_days)
    engine = runtime.engine  # the served KB: never-matched counts are about what customers can get
    kb_ids = {entry.id for entry in engine.kb}
    report = load_gap_report(runtime.store.engine, engine.kb, engine.encoder, settings.live_index, since, until)
    # Drafts must not reuse an id of the editor's database either (entries not yet published).
    taken = kb_ids | set(_kb_store_ids())
    for cluster in report.clusters:
        if cluster.suggested_entry_id in taken:
            cluster.suggested_entry_id = _free_id(cluster.suggested_entry_id, taken)
        taken.add(cluster.suggested_entry_id)
    return report


def _kb_store_ids() -> list[str]:
    records, _ = KbStore(_runtime().store.engine).search(None, None, limit=1_000_000)
    return [record.entry_id for record in records]


def _free_id(base: str, taken: set[str]) -> str:
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _create_draft(cluster: GapCluster, entry_id: str | None, author: str) -> DraftOut:
    runtime = _runtime()
    draft = cluster.draft(runtime.settings.default_language)
    languages = set(runtime.settings.languages)
    questions = {lang: texts for lang, texts in draft["questions"].items() if lang in languages}
    answers = {lang: text for lang, text in draft["answers"].items() if lang in languages}
    if not answers:  # the replies are in languages this deployment does not answer in: quote one to start from
        quoted = f" Agents replied: {cluster.replies[0]}" if cluster.replies else ""
        answers = {runtime.settings.default_language: "TODO: write the answer." + quoted}
    content = EntryContent(entry_id or draft["id"], questions, answers, list(draft["tags"]))
    try:
        record = KbStore(runtime.store.engine).save(content, None, author, note=f"from gap cluster {cluster.id}")
    except KbConflictError as error:  # the id was taken since the report was built
        raise Conflict(f"KB entry {content.entry_id!r} already exists; choose another id") from error
    except KbStoreError as error:  # whichever it is, the cluster's draft is what cannot be saved: 422
        raise InputError(str(error)) from error
    audit("kb.draft_from_gap", "kb_entry", record.entry_id, cluster=cluster.id, count=cluster.count)
    return DraftOut(
        entry_id=record.entry_id,
        status=record.status,
        version=record.version,
        questions=record.content.questions,
        answers=record.content.answers,
    )


def _cluster(report: GapReport, cluster_id: int, expected: list[str] | None) -> GapCluster:
    cluster = next((c for c in report.clusters if c.id == cluster_id), None)
    if cluster is None:
        raise NotFound(f"no cluster {cluster_id} in the report")
    if expected is not None and not set(expected) <= set(cluster.examples):
        raise Conflict("the report changed since it was shown; reload it")
    return cluster


@bp.get("/api/v1/kb/gaps")
@api_operation(
    "/api/v1/kb/gaps",
    "get",
    "Content-gap report",
    response=GapReportOut,
    roles=EDIT_ROLES,
    query=GapQuery,
    tags=("knowledge base",),
    description="Unanswered questions clustered by meaning, entries never matched, entries often marked wrong.",
)
@api_auth_required(*EDIT_ROLES)
def api_gaps() -> Response:
    query = query_model(GapQuery)
    return jsonify(GapReportOut.model_validate(report_to_dict(_report(query.days))).model_dump())


@bp.post("/api/v1/kb/gaps/drafts")
@api_operation(
    "/api/v1/kb/gaps/drafts",
    "post",
    "Create a draft entry from a gap cluster",
    request=DraftFromClusterIn,
    response=DraftOut,
    roles=EDIT_ROLES,
    status=201,
    errors=(404, 409, 422),
    tags=("knowledge base",),
)
@api_auth_required(*EDIT_ROLES)
def api_draft_from_cluster() -> tuple[Response, int]:
    body = json_body(DraftFromClusterIn)
    cluster = _cluster(_report(body.days), body.cluster_id, body.expected_examples)
    draft = _create_draft(cluster, body.entry_id, current_account().username)
    return jsonify(draft.model_dump()), 201


@bp.get("/console/kb/gaps")
@page_login_required(*EDIT_ROLES)
def gaps_page() -> str:
    days = request.args.get("days", type=int)
    days = days if days and 0 < days <= 366 else _runtime().settings.live_index.gap_window_days
    return render_template("console/kb_gaps.html", report=_report(days), days=days)


@bp.post("/console/kb/gaps/draft")
@page_login_required(*EDIT_ROLES)
def gaps_draft_page() -> BaseResponse:
    days = request.form.get("days", type=int)
    cluster_id = request.form.get("cluster_id", type=int) or 0
    first = request.form.get("first_example")
    try:
        cluster = _cluster(_report(days), cluster_id, [first] if first else None)
        draft = _create_draft(cluster, None, current_account().username)
    except (NotFound, Conflict, InputError) as error:
        flash(str(error), "error")
        return redirect(url_for("kb_gaps.gaps_page", days=days))
    flash(f"Draft {draft.entry_id} created from {cluster.count} questions.", "success")
    return redirect(url_for("kb.kb_entry", entry_id=draft.entry_id))
