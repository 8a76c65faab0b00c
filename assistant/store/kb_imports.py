"""Bringing entries into the editor's database without ever replacing what customers get by surprise.

Three ways in, one rule each:
- `seed_yaml`: the KB folder at first start, into a database whose editor has never published (statuses kept, entries
  already there left alone). Idempotent, and safe when several processes start at once: the entry id is unique, so
  a second seeder's insert fails and rolls back whole (PostgreSQL), or waits for the write lock and then finds the
  entries there (SQLite).
- an import (`import_yaml`, `import_rows`): new entries become drafts, a changed entry gets a draft revision.
- an import with `publish`: new and changed entries are published, except a *conflict*: a live entry whose
  published answer the import would replace (or which has a draft waiting for review). A conflict stays live as it
  is and the import is saved as a draft revision of it, for an editor to review."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.domain.kb_entries import KBEntry, KnowledgeBase, KnowledgeBaseError
from assistant.knowledge.kb_import import merge_rows, read_import
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base
from assistant.store.db import Transactions
from assistant.store.errors import KbValidationError
from assistant.store.kb_records import EntryContent, ImportResult, KbEntryRecord
from assistant.store.kb_rows import DEFAULT_FILE, add_version, create_entry, live_contents, revise, validate
from assistant.store.tables import KbEntryRow, utcnow


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


class KbSync(Transactions):
    """The editor's store's ways in and out: the YAML files' view of the entries, exports, the first-start seed
    and imports of a folder or of rows."""

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
        with self._read() as s:
            if editor_was_used(s):  # every later start: one small query, the folder is not even read
                return None
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
                    create_entry(s, content_of(entry), entry.status, live, author, "imported at first start", now)
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
        with self._read() as s:
            current = [KbEntryRecord.from_row(row) for row in s.scalars(select(KbEntryRow))]
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
                    create_entry(s, content, status, 1 if publish[entry.id] else None, author, "imported", now)
                    counts["add"] += 1
                    if publish[entry.id]:
                        live_changed.append(entry.id)
                    continue
                # An entry stays in the file it lives in.
                content = EntryContent(
                    entry.id, content.questions, content.answers, content.tags, row.source_file, content.label
                )
                published = action == "publish"
                revise(row, content, "published" if published else "draft", author, now)
                if published:
                    row.published_version = row.version
                    live_changed.append(entry.id)
                if action == "conflict":
                    conflicts.append(entry.id)
                    note = "imported: the published answer differs, so it stays live; review this draft"
                else:
                    counts[action] += 1
                    note = "imported"
                add_version(s, row, author, note, now)
        return ImportResult(
            created=counts["add"],
            updated=counts["draft"] + counts["publish"],
            unchanged=counts["unchanged"],
            published=len(live_changed),
            conflicts=tuple(conflicts),
            live_changed=tuple(live_changed),
        )
