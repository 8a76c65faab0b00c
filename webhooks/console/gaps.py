"""The content-gap report in the console: GET /api/v1/kb/gaps and the page /console/kb/gaps (editors and admins),
and "create a draft from a cluster" (assistant.services.kb_gaps) — the cluster's questions and the agents'
replies become a draft KB entry."""

from __future__ import annotations

from flask import Flask, Response, current_app, flash, redirect, render_template, request, url_for
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response as BaseResponse

from assistant.errors import Conflict, InputError, NotFound
from assistant.knowledge.gap_report import report_to_dict
from assistant.services.kb_gaps import GapDeps, GapDraft, draft_from_cluster, gap_report
from assistant.store import KbStore
from webhooks.console.auth.identity import audit, current_account
from webhooks.console.kb.context import EDIT_ROLES
from webhooks.console.openapi import json_body, json_response, model_from, query_model
from webhooks.console.routes import ConsoleBlueprint
from webhooks.runtime import Runtime

RUNTIME_EXTENSION = "console.kb_gaps.runtime"

bp = ConsoleBlueprint("kb_gaps", __name__)


def register_kb_gaps(app: Flask, runtime: Runtime) -> None:
    app.extensions[RUNTIME_EXTENSION] = runtime
    app.register_blueprint(bp)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return runtime


def _deps() -> GapDeps:
    runtime = _runtime()
    database = runtime.store.engine
    return GapDeps(database, KbStore(database), runtime.settings, lambda: runtime.engine, audit)


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


def _draft_out(draft: GapDraft) -> DraftOut:
    record = draft.record
    return model_from(DraftOut, record, questions=record.content.questions, answers=record.content.answers)


@bp.api(
    "get",
    "/api/v1/kb/gaps",
    "Content-gap report",
    response=GapReportOut,
    roles=EDIT_ROLES,
    query=GapQuery,
    tags=("knowledge base",),
    description="Unanswered questions clustered by meaning, entries never matched, entries often marked wrong.",
)
def api_gaps() -> Response:
    query = query_model(GapQuery)
    return json_response(GapReportOut.model_validate(report_to_dict(gap_report(_deps(), query.days))))


@bp.api(
    "post",
    "/api/v1/kb/gaps/drafts",
    "Create a draft entry from a gap cluster",
    request=DraftFromClusterIn,
    response=DraftOut,
    roles=EDIT_ROLES,
    status=201,
    errors=(404, 409, 422),
    tags=("knowledge base",),
)
def api_draft_from_cluster() -> Response:
    body = json_body(DraftFromClusterIn)
    author = current_account().username
    draft = draft_from_cluster(_deps(), body.cluster_id, body.days, body.expected_examples, body.entry_id, author)
    return json_response(_draft_out(draft), 201)


@bp.page("/console/kb/gaps", roles=EDIT_ROLES)
def gaps_page() -> str:
    days = request.args.get("days", type=int)
    days = days if days and 0 < days <= 366 else _runtime().settings.live_index.gap_window_days
    return render_template("console/kb_gaps.html", report=gap_report(_deps(), days), days=days)


@bp.page("/console/kb/gaps/draft", roles=EDIT_ROLES, methods=("POST",))
def gaps_draft_page() -> BaseResponse:
    days = request.form.get("days", type=int)
    cluster_id = request.form.get("cluster_id", type=int) or 0
    first = request.form.get("first_example")
    try:
        draft = draft_from_cluster(
            _deps(), cluster_id, days, [first] if first else None, None, current_account().username
        )
    except (NotFound, Conflict, InputError) as error:
        flash(str(error), "error")
        return redirect(url_for("kb_gaps.gaps_page", days=days))
    flash(f"Draft {draft.record.entry_id} created from {draft.cluster.count} questions.", "success")
    return redirect(url_for("kb.kb_entry", entry_id=draft.record.entry_id))
