"""The knowledge base as the editor keeps it: entries with a workflow (draft → review → published → archived),
every save a numbered version with author and diff, stale saves refused, and a lossless YAML round trip.

What customers get is each entry's *published* version: editing a live entry makes a new draft and leaves
the live answer alone until that draft is published (`published_kb()` is what the index is built from)."""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.domain.kb_entries import STATUSES, KBEntry, KnowledgeBase, KnowledgeBaseError
from assistant.knowledge.kb_import import merge_rows, read_import
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base, parse_entry
from assistant.store.db import Transactions, added
from assistant.store.errors import KbConflictError, KbNotFoundError, KbTransitionError, KbValidationError
from assistant.store.kb_imports import DEFAULT_FILE, content_of, editor_was_used, live_contents, plan
from assistant.store.kb_records import ChangeResult, EntryContent, ImportResult, KbEntryRecord, KbVersionRecord
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


class KbStore(Transactions):
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
                row = self._create(s, content, status, None, author, note or "created", now)
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
            _revise(row, content, status, author, now)
            self._add_version(s, row, author, note, now)
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
            self._add_version(s, row, author, note or f"→ {status}", now)
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
            self._add_version(s, row, author, note, now)
            return ChangeResult(KbEntryRecord.from_row(row), live_changed=row.published_version != was_live)

    def _row(self, s: Session, entry_id: str) -> KbEntryRow:
        row = s.scalar(select(KbEntryRow).where(KbEntryRow.entry_id == entry_id).with_for_update())
        if row is None:
            raise KbNotFoundError(f"no KB entry {entry_id!r}")
        return row

    @staticmethod
    def _create(
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
        KbStore._add_version(s, added(s, row), author, note, now)
        return row

    @staticmethod
    def _add_version(s: Session, row: KbEntryRow, author: str | None, note: str | None, now: datetime) -> None:
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

    # YAML round trip with knowledge_base/

    def file_entries(self, entry_ids: list[str] | None = None) -> list[KBEntry]:
        """Entries as the team's YAML files hold them (all, or `entry_ids`): a live entry with an unpublished draft
        as its live version (the files hold what customers get; drafts stay in the database), any other entry as
        its working copy with its status."""
        entries: list[KBEntry] = []
        with self._read() as s:
            statement = select(KbEntryRow).order_by(KbEntryRow.id)
            if entry_ids is not None:
                statement = statement.where(KbEntryRow.entry_id.in_(entry_ids))
            rows = list(s.scalars(statement))
            live = live_contents(s)
        for row in rows:
            record = KbEntryRecord.from_row(row)
            if row.entry_id in live and row.status != "published":
                content = live[row.entry_id]
                content = EntryContent(
                    row.entry_id, content.questions, content.answers, content.tags, row.source_file, content.label
                )
                entries.append(content.to_kb_entry("published"))
            else:
                entries.append(record.content.to_kb_entry(record.status))
        return entries

    def export_yaml(self, out_dir: Path) -> list[Path]:
        """Write every entry as the team's YAML files (one per source file), as `file_entries` gives them."""
        return export_knowledge_base(KnowledgeBase(self.file_entries()), out_dir, default_file=DEFAULT_FILE)

    def import_yaml(self, kb_dir: Path, author: str | None = "import", publish: bool = False) -> ImportResult:
        """Bring the YAML folder into the database, all or nothing: any broken file raises KnowledgeBaseError
        (file, line, field) before anything is written. New entries become drafts, changed ones draft revisions;
        `publish` publishes the entries the files mark published, conflicts excepted (`kb_imports`)."""
        kb = load_knowledge_base(kb_dir)
        wanted = {entry.id: publish and entry.status == "published" for entry in kb.entries}
        return self._import_entries(kb.entries, author, wanted)

    def seed_yaml(self, kb_dir: Path, author: str | None = "first start") -> ImportResult | None:
        """The KB folder as the editor's first content, statuses kept, when the editor has never published;
        None when it has (or another process seeded it at the same moment). Entries already there stay as they are."""
        kb = load_knowledge_base(kb_dir)
        try:
            with self._write() as s:
                if editor_was_used(s):
                    return None
                present = set(s.scalars(select(KbEntryRow.entry_id)))
                now = utcnow()
                created = published = 0
                for entry in kb.entries:
                    if entry.id in present:
                        continue
                    live = 1 if entry.status == "published" else None
                    self._create(s, content_of(entry), entry.status, live, author, "imported at first start", now)
                    created += 1
                    published += live is not None
        except IntegrityError:
            return None  # a process starting at the same moment seeded it first (PostgreSQL: its ids won)
        live_ids = tuple(e.id for e in kb.entries if e.id not in present and e.status == "published")
        kept = sum(entry.id in present for entry in kb.entries)
        return ImportResult(created, 0, 0, published, live_changed=live_ids, kept=kept)

    def import_rows(
        self,
        path: Path,
        author: str | None = "import",
        publish: bool = False,
        *,
        target_file: str = DEFAULT_FILE,
        responses: Path | None = None,
        lang: str | None = None,
    ) -> ImportResult:
        """CSV/TSV/JSONL rows (entry_id, question, answer, lang) or a Rasa file merged into the stored working
        copies, all or nothing: a broken row raises KnowledgeBaseError naming file, row and field, and nothing is
        written. New entries go to `target_file`; drafts unless `publish` (conflicts are drafts either way)."""
        rows = read_import(path, responses, lang).rows
        current, _ = self.search(limit=1_000_000)
        kb = KnowledgeBase([record.content.to_kb_entry(record.status) for record in current])
        try:
            merged, _ = merge_rows(kb, rows, target_file, "draft")
        except KnowledgeBaseError as error:
            raise KnowledgeBaseError(path, error.line, error.detail) from error
        touched = {row.entry_id for row in rows}
        entries = [entry for entry in merged.entries if entry.id in touched]
        for entry in entries:
            try:
                validate(
                    EntryContent(entry.id, entry.questions, entry.answers, entry.tags, entry.source_file, entry.label)
                )
            except KbValidationError as error:
                first = next(row for row in rows if row.entry_id == entry.id)
                raise KnowledgeBaseError(path, first.row, f"row {first.row}: {error}") from error
        return self._import_entries(entries, author, {entry.id: publish for entry in entries})

    def _import_entries(self, entries: list[KBEntry], author: str | None, publish: dict[str, bool]) -> ImportResult:
        """Each entry added, left alone, revised as a draft or published, or kept live as a conflict (`plan`)."""
        counts = {"add": 0, "unchanged": 0, "draft": 0, "publish": 0}
        conflicts: list[str] = []
        live_changed: list[str] = []
        with self._write() as s:
            existing = {row.entry_id: row for row in s.scalars(select(KbEntryRow))}
            live = live_contents(s)
            now = utcnow()
            for entry in entries:
                content = content_of(entry)
                row = existing.get(entry.id)
                action = plan(row, live.get(entry.id), content, publish[entry.id])
                if action == "unchanged":
                    counts["unchanged"] += 1
                    continue
                if row is None:
                    status = "published" if publish[entry.id] else "draft"
                    self._create(s, content, status, 1 if publish[entry.id] else None, author, "imported", now)
                    counts["add"] += 1
                    if publish[entry.id]:
                        live_changed.append(entry.id)
                    continue
                # An entry stays in the file it lives in.
                content = EntryContent(
                    entry.id, content.questions, content.answers, content.tags, row.source_file, content.label
                )
                published = action == "publish"
                _revise(row, content, "published" if published else "draft", author, now)
                if published:
                    row.published_version = row.version
                    live_changed.append(entry.id)
                if action == "conflict":
                    conflicts.append(entry.id)
                    note = "imported: the published answer differs, so it stays live; review this draft"
                else:
                    counts[action] += 1
                    note = "imported"
                self._add_version(s, row, author, note, now)
        return ImportResult(
            created=counts["add"],
            updated=counts["draft"] + counts["publish"],
            unchanged=counts["unchanged"],
            published=len(live_changed),
            conflicts=tuple(conflicts),
            live_changed=tuple(live_changed),
        )


def _revise(row: KbEntryRow, content: EntryContent, status: str, author: str | None, now: datetime) -> None:
    """The entry's next version: `content` in `status`, written by `author` at `now` (its history row is apart)."""
    row.tags, row.questions, row.answers = content.tags, content.questions, content.answers
    row.source_file = content.source_file
    row.label = content.label
    row.status = status
    row.version += 1
    row.updated_at, row.updated_by = now, author


def _haystack(row: KbEntryRow) -> str:
    parts = [row.entry_id, *row.tags]
    parts += [q for qs in row.questions.values() for q in qs]
    parts += list(row.answers.values())
    return "\n".join(parts).casefold()
