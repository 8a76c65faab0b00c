"""Bringing entries into the editor's database without ever replacing what customers get by surprise.

Three ways in, one rule each:
- `seed`: the KB folder at first start, into a database whose editor has never published (statuses kept, entries
  already there left alone). Idempotent, and safe when several processes start at once: the entry id is unique, so
  a second seeder's insert fails and rolls back whole (PostgreSQL), or waits for the write lock and then finds the
  entries there (SQLite).
- `import_entries(publish=False)`: new entries become drafts, a changed entry gets a draft revision.
- `import_entries(publish=True)`: new and changed entries are published, except a *conflict*: a live entry whose
  published answer the import would replace (or which has a draft waiting for review). A conflict stays live as it
  is and the import is saved as a draft revision of it, for an editor to review."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assistant.domain.kb_entries import KBEntry
from assistant.store.kb_records import EntryContent, KbEntryRecord
from assistant.store.tables import KbEntryRow, KbEntryVersionRow

DEFAULT_FILE = "entries.yml"


def content_of(entry: KBEntry) -> EntryContent:
    return EntryContent(
        entry.id, entry.questions, entry.answers, list(entry.tags), entry.source_file or DEFAULT_FILE, entry.label
    )


def same_text(a: EntryContent, b: EntryContent) -> bool:
    """Same phrasings, answers, tags and label (the file an entry lives in is not what customers read)."""
    return (a.questions, a.answers, sorted(a.tags), a.label) == (b.questions, b.answers, sorted(b.tags), b.label)


def replaces_an_answer(live: EntryContent, new: EntryContent) -> bool:
    """Whether `new` changes or drops an answer customers get now (adding a language or a phrasing does not)."""
    return any(new.answers.get(lang) != answer for lang, answer in live.answers.items())


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


def editor_was_used(s: Session) -> bool:
    """An entry was ever published (archiving keeps the row): the database is then the live KB."""
    statement = select(KbEntryRow.id).where(
        or_(KbEntryRow.published_version.is_not(None), KbEntryRow.status == "archived")
    )
    return s.scalar(statement.limit(1)) is not None


def plan(row: KbEntryRow | None, live: EntryContent | None, new: EntryContent, publish: bool) -> str:
    """What an import does with one entry: "add", "unchanged", "conflict", "publish" or "draft"."""
    if row is None:
        return "add"
    if same_text(KbEntryRecord.from_row(row).content, new):
        return "unchanged"
    if live is not None:
        waiting = not same_text(KbEntryRecord.from_row(row).content, live)  # someone's draft of a live entry
        if replaces_an_answer(live, new) or (publish and waiting):
            return "conflict"
    return "publish" if publish else "draft"
