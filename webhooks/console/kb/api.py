"""The KB editor API (/api/v1/kb/…): list, search, create, save, move along the workflow, versions, diffs,
restore, near duplicates and preview. Each view parses, calls one editor use case (or a store read) and maps
the result."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from pydantic import BaseModel

from assistant.services.kb_editing import Draft
from assistant.store import EntryContent
from webhooks.console.kb.context import EDIT_ROLES, editor, kb_store
from webhooks.console.kb.schemas import (
    DiffOut,
    DiffQuery,
    DuplicatesOut,
    EntryCreateIn,
    EntryListOut,
    EntryListQuery,
    EntryOut,
    EntrySaveIn,
    EntrySummaryOut,
    PreviewIn,
    PreviewOut,
    RestoreIn,
    TransitionIn,
    VersionDetailOut,
    VersionListOut,
    duplicate_out,
    entry_out,
    preview_out,
    summary,
    version_detail_out,
    version_out,
)
from webhooks.console.openapi import json_body, json_response, query_model
from webhooks.console.routes import ConsoleBlueprint, View

bp = ConsoleBlueprint("kb_api", __name__)


@bp.api(
    "get",
    "/api/v1/kb/entries",
    "List and search KB entries (every status), with missing translations",
    response=EntryListOut,
    query=EntryListQuery,
    roles=EDIT_ROLES,
    tags=("kb",),
)
def api_list() -> Response:
    query = query_model(EntryListQuery)
    records, total = kb_store().search(
        query.q, query.status, limit=query.per_page, offset=(query.page - 1) * query.per_page
    )
    items = [EntrySummaryOut(**summary(record)) for record in records]
    return json_response(EntryListOut(items=items, total=total, page=query.page, per_page=query.per_page))


@bp.api(
    "post",
    "/api/v1/kb/entries",
    "Create an entry (a draft, or sent for review); unknown placeholders and bad fields are refused (422)",
    request=EntryCreateIn,
    response=EntryOut,
    roles=EDIT_ROLES,
    status=201,
    tags=("kb",),
    errors=(409, 422),
)
def api_create() -> Response:
    body = json_body(EntryCreateIn)
    content = EntryContent(body.entry_id, body.questions, body.answers, body.tags, body.source_file)
    record = editor().save(content, None, body.note, body.status)
    return json_response(entry_out(record), 201)


@bp.api(
    "get",
    "/api/v1/kb/entries/<entry_id>",
    "One entry's working copy (what the editor sees), its status and live version",
    response=EntryOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
def api_get(entry_id: str) -> Response:
    return json_response(entry_out(kb_store().get(entry_id)))


@bp.api(
    "put",
    "/api/v1/kb/entries/<entry_id>",
    "Save a new version (a draft: the live answer stays until published). Stale expected_version: 409 with the "
    "stored content and the diff, nothing written",
    request=EntrySaveIn,
    response=EntryOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404, 409, 422),
)
def api_save(entry_id: str) -> Response:
    body = json_body(EntrySaveIn)
    content = EntryContent(entry_id, body.questions, body.answers, body.tags, body.source_file)
    record = editor().save(content, body.expected_version, body.note, body.status)
    return json_response(entry_out(record))


def _entry_action(action: str, summary: str, body: type[BaseModel]) -> Callable[[View], View]:
    """An editor's move of one entry, POST /api/v1/kb/entries/<entry_id>/<action>: answered with the entry as it
    is now; a stale `expected_version`, or a move the workflow forbids: 409."""
    return bp.change(f"/api/v1/kb/entries/<entry_id>/{action}", summary, body, EntryOut, roles=EDIT_ROLES, tags=("kb",))


@_entry_action(
    "transition",
    "Move along draft → review → published → archived (publish and archive re-index the live KB)",
    TransitionIn,
)
def api_transition(entry_id: str) -> Response:
    body = json_body(TransitionIn)
    changed = editor().transition(entry_id, body.status, body.expected_version, body.note)
    return json_response(entry_out(changed.record))


@bp.api(
    "get",
    "/api/v1/kb/entries/<entry_id>/versions",
    "Every version of an entry, newest first (author, time, status, note)",
    response=VersionListOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
def api_versions(entry_id: str) -> Response:
    versions = kb_store().versions(entry_id)
    return json_response(VersionListOut(entry_id=entry_id, items=[version_out(v) for v in versions]))


@bp.api(
    "get",
    "/api/v1/kb/entries/<entry_id>/versions/<int:version>",
    "The content of one version",
    response=VersionDetailOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
def api_version(entry_id: str, version: int) -> Response:
    return json_response(version_detail_out(kb_store().version(entry_id, version)))


@bp.api(
    "get",
    "/api/v1/kb/entries/<entry_id>/diff",
    "Unified diff (YAML) between two versions",
    response=DiffOut,
    query=DiffQuery,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404,),
)
def api_diff(entry_id: str) -> Response:
    query = query_model(DiffQuery)
    diff = kb_store().diff(entry_id, query.v1, query.v2)
    return json_response(DiffOut(entry_id=entry_id, v1=query.v1, v2=query.v2, diff=diff))


@_entry_action(
    "restore",
    "Restore an old version as a new draft, or (publish=true) roll back: live at once and re-indexed",
    RestoreIn,
)
def api_restore(entry_id: str) -> Response:
    body = json_body(RestoreIn)
    changed = editor().restore(entry_id, body.version, body.expected_version, body.publish)
    return json_response(entry_out(changed.record))


@bp.api(
    "get",
    "/api/v1/kb/entries/<entry_id>/duplicates",
    "Before publishing: phrasings of the working copy that (nearly) repeat another published entry's",
    response=DuplicatesOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(404, 503),
)
def api_duplicates(entry_id: str) -> Response:
    found = editor().entry_duplicates(entry_id)
    return json_response(DuplicatesOut(entry_id=entry_id, near_duplicates=[duplicate_out(d) for d in found]))


@bp.api(
    "post",
    "/api/v1/kb/preview",
    "How the bot answers a question now (decision, confidence, reasons), how close an unsaved draft comes, and "
    "near duplicates of the draft's phrasings among published entries",
    request=PreviewIn,
    response=PreviewOut,
    roles=EDIT_ROLES,
    tags=("kb",),
    errors=(503,),
)
def api_preview() -> Response:
    body = json_body(PreviewIn)
    draft = Draft(body.draft.entry_id, body.draft.questions, body.draft.answers) if body.draft is not None else None
    return json_response(preview_out(editor().preview(body.question, body.language, draft)))
