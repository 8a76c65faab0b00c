"""The knowledge-base editor inside the console: pages under /console/kb and a JSON API under /api/v1/kb to list,
search, edit, review, publish, archive, restore and preview FAQ entries (editors and admins; every change audited).

Publishing, archiving or rolling back a live entry asks for a re-index (`webhooks.kb_publish.request_reindex`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from flask import Blueprint, Flask, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from pydantic import BaseModel, Field
from werkzeug.wrappers import Response as BaseResponse

from assistant.errors import NotReady
from assistant.index_versions import NearDuplicate, near_duplicates_of
from assistant.knowledge_base import LANGUAGE_PATTERN, STATUSES
from assistant.messages import InboundMessage
from assistant.pipeline import Engine
from assistant.store.kb_store import (
    TRANSITIONS,
    EntryContent,
    KbConflictError,
    KbEntryRecord,
    KbNotFoundError,
    KbStore,
    KbStoreError,
    KbValidationError,
    KbVersionRecord,
)
from webhooks.console.auth import api_auth_required, audit, current_account, page_login_required
from webhooks.console.openapi import api_operation, json_body, query_model
from webhooks.http_errors import add_error_body
from webhooks.runtime import Runtime

log = logging.getLogger("community_assistant.kb_editor")

STORE_EXTENSION = "console.kb.store"
RUNTIME_EXTENSION = "console.kb.runtime"
REINDEX_EXTENSION = "console.kb.reindex"
# Who edits the KB. Admins are accepted everywhere; agents answer customers and do not change the FAQ.
EDIT_ROLES = ("editor",)
PER_PAGE = 50
LIST_PAGE = 100  # entries per page of /console/kb; a 10,000-entry KB is browsed page by page or searched
RESERVED_IDS = frozenset({"new", "gaps", "preview"})

Reindex = Callable[[str], None]

bp = Blueprint("kb", __name__, template_folder="templates")


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions[RUNTIME_EXTENSION]
    return runtime


def kb_store() -> KbStore:
    store: KbStore = current_app.extensions[STORE_EXTENSION]()
    return store


def default_reindex(runtime: Runtime) -> Reindex:
    """Queue LIVEINDEX's re-index task; a tree without it only logs (the next `assistant index` picks it up)."""

    def reindex(reason: str) -> None:
        try:
            from webhooks.kb_publish import request_reindex
        except ImportError:
            log.warning("no live re-index available (webhooks.kb_publish missing): %s", reason)
            return
        request_reindex(runtime, reason)

    return reindex


def register_kb_editor(app: Flask, runtime: Runtime, reindex: Reindex | None = None) -> None:
    app.extensions[RUNTIME_EXTENSION] = runtime
    # Built on first use: creating the app must not need the database (the readiness probe reports it).
    app.extensions[STORE_EXTENSION] = functools.cache(lambda: KbStore(runtime.store.engine))
    app.extensions.setdefault(REINDEX_EXTENSION, reindex or default_reindex(runtime))
    # The API's store errors are answered by the one error handler: not found 404, invalid content 422, a move
    # the workflow forbids 409, a save on an old version 409 with this body.
    add_error_body(app, KbConflictError, _conflict_body)
    app.register_blueprint(bp)


def _reindex(reason: str) -> None:
    reindex: Reindex = current_app.extensions[REINDEX_EXTENSION]
    reindex(reason)


# API models

Status = Literal["draft", "review", "published", "archived"]


class EntrySummaryOut(BaseModel):
    entry_id: str
    status: Status
    version: int
    published_version: int | None = Field(description="The version customers are answered with; null: not live")
    tags: list[str]
    languages: list[str]
    missing_translations: dict[str, list[str]] = Field(
        description="Per configured language that lacks them: 'questions' and/or 'answer'"
    )
    updated_at: datetime
    updated_by: str | None


class EntryOut(EntrySummaryOut):
    questions: dict[str, list[str]]
    answers: dict[str, str] = Field(description="Plain text; HTML is kept as written and escaped when rendered")
    source_file: str | None
    allowed_transitions: list[Status]


class EntryListOut(BaseModel):
    items: list[EntrySummaryOut]
    total: int
    page: int
    per_page: int


class EntryListQuery(BaseModel):
    q: str | None = Field(None, max_length=200, description="Words that must all occur (id, tags, phrasings, answers)")
    status: Status | None = None
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(PER_PAGE, ge=1, le=500)


class EntryFields(BaseModel):
    questions: dict[str, list[str]]
    answers: dict[str, str]
    tags: list[str] = []
    source_file: str | None = Field(None, max_length=255)
    note: str | None = Field(None, max_length=500)
    status: Literal["draft", "review"] = "draft"


class EntryCreateIn(EntryFields):
    entry_id: str = Field(max_length=80)


class EntrySaveIn(EntryFields):
    expected_version: int = Field(ge=1, description="The version the edit started from (stale: 409 with the diff)")


class ConflictOut(BaseModel):
    error: str
    current: EntryOut
    submitted: dict[str, Any] | None
    diff: str = Field(description="Unified diff from the stored version to the refused content")


class TransitionIn(BaseModel):
    status: Status
    expected_version: int = Field(ge=1)
    note: str | None = Field(None, max_length=500)


class VersionOut(BaseModel):
    version: int
    status: Status
    author: str | None
    at: datetime
    note: str | None


class VersionDetailOut(VersionOut):
    questions: dict[str, list[str]]
    answers: dict[str, str]
    tags: list[str]


class VersionListOut(BaseModel):
    entry_id: str
    items: list[VersionOut]


class DiffQuery(BaseModel):
    v1: int = Field(ge=1)
    v2: int = Field(ge=1)


class DiffOut(BaseModel):
    entry_id: str
    v1: int
    v2: int
    diff: str


class RestoreIn(BaseModel):
    version: int = Field(ge=1)
    expected_version: int | None = Field(None, ge=1)
    publish: bool = Field(False, description="Roll back: make the restored content live at once")


class DraftIn(BaseModel):
    entry_id: str | None = Field(None, max_length=80)
    questions: dict[str, list[str]] = {}
    answers: dict[str, str] = {}


class PreviewIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    language: str | None = Field(None, max_length=16)
    draft: DraftIn | None = Field(None, description="The unsaved entry to compare the question with")


class DecisionPreviewOut(BaseModel):
    action: str
    entry_id: str | None
    reply_kind: str | None = Field(description="What produced the reply: faq, an intent template, a holding reply…")
    intent: str | None
    confidence: float
    reply: str | None
    reasons: list[str]
    language: str


class DraftMatchOut(BaseModel):
    similarity: float = Field(description="Cosine similarity of the question to the draft's closest phrasing")
    phrasing: str | None
    language: str | None
    live_best: float | None = Field(description="The best similarity among the published entries, for comparison")
    beats_live: bool
    answer: str | None


class NearDuplicateOut(BaseModel):
    phrasing: str
    other_entry: str
    other_phrasing: str
    similarity: float


class DuplicatesOut(BaseModel):
    entry_id: str
    near_duplicates: list[NearDuplicateOut]


class PreviewOut(BaseModel):
    decision: DecisionPreviewOut
    draft: DraftMatchOut | None
    near_duplicates: list[NearDuplicateOut]
    kb_version: str


# Conversions and shared actions


def _languages(record: KbEntryRecord | None = None) -> list[str]:
    configured = list(_runtime().settings.languages)
    if record is not None:
        configured += [lang for lang in record.content.answers if lang not in configured]
        configured += [lang for lang in record.content.questions if lang not in configured]
    return configured


def _summary(record: KbEntryRecord) -> dict[str, Any]:
    return {
        "entry_id": record.entry_id,
        "status": record.status,
        "version": record.version,
        "published_version": record.published_version,
        "tags": record.content.tags,
        "languages": sorted(set(record.content.answers) | set(record.content.questions)),
        "missing_translations": record.missing_languages(list(_runtime().settings.languages)),
        "updated_at": record.updated_at,
        "updated_by": record.updated_by,
    }


def entry_out(record: KbEntryRecord) -> EntryOut:
    return EntryOut(
        **_summary(record),
        questions=record.content.questions,
        answers=record.content.answers,
        source_file=record.content.source_file,
        allowed_transitions=list(TRANSITIONS[record.status]),
    )


def _version_out(version: KbVersionRecord) -> VersionOut:
    return VersionOut(
        version=version.version,
        status=version.status,
        author=version.author,
        at=version.at,
        note=version.note,
    )


def _json(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def _conflict_body(conflict: KbConflictError) -> dict[str, Any]:
    """The API's 409 for a save on an old version: what is stored now and the diff (the error handler sends it)."""
    out = ConflictOut(
        error=str(conflict),
        current=entry_out(conflict.current),
        submitted=conflict.submitted.to_dict() if conflict.submitted is not None else None,
        diff=conflict.diff,
    )
    return out.model_dump(mode="json")


@dataclass(frozen=True)
class Changed:
    record: KbEntryRecord
    reindexed: bool


def do_save(content: EntryContent, expected: int | None, note: str | None, status: str) -> KbEntryRecord:
    user = current_account()
    if expected is None and content.entry_id in RESERVED_IDS:
        # /console/kb/<id> would be shadowed by the editor's own pages.
        raise KbValidationError(f"`id` {content.entry_id!r} is reserved by the editor's pages; choose another")
    record = kb_store().save(content, expected, user.username, note=note, status=status)
    audit(
        "kb.create" if expected is None else "kb.save",
        "kb_entry",
        record.entry_id,
        version=record.version,
        status=record.status,
    )
    return record


def do_transition(entry_id: str, status: str, expected: int, note: str | None) -> Changed:
    user = current_account()
    result = kb_store().transition(entry_id, status, expected, user.username, note)
    audit(f"kb.{status}", "kb_entry", entry_id, version=result.record.version, live_changed=result.live_changed)
    if result.live_changed:
        _reindex(f"{status} {entry_id} v{result.record.version} by {user.username}")
    return Changed(result.record, result.live_changed)


def do_restore(entry_id: str, version: int, expected: int | None, publish: bool) -> Changed:
    user = current_account()
    result = kb_store().restore(entry_id, version, user.username, expected, publish)
    audit(
        "kb.rollback" if publish else "kb.restore",
        "kb_entry",
        entry_id,
        restored=version,
        version=result.record.version,
        live_changed=result.live_changed,
    )
    if result.live_changed:
        _reindex(f"rollback {entry_id} to v{version} by {user.username}")
    return Changed(result.record, result.live_changed)


def near_duplicates(engine: Engine, entry_id: str, questions: dict[str, list[str]]) -> list[NearDuplicate]:
    """Phrasings of other published entries that these questions (nearly) repeat: warned about before publish."""
    threshold = _runtime().settings.live_index.near_duplicate_similarity
    return near_duplicates_of(entry_id, questions, engine.index, engine.encoder, threshold)


def publish_warnings(record: KbEntryRecord) -> list[NearDuplicate]:
    """Near duplicates of an entry waiting for review; none when the engine is not loaded (never blocks a page)."""
    try:
        return near_duplicates(_runtime().engine, record.entry_id, record.content.questions)
    except Exception:  # no trained engine yet: the preview says so; the page still works
        log.warning("near-duplicate check skipped for %s", record.entry_id, exc_info=True)
        return []


def preview(question: str, language: str | None, draft: DraftIn | None) -> PreviewOut:
    """The current engine's decision on the question, and how close the unsaved draft's phrasings come."""
    try:
        engine = _runtime().engine
    except Exception as error:  # no trained index yet, or a broken one: say so instead of a 500
        raise NotReady(f"the answer engine is not ready ({error}); run `assistant train`") from error
    decision = engine.decide(InboundMessage(text=question, language=language, platform="preview"))
    out_decision = DecisionPreviewOut(
        action=decision.action.value,
        entry_id=decision.entry_id,
        reply_kind=decision.reply_kind,
        intent=decision.intent,
        confidence=round(decision.confidence, 4),
        reply=decision.reply,
        reasons=list(decision.reasons),
        language=decision.language,
    )
    match: DraftMatchOut | None = None
    duplicates: list[NearDuplicateOut] = []
    if draft is not None:
        phrasings = [(lang, q.strip()) for lang, qs in sorted(draft.questions.items()) for q in qs if q.strip()]
        vectors = engine.encoder.encode([question] + [text for _, text in phrasings])
        query, phrasing_vectors = vectors[:1], vectors[1:]
        live_hits = [h for h in engine.index.search(query, k=3)[0] if h.entry_id != draft.entry_id]
        live_best = round(live_hits[0].score, 4) if live_hits else None
        if phrasings:
            scores = phrasing_vectors @ query[0]
            best = int(np.argmax(scores))
            similarity = round(float(scores[best]), 4)
            lang = phrasings[best][0]
            answer = draft.answers.get(decision.language) or draft.answers.get(lang)
            match = DraftMatchOut(
                similarity=similarity,
                phrasing=phrasings[best][1],
                language=lang,
                live_best=live_best,
                beats_live=live_best is None or similarity > live_best,
                answer=answer,
            )
            duplicates = [_duplicate_out(d) for d in near_duplicates(engine, draft.entry_id or "", draft.questions)]
        else:
            match = DraftMatchOut(
                similarity=0.0, phrasing=None, language=None, live_best=live_best, beats_live=False, answer=None
            )
    return PreviewOut(decision=out_decision, draft=match, near_duplicates=duplicates, kb_version=engine.kb.version)


# JSON API


@bp.get("/api/v1/kb/entries")
@api_operation(
    "/api/v1/kb/entries",
    "get",
    "List and search KB entries (every status), with missing translations",
    response=EntryListOut,
    query=EntryListQuery,
    roles=EDIT_ROLES,
    tags=("kb",),
)
@api_auth_required(*EDIT_ROLES)
def api_list() -> Response:
    query = query_model(EntryListQuery)
    records, total = kb_store().search(
        query.q, query.status, limit=query.per_page, offset=(query.page - 1) * query.per_page
    )
    items = [EntrySummaryOut(**_summary(record)) for record in records]
    return _json(EntryListOut(items=items, total=total, page=query.page, per_page=query.per_page))


@bp.post("/api/v1/kb/entries")
@api_operation(
    "/api/v1/kb/entries",
    "post",
    "Create an entry (a draft, or sent for review); unknown placeholders and bad fields are refused (422)",
    request=EntryCreateIn,
    response=EntryOut,
    roles=EDIT_ROLES,
    status=201,
    tags=("kb",),
    errors=(409, 422),
)
@api_auth_required(*EDIT_ROLES)
def api_create() -> Response:
    body = json_body(EntryCreateIn)
    content = EntryContent(body.entry_id, body.questions, body.answers, body.tags, body.source_file)
    record = do_save(content, None, body.note, body.status)
    return _json(entry_out(record), 201)


@bp.get("/api/v1/kb/entries/<entry_id>")
@api_operation(
    "/api/v1/kb/entries/{entry_id}",
    "get",
    "One entry's working copy (what the editor sees), its status and live version",
    response=EntryOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
@api_auth_required(*EDIT_ROLES)
def api_get(entry_id: str) -> Response:
    return _json(entry_out(kb_store().get(entry_id)))


@bp.put("/api/v1/kb/entries/<entry_id>")
@api_operation(
    "/api/v1/kb/entries/{entry_id}",
    "put",
    "Save a new version (a draft: the live answer stays until published). Stale expected_version: 409 with the "
    "stored content and the diff, nothing written",
    request=EntrySaveIn,
    response=EntryOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404, 409, 422),
)
@api_auth_required(*EDIT_ROLES)
def api_save(entry_id: str) -> Response:
    body = json_body(EntrySaveIn)
    content = EntryContent(entry_id, body.questions, body.answers, body.tags, body.source_file)
    record = do_save(content, body.expected_version, body.note, body.status)
    return _json(entry_out(record))


@bp.post("/api/v1/kb/entries/<entry_id>/transition")
@api_operation(
    "/api/v1/kb/entries/{entry_id}/transition",
    "post",
    "Move along draft → review → published → archived (publish and archive re-index the live KB)",
    request=TransitionIn,
    response=EntryOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404, 409),
)
@api_auth_required(*EDIT_ROLES)
def api_transition(entry_id: str) -> Response:
    body = json_body(TransitionIn)
    changed = do_transition(entry_id, body.status, body.expected_version, body.note)
    return _json(entry_out(changed.record))


@bp.get("/api/v1/kb/entries/<entry_id>/versions")
@api_operation(
    "/api/v1/kb/entries/{entry_id}/versions",
    "get",
    "Every version of an entry, newest first (author, time, status, note)",
    response=VersionListOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
@api_auth_required(*EDIT_ROLES)
def api_versions(entry_id: str) -> Response:
    versions = kb_store().versions(entry_id)
    return _json(VersionListOut(entry_id=entry_id, items=[_version_out(v) for v in versions]))


@bp.get("/api/v1/kb/entries/<entry_id>/versions/<int:version>")
@api_operation(
    "/api/v1/kb/entries/{entry_id}/versions/{version}",
    "get",
    "The content of one version",
    response=VersionDetailOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
@api_auth_required(*EDIT_ROLES)
def api_version(entry_id: str, version: int) -> Response:
    record = kb_store().version(entry_id, version)
    base = _version_out(record).model_dump()
    content = record.content
    return _json(VersionDetailOut(**base, questions=content.questions, answers=content.answers, tags=content.tags))


@bp.get("/api/v1/kb/entries/<entry_id>/diff")
@api_operation(
    "/api/v1/kb/entries/{entry_id}/diff",
    "get",
    "Unified diff (YAML) between two versions",
    response=DiffOut,
    query=DiffQuery,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
@api_auth_required(*EDIT_ROLES)
def api_diff(entry_id: str) -> Response:
    query = query_model(DiffQuery)
    diff = kb_store().diff(entry_id, query.v1, query.v2)
    return _json(DiffOut(entry_id=entry_id, v1=query.v1, v2=query.v2, diff=diff))


@bp.post("/api/v1/kb/entries/<entry_id>/restore")
@api_operation(
    "/api/v1/kb/entries/{entry_id}/restore",
    "post",
    "Restore an old version as a new draft, or (publish=true) roll back: live at once and re-indexed",
    request=RestoreIn,
    response=EntryOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404, 409),
)
@api_auth_required(*EDIT_ROLES)
def api_restore(entry_id: str) -> Response:
    body = json_body(RestoreIn)
    changed = do_restore(entry_id, body.version, body.expected_version, body.publish)
    return _json(entry_out(changed.record))


@bp.get("/api/v1/kb/entries/<entry_id>/duplicates")
@api_operation(
    "/api/v1/kb/entries/{entry_id}/duplicates",
    "get",
    "Before publishing: phrasings of the working copy that (nearly) repeat another published entry's",
    response=DuplicatesOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404, 503),
)
@api_auth_required(*EDIT_ROLES)
def api_duplicates(entry_id: str) -> Response:
    record = kb_store().get(entry_id)
    try:
        engine = _runtime().engine
    except Exception as error:  # no trained index yet
        raise NotReady(f"the answer engine is not ready ({error}); run `assistant train`") from error
    found = near_duplicates(engine, entry_id, record.content.questions)
    return _json(DuplicatesOut(entry_id=entry_id, near_duplicates=[_duplicate_out(d) for d in found]))


def _duplicate_out(d: NearDuplicate) -> NearDuplicateOut:
    return NearDuplicateOut(
        phrasing=d.text, other_entry=d.other_entry_id, other_phrasing=d.other_text, similarity=round(d.similarity, 4)
    )


@bp.post("/api/v1/kb/preview")
@api_operation(
    "/api/v1/kb/preview",
    "post",
    "How the bot answers a question now (decision, confidence, reasons), how close an unsaved draft comes, and "
    "near duplicates of the draft's phrasings among published entries",
    request=PreviewIn,
    response=PreviewOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(503,),
)
@api_auth_required(*EDIT_ROLES)
def api_preview() -> Response:
    body = json_body(PreviewIn)
    return _json(preview(body.question, body.language, body.draft))


# Pages


def _form_content(entry_id: str) -> EntryContent:
    """The entry as the edit form sends it: per language (`q_<lang>`, `a_<lang>`), phrasings one per line and
    the answer; `new_lang` names a language the editor adds."""
    form = request.form
    languages = sorted({key[2:] for key in form if key.startswith(("q_", "a_")) and LANGUAGE_PATTERN.match(key[2:])})
    extra = form.get("new_lang", "").strip()
    questions: dict[str, list[str]] = {}
    answers: dict[str, str] = {}
    for lang in languages:
        lines = [line.strip() for line in form.get(f"q_{lang}", "").splitlines() if line.strip()]
        if lines:
            questions[lang] = lines
        answer = form.get(f"a_{lang}", "").replace("\r\n", "\n").strip()
        if answer:
            answers[lang] = answer
    if extra and LANGUAGE_PATTERN.match(extra):
        lines = [line.strip() for line in form.get("q_new", "").splitlines() if line.strip()]
        if lines:
            questions[extra] = questions.get(extra, []) + lines
        answer = form.get("a_new", "").replace("\r\n", "\n").strip()
        if answer:
            answers[extra] = answer
    tags = [tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()]
    source = form.get("source_file", "").strip() or None
    return EntryContent(entry_id, questions, answers, tags, source)


def _edit_page(
    record: KbEntryRecord | None,
    content: EntryContent | None = None,
    error: str | None = None,
    conflict: KbConflictError | None = None,
    status: int = 200,
) -> tuple[str, int]:
    shown = content or (record.content if record is not None else EntryContent("", {}, {}))
    languages = _languages(record)
    for lang in [*shown.questions, *shown.answers]:
        if lang not in languages:
            languages.append(lang)
    versions = kb_store().versions(record.entry_id) if record is not None else []
    configured = list(_runtime().settings.languages)
    missing = {
        lang: [
            part
            for part, present in (("questions", shown.questions.get(lang)), ("answer", shown.answers.get(lang)))
            if not present
        ]
        for lang in configured
    }
    return render_template(
        "console/kb_entry.html",
        record=record,
        content=shown,
        languages=languages,
        missing={lang: parts for lang, parts in missing.items() if parts},
        versions=versions,
        duplicates=publish_warnings(record) if record is not None and record.status == "review" else [],
        transitions=TRANSITIONS[record.status] if record is not None else (),
        expected_version=conflict.current.version if conflict is not None else (record.version if record else None),
        error=error,
        conflict=conflict,
    ), status


@bp.get("/console/kb")
@page_login_required(*EDIT_ROLES)
def kb_list() -> str:
    q = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdigit() and int(page) > 0 else 1
    records, total = kb_store().search(q or None, status or None, limit=LIST_PAGE, offset=(page_number - 1) * LIST_PAGE)
    configured = list(_runtime().settings.languages)
    return render_template(
        "console/kb_list.html",
        records=records,
        total=total,
        q=q,
        status=status,
        statuses=STATUSES,
        missing={r.entry_id: r.missing_languages(configured) for r in records},
        page=page_number,
        pages=max(1, -(-total // LIST_PAGE)),
        first_shown=(page_number - 1) * LIST_PAGE + 1,
    )


@bp.get("/console/kb/new")
@page_login_required(*EDIT_ROLES)
def kb_new() -> tuple[str, int]:
    return _edit_page(None)


@bp.post("/console/kb/new")
@page_login_required(*EDIT_ROLES)
def kb_create() -> BaseResponse | tuple[str, int]:
    entry_id = request.form.get("entry_id", "").strip()
    content = _form_content(entry_id)
    try:
        record = do_save(content, None, request.form.get("note") or None, "draft")
    except KbConflictError:
        return _edit_page(None, content, f"An entry {entry_id!r} exists already.", status=409)
    except KbStoreError as error:
        return _edit_page(None, content, str(error), status=422)
    flash(f"Created {record.entry_id} (draft, version {record.version}).", "success")
    return redirect(url_for("kb.kb_entry", entry_id=record.entry_id))


@bp.get("/console/kb/<entry_id>")
@page_login_required(*EDIT_ROLES)
def kb_entry(entry_id: str) -> tuple[str, int]:
    try:
        record = kb_store().get(entry_id)
    except KbNotFoundError:
        return render_template(
            "console/error.html", code=404, title="Not found", message=f"There is no KB entry {entry_id!r}."
        ), 404
    return _edit_page(record)


@bp.post("/console/kb/<entry_id>")
@page_login_required(*EDIT_ROLES)
def kb_save(entry_id: str) -> BaseResponse | tuple[str, int]:
    try:
        record = kb_store().get(entry_id)
    except KbNotFoundError:
        return redirect(url_for("kb.kb_list"))
    content = _form_content(entry_id)
    try:
        expected = int(request.form.get("expected_version", ""))
    except ValueError:
        return _edit_page(record, content, "The form lacks the version it was loaded at; reload the page.", status=400)
    status = "review" if request.form.get("then") == "review" else "draft"
    try:
        saved = do_save(content, expected, request.form.get("note") or None, status)
    except KbConflictError as conflict:
        message = (
            f"{conflict.current.updated_by or 'Someone'} saved version {conflict.current.version} while you were "
            "editing. Your text is still in the form below; compare, merge, and save again."
        )
        return _edit_page(conflict.current, content, message, conflict, status=409)
    except KbStoreError as error:
        return _edit_page(record, content, str(error), status=422)
    flash(f"Saved version {saved.version} ({saved.status}).", "success")
    return redirect(url_for("kb.kb_entry", entry_id=entry_id))


@bp.post("/console/kb/<entry_id>/status")
@page_login_required(*EDIT_ROLES)
def kb_status(entry_id: str) -> BaseResponse:
    try:
        expected = int(request.form.get("expected_version", ""))
        changed = do_transition(entry_id, request.form.get("status", ""), expected, request.form.get("note") or None)
    except ValueError as error:
        flash(str(error) if isinstance(error, KbStoreError) else "Reload the page and try again.", "error")
    except KbConflictError:
        flash("Someone changed this entry meanwhile; look at the new version and try again.", "error")
    else:
        live = " It is live now; workers switch to it in seconds." if changed.record.status == "published" else ""
        flash(f"{entry_id} is {changed.record.status} (version {changed.record.version}).{live}", "success")
    return redirect(url_for("kb.kb_entry", entry_id=entry_id))


@bp.post("/console/kb/<entry_id>/restore")
@page_login_required(*EDIT_ROLES)
def kb_restore(entry_id: str) -> BaseResponse:
    try:
        version = int(request.form.get("version", ""))
        publish = request.form.get("publish") == "1"
        changed = do_restore(entry_id, version, None, publish)
    except ValueError as error:
        flash(str(error) if isinstance(error, KbStoreError) else "Choose a version to restore.", "error")
    else:
        what = "rolled back and live" if publish else "restored as a draft"
        flash(f"Version {version} {what} (now version {changed.record.version}).", "success")
    return redirect(url_for("kb.kb_entry", entry_id=entry_id))


@bp.get("/console/kb/<entry_id>/diff")
@page_login_required(*EDIT_ROLES)
def kb_diff(entry_id: str) -> tuple[str, int]:
    try:
        v1, v2 = int(request.args.get("v1", "")), int(request.args.get("v2", ""))
        diff = kb_store().diff(entry_id, v1, v2)
    except (ValueError, KbStoreError):
        return render_template(
            "console/error.html", code=404, title="Not found", message="Those versions do not exist."
        ), 404
    return render_template("console/kb_diff.html", entry_id=entry_id, v1=v1, v2=v2, diff=diff), 200


@bp.post("/console/kb/preview")
@page_login_required(*EDIT_ROLES)
def kb_preview() -> tuple[str, int]:
    """htmx: the preview box of the edit page, run against the form's unsaved content."""
    question = request.form.get("preview_question", "").strip()[:2000]
    if not question:
        return render_template("console/_kb_preview.html", result=None, error="Type a question first."), 200
    entry_id = request.form.get("entry_id", "").strip() or None
    content = _form_content(entry_id or "")
    draft = DraftIn(entry_id=entry_id, questions=content.questions, answers=content.answers)
    try:
        result = preview(question, None, draft)
    except NotReady as error:
        return render_template("console/_kb_preview.html", result=None, error=str(error)), 200
    return render_template("console/_kb_preview.html", result=result, error=None), 200
