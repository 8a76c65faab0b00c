"""The knowledge base as the editor keeps it: entries with a workflow (draft → review → published → archived),
every save a numbered version with author and diff, stale saves refused, and a lossless YAML round trip.

What customers get is each entry's *published* version: editing a live entry makes a new draft and leaves
the live answer alone until that draft is published (`published_kb()` is what the index is built from). Imports,
exports and the first-start seed are `kb_imports.KbSync`, which this store extends."""

from __future__ import annotations

import difflib

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.domain.kb_entries import STATUSES, KnowledgeBase
from assistant.store.errors import KbConflictError, KbNotFoundError, KbTransitionError
from assistant.store.kb_imports import KbSync
from assistant.store.kb_records import ChangeResult, EntryContent, KbEntryRecord, KbVersionRecord
from assistant.store.kb_rows import add_version, create_entry, revise, validate
from assistant.store.tables import KbEntryRow, KbEntryVersionRow, utcnow

# Who may move an entry where. Publishing needs a review step; a live entry is changed by saving a new draft.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("review", "archived"),
    "review": ("draft", "published", "archived"),
    "published": ("archived",),
    "archived": ("draft",),
}


def diff_text(before: str, after: str, before_name: str, after_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), before_name, after_name, n=3
        )
    )


class KbStore(KbSync):
    """The editor's repository; each call is one short transaction. Writes are conditional on the version the
    caller read, so two editors saving the same entry cannot overwrite each other."""

    # Reading

    def search(
        self, query: str | None = None, status: str | None = None, limit: int = 200, offset: int = 0
    ) -> tuple[list[KbEntryRecord], int]:
        """Entries by id, filtered by status and a full-text search (every word must occur in the id, tags,
        a phrasing or an answer; case-insensitive); returns the page and the total."""
        with self._read() as s:
            statement = select(KbEntryRow).order_by(KbEntryRow.entry_id)
            if status:
                statement = statement.where(KbEntryRow.status == status)
            rows = list(s.scalars(statement))
        words = [w.casefold() for w in (query or "").split() if w]
        if words:
            rows = [row for row in rows if all(w in _haystack(row) for w in words)]
        return [KbEntryRecord.from_row(row) for row in rows[offset : offset + limit]], len(rows)

    def get(self, entry_id: str) -> KbEntryRecord:
        with self._read() as s:
            row = s.scalar(select(KbEntryRow).where(KbEntryRow.entry_id == entry_id))
            if row is None:
                raise KbNotFoundError(f"no KB entry {entry_id!r}")
            return KbEntryRecord.from_row(row)

    def versions(self, entry_id: str) -> list[KbVersionRecord]:
        """Every version of an entry, newest first."""
        with self._read() as s:
            rows = list(
                s.scalars(
                    select(KbEntryVersionRow)
                    .where(KbEntryVersionRow.entry_id == entry_id)
                    .order_by(KbEntryVersionRow.version.desc())
                )
            )
        if not rows:
            raise KbNotFoundError(f"no KB entry {entry_id!r}")
        return [KbVersionRecord.from_row(row) for row in rows]

    def version(self, entry_id: str, version: int) -> KbVersionRecord:
        with self._read() as s:
            row = s.scalar(
                select(KbEntryVersionRow).where(
                    KbEntryVersionRow.entry_id == entry_id, KbEntryVersionRow.version == version
                )
            )
            if row is None:
                raise KbNotFoundError(f"KB entry {entry_id!r} has no version {version}")
            return KbVersionRecord.from_row(row)

    def diff(self, entry_id: str, v1: int, v2: int) -> str:
        """A unified diff of the YAML of two versions."""
        first, second = self.version(entry_id, v1), self.version(entry_id, v2)
        return diff_text(
            first.content.yaml_text(), second.content.yaml_text(), f"{entry_id} v{v1}", f"{entry_id} v{v2}"
        )

    def published_kb(self) -> KnowledgeBase:
        """What customers are answered from: the published version of every live entry."""
        with self._read() as s:
            pairs = list(
                s.execute(
                    select(KbEntryRow.entry_id, KbEntryVersionRow.content)
                    .join(
                        KbEntryVersionRow,
                        (KbEntryVersionRow.entry_id == KbEntryRow.entry_id)
                        & (KbEntryVersionRow.version == KbEntryRow.published_version),
                    )
                    .where(KbEntryRow.published_version.is_not(None))
                    .order_by(KbEntryRow.entry_id)
                )
            )
        return KnowledgeBase([EntryContent.from_dict(content).to_kb_entry("published") for _, content in pairs])

    # Changing

    def save(
        self,
        content: EntryContent,
        expected_version: int | None,
        author: str | None,
        note: str | None = None,
        status: str = "draft",
    ) -> KbEntryRecord:
        """Create (expected_version None) or change an entry. A change needs the version the editor started
        from; if someone saved since, KbConflictError carries their content and the diff, and nothing is written.
        A saved change is a draft: the live answer stays until the draft is reviewed and published."""
        content = validate(content)
        if status not in ("draft", "review"):
            raise KbTransitionError("a save makes a draft (or sends it for review); publish with a transition")
        with self._write() as s:
            row = s.scalar(select(KbEntryRow).where(KbEntryRow.entry_id == content.entry_id).with_for_update())
            now = utcnow()
            if row is None:
                if expected_version is not None:
                    raise KbNotFoundError(f"no KB entry {content.entry_id!r}")
                row = create_entry(s, content, status, None, author, note or "created", now)
                return KbEntryRecord.from_row(row)
            current = KbEntryRecord.from_row(row)
            if expected_version != row.version:
                diff = diff_text(
                    current.content.yaml_text(),
                    content.yaml_text(),
                    f"{content.entry_id} v{row.version} (saved by {row.updated_by or 'someone'})",
                    f"{content.entry_id} (yours, started from v{expected_version})",
                )
                raise KbConflictError(current, content, diff)
            # The editor's form carries neither the file nor the label: the entry keeps its own.
            content = EntryContent(
                content.entry_id,
                content.questions,
                content.answers,
                content.tags,
                content.source_file or row.source_file,
                content.label if content.label is not None else row.label,
            )
            revise(row, content, status, author, now)
            add_version(s, row, author, note, now)
            return KbEntryRecord.from_row(row)

    def transition(
        self, entry_id: str, status: str, expected_version: int, author: str | None, note: str | None = None
    ) -> ChangeResult:
        """Move an entry along the workflow; publishing makes this version the live one, archiving takes the
        entry off the air. Each transition is a version too (same content), so history shows who did it."""
        if status not in STATUSES:
            raise KbTransitionError(f"unknown status {status!r}; one of {list(STATUSES)}")
        with self._write() as s:
            row = self._row(s, entry_id)
            if row.version != expected_version:
                raise KbConflictError(KbEntryRecord.from_row(row), None, "")
            if status not in TRANSITIONS[row.status]:
                allowed = ", ".join(TRANSITIONS[row.status])
                raise KbTransitionError(f"an entry in {row.status} can move to {allowed}, not to {status}")
            was_live = row.published_version
            now = utcnow()
            row.status = status
            row.version += 1
            if status == "published":
                row.published_version = row.version
            elif status == "archived":
                row.published_version = None
            row.updated_at, row.updated_by = now, author
            add_version(s, row, author, note or f"→ {status}", now)
            return ChangeResult(KbEntryRecord.from_row(row), live_changed=row.published_version != was_live)

    def restore(
        self,
        entry_id: str,
        version: int,
        author: str | None,
        expected_version: int | None = None,
        publish: bool = False,
    ) -> ChangeResult:
        """A new version with the content of an old one: a draft, or (publish=True, a rollback to a version that
        was published before) live at once."""
        old = self.version(entry_id, version)
        if publish and old.status != "published":
            # A rollback skips review, so it may only bring back text that was reviewed and live before.
            raise KbTransitionError(
                f"version {version} was never published: restore it as a draft and send it for review"
            )
        with self._write() as s:
            row = self._row(s, entry_id)
            if expected_version is not None and row.version != expected_version:
                raise KbConflictError(KbEntryRecord.from_row(row), old.content, "")
            was_live = row.published_version
            now = utcnow()
            content = old.content
            row.tags, row.questions, row.answers = content.tags, content.questions, content.answers
            row.source_file = content.source_file or row.source_file
            row.label = content.label
            row.status = "published" if publish else "draft"
            row.version += 1
            if publish:
                row.published_version = row.version
            row.updated_at, row.updated_by = now, author
            note = f"restored v{version}" + (" and published" if publish else "")
            add_version(s, row, author, note, now)
            return ChangeResult(KbEntryRecord.from_row(row), live_changed=row.published_version != was_live)

    def _row(self, s: Session, entry_id: str) -> KbEntryRow:
        row = s.scalar(select(KbEntryRow).where(KbEntryRow.entry_id == entry_id).with_for_update())
        if row is None:
            raise KbNotFoundError(f"no KB entry {entry_id!r}")
        return row


def _haystack(row: KbEntryRow) -> str:
    parts = [row.entry_id, *row.tags]
    parts += [q for qs in row.questions.values() for q in qs]
    parts += list(row.answers.values())
    return "\n".join(parts).casefold()
