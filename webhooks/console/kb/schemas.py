"""The KB editor API's request and answer models (pydantic), and the editor's results mapped to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.knowledge.near_duplicates import NearDuplicate
from assistant.services.kb_editing import Preview
from assistant.store import KbConflictError, KbEntryRecord, KbVersionRecord
from assistant.store.kb import TRANSITIONS
from webhooks.console.kb.context import settings
from webhooks.console.openapi import model_from

PER_PAGE = 50

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


# Results as models


def summary(record: KbEntryRecord) -> dict[str, Any]:
    return {
        "entry_id": record.entry_id,
        "status": record.status,
        "version": record.version,
        "published_version": record.published_version,
        "tags": record.content.tags,
        "languages": sorted(set(record.content.answers) | set(record.content.questions)),
        "missing_translations": record.missing_languages(list(settings().languages)),
        "updated_at": record.updated_at,
        "updated_by": record.updated_by,
    }


def entry_out(record: KbEntryRecord) -> EntryOut:
    return model_from(EntryOut, record.content, **summary(record), allowed_transitions=list(TRANSITIONS[record.status]))


def version_out(version: KbVersionRecord) -> VersionOut:
    return model_from(VersionOut, version)


def version_detail_out(version: KbVersionRecord) -> VersionDetailOut:
    return model_from(VersionDetailOut, version.content, **version_out(version).model_dump())


def conflict_body(conflict: KbConflictError) -> dict[str, Any]:
    """The API's 409 for a save on an old version: what is stored now and the diff (the error handler sends it)."""
    out = ConflictOut(
        error=str(conflict),
        current=entry_out(conflict.current),
        submitted=conflict.submitted.to_dict() if conflict.submitted is not None else None,
        diff=conflict.diff,
    )
    return out.model_dump(mode="json")


def duplicate_out(d: NearDuplicate) -> NearDuplicateOut:
    return NearDuplicateOut(
        phrasing=d.text, other_entry=d.other_entry_id, other_phrasing=d.other_text, similarity=round(d.similarity, 4)
    )


def preview_out(preview: Preview) -> PreviewOut:
    decision = preview.decision
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
    match = preview.draft
    return PreviewOut(
        decision=out_decision,
        draft=DraftMatchOut(**match.__dict__) if match is not None else None,
        near_duplicates=[duplicate_out(d) for d in preview.near_duplicates],
        kb_version=preview.kb_version,
    )
