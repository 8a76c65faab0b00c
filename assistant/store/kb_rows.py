"""Row-level rules of the editor's KB shared by its store (`kb`) and its imports (`kb_imports`): what content may
be stored, a new entry with its first version, the next version of an entry, and the live content of every entry."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.knowledge_base import parse_entry
from assistant.store.db import added
from assistant.store.errors import KbValidationError
from assistant.store.kb_records import EntryContent, KbEntryRecord
from assistant.store.tables import KbEntryRow, KbEntryVersionRow

DEFAULT_FILE = "entries.yml"


def validate(content: EntryContent) -> EntryContent:
    """The content as it will be stored (trimmed), or KbValidationError naming the field; the same rules as
    the YAML loader, so unknown placeholders are refused now and not when a customer is waiting."""
    raw: dict[str, Any] = {
        "id": content.entry_id,
        "tags": list(content.tags),
        "questions": {lang: [q for q in qs] for lang, qs in content.questions.items()},
        "answers": dict(content.answers),
        **({"label": content.label} if content.label is not None else {}),
    }
    try:
        entry = parse_entry(raw, source="editor")
    except KnowledgeBaseError as error:
        raise KbValidationError(error.detail) from error
    source = content.source_file
    if source is not None and (
        Path(source).is_absolute() or ".." in Path(source).parts or not source.endswith((".yml", ".yaml"))
    ):
        raise KbValidationError(f"`source_file` must be a relative .yml path inside the KB folder, got {source!r}")
    return EntryContent(entry.id, entry.questions, entry.answers, entry.tags, source, entry.label)


def create_entry(
    s: Session,
    content: EntryContent,
    status: str,
    published_version: int | None,
    author: str | None,
    note: str,
    now: datetime,
) -> KbEntryRow:
    """A new entry at version 1, with the first version of its history."""
    row = KbEntryRow(
        entry_id=content.entry_id,
        status=status,
        tags=content.tags,
        questions=content.questions,
        answers=content.answers,
        source_file=content.source_file or DEFAULT_FILE,
        label=content.label,
        version=1,
        published_version=published_version,
        updated_at=now,
        updated_by=author,
    )
    add_version(s, added(s, row), author, note, now)
    return row


def add_version(s: Session, row: KbEntryRow, author: str | None, note: str | None, now: datetime) -> None:
    content = KbEntryRecord.from_row(row).content.to_dict()
    s.add(
        KbEntryVersionRow(
            entry_id=row.entry_id,
            version=row.version,
            content=content,
            author=author,
            at=now,
            status=row.status,
            note=note,
        )
    )


def revise(row: KbEntryRow, content: EntryContent, status: str, author: str | None, now: datetime) -> None:
    """The entry's next version: `content` in `status`, written by `author` at `now` (its history row is apart)."""
    row.tags, row.questions, row.answers = content.tags, content.questions, content.answers
    row.source_file = content.source_file
    row.label = content.label
    row.status = status
    row.version += 1
    row.updated_at, row.updated_by = now, author


def live_contents(s: Session) -> dict[str, EntryContent]:
    """The published content of every live entry."""
    rows = s.execute(
        select(KbEntryVersionRow.entry_id, KbEntryVersionRow.content).join(
            KbEntryRow,
            (KbEntryVersionRow.entry_id == KbEntryRow.entry_id)
            & (KbEntryVersionRow.version == KbEntryRow.published_version),
        )
    )
    return {entry_id: EntryContent.from_dict(content) for entry_id, content in rows}
