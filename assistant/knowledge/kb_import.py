"""Import FAQ rows (`entry_id, question, answer, lang`) from CSV, TSV or JSONL, or Rasa retrieval intents
(`faq/...` with their `utter_faq/...` responses, see `kb_import_rasa`), into a knowledge base folder.

All or nothing: one bad row names the file, row and field, and nothing of the batch is written. Entry ids
are taken as teams write them: a name that is not a valid id is kept as the entry's label and a stable id is
derived from it (`assistant.knowledge.entry_ids`). A row with every field blank is skipped and reported."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.domain.kb_entries import (
    ANSWER_PLACEHOLDERS,
    LANGUAGE_PATTERN,
    MAX_LABEL_LENGTH,
    KBEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    check_placeholders,
)
from assistant.knowledge.entry_ids import DerivedId, derive_entry_id
from assistant.knowledge.kb_import_rasa import read_rasa
from assistant.knowledge.kb_import_record import ImportRecord
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base

REQUIRED_COLUMNS = ("entry_id", "question", "lang")
TABULAR_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
RASA_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class ImportRow:
    entry_id: str
    question: str
    answer: str
    lang: str
    row: int
    label: str | None = None  # the name as written, where it is not the id itself


@dataclass(frozen=True)
class ParsedImport:
    rows: list[ImportRow]
    derived_ids: list[DerivedId]  # names that were not valid ids, first seen first
    skipped_rows: list[int]  # rows with every field blank
    notes: list[str]  # what was read but not imported, and why


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    entries_created: int
    entries_updated: int
    questions_added: int
    answers_set: int
    files_written: list[Path]
    derived_ids: list[DerivedId] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read_tabular(path: Path) -> Iterator[ImportRecord]:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise KnowledgeBaseError(path, number, f"row {number}: invalid JSON ({error.msg})") from error
                if not isinstance(record, dict):
                    raise KnowledgeBaseError(path, number, f"row {number}: expected a JSON object")
                yield ImportRecord(path, number, record)
    elif path.suffix.lower() in (".csv", ".tsv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise KnowledgeBaseError(path, 1, f"header lacks column(s) {missing}; need {list(REQUIRED_COLUMNS)}")
            for record in reader:
                # Data rows start on line 2 of the file, after the header.
                yield ImportRecord(path, reader.line_num, dict(record))
    else:
        raise KnowledgeBaseError(path, None, "unknown file type; use .csv, .tsv, .jsonl or a Rasa .yml")


def _is_blank(values: dict[str, object]) -> bool:
    """Every field empty or whitespace, extra columns included (a spreadsheet's trailing empty line)."""
    cells: list[object] = []
    for value in values.values():
        cells.extend(value if isinstance(value, list) else [value])  # csv puts surplus cells in a list
    return all(cell is None or not str(cell).strip() for cell in cells)


def _field(record: ImportRecord, name: str, required: bool) -> str:
    value = record.values.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise KnowledgeBaseError(record.path, record.number, f"{record.where(name)} is empty")
    return text


def parse_records(records: Iterator[ImportRecord] | list[ImportRecord]) -> ParsedImport:
    """Validated rows; the first bad one raises naming file, row and field. Two different names that
    would become the same id are refused, naming both rows."""
    rows: list[ImportRow] = []
    skipped: list[int] = []
    derived: dict[str, tuple[DerivedId, ImportRecord]] = {}
    for record in records:
        if _is_blank(record.values):
            skipped.append(record.number)
            continue
        original = _field(record, "entry_id", required=True)
        question = _field(record, "question", required=False)
        lang = _field(record, "lang", required=True)
        answer = _field(record, "answer", required=False)
        if len(original) > MAX_LABEL_LENGTH:
            raise KnowledgeBaseError(
                record.path, record.number, f"{record.where('entry_id')} is longer than {MAX_LABEL_LENGTH} characters"
            )
        name = derive_entry_id(original)
        first = derived.setdefault(name.entry_id, (name, record))
        if first[0].original != name.original:
            raise KnowledgeBaseError(
                record.path,
                record.number,
                f"{record.where('entry_id')} {name.original!r} and {first[1].unit} {first[1].number} "
                f"{first[0].original!r} would both become the id {name.entry_id!r}; rename one of them",
            )
        if not LANGUAGE_PATTERN.match(lang):
            raise KnowledgeBaseError(
                record.path, record.number, f"{record.where('lang')} {lang!r} is not a language code"
            )
        if not question and not answer:
            raise KnowledgeBaseError(
                record.path, record.number, f"{record.unit} {record.number}: needs a `question` or an `answer`"
            )
        if answer:
            problem = check_placeholders(answer, ANSWER_PLACEHOLDERS)
            if problem:
                raise KnowledgeBaseError(record.path, record.number, f"{record.where('answer')}: {problem}")
        label = name.original if name.changed else None
        rows.append(ImportRow(name.entry_id, question, answer, lang, record.number, label))
    changed = [name for name, _ in derived.values() if name.changed]
    return ParsedImport(rows, changed, skipped, [])


def read_import(path: Path, responses: Path | None = None, lang: str | None = None) -> ParsedImport:
    """The checked rows of an import file: tabular (CSV/TSV/JSONL) or Rasa (.yml, answers in the same file
    or in `responses`, all phrasings in `lang`)."""
    if path.suffix.lower() in RASA_SUFFIXES:
        if lang is None:
            raise KnowledgeBaseError(path, None, "a Rasa file has no language per example: give its language")
        records, notes = read_rasa(path, responses, lang)
        parsed = parse_records(records)
        return ParsedImport(parsed.rows, parsed.derived_ids, parsed.skipped_rows, notes)
    if responses is not None:
        raise KnowledgeBaseError(path, None, "a responses file goes with a Rasa NLU file (.yml), not a table")
    return parse_records(_read_tabular(path))


def parse_rows(path: Path) -> list[ImportRow]:
    """Validated rows of a CSV/TSV/JSONL file (blank rows skipped); the first bad one raises naming row and field."""
    return read_import(path).rows


def merge_rows(
    kb: KnowledgeBase, rows: list[ImportRow], target_file: str, status: str
) -> tuple[KnowledgeBase, dict[str, int]]:
    """The KB with rows merged in: new phrasings appended (no duplicates), answers set or replaced. A new
    entry takes the row's label; an existing entry keeps its own."""
    entries = {entry.id: entry for entry in kb.entries}
    order = [entry.id for entry in kb.entries]
    created: set[str] = set()
    updated: set[str] = set()
    counts = {"questions_added": 0, "answers_set": 0}
    for row in rows:
        entry = entries.get(row.entry_id)
        if entry is None:
            entry = KBEntry(
                id=row.entry_id, questions={}, answers={}, status=status, source_file=target_file, label=row.label
            )
            entries[row.entry_id] = entry
            order.append(row.entry_id)
            created.add(row.entry_id)
        elif row.entry_id not in created:
            updated.add(row.entry_id)
        if row.question and row.question not in entry.questions.setdefault(row.lang, []):
            entry.questions[row.lang].append(row.question)
            counts["questions_added"] += 1
        if row.answer and entry.answers.get(row.lang) != row.answer:
            entry.answers[row.lang] = row.answer
            counts["answers_set"] += 1
    for entry_id in sorted(created):
        # Checked here, before anything is written: the KB loader would refuse such an entry afterwards.
        entry = entries[entry_id]
        missing = "answer" if not entry.answers else "question" if not entry.questions else None
        if missing is not None:
            first = next(r for r in rows if r.entry_id == entry_id)
            what = "answer" if missing == "answer" else "question phrasing"
            raise KnowledgeBaseError(
                "import",
                first.row,
                f"new entry {entry.display_name!r} has no {what} in any language (rows need `{missing}`)",
            )
    counts["entries_created"] = len(created)
    counts["entries_updated"] = len(updated)
    return KnowledgeBase([entries[i] for i in order], root=kb.root), counts


def import_file(
    path: Path,
    kb_dir: Path,
    target_file: str = "imported.yml",
    status: str = "published",
    *,
    responses: Path | None = None,
    lang: str | None = None,
) -> ImportSummary:
    """Merge an import file into the YAML of `kb_dir` (created if missing)."""
    kb_dir.mkdir(parents=True, exist_ok=True)
    kb = load_knowledge_base(kb_dir)
    parsed = read_import(path, responses, lang)
    rows = parsed.rows
    try:
        merged, counts = merge_rows(kb, rows, target_file, status)
    except KnowledgeBaseError as error:
        hint = "; give the intent a response `utter_<intent>`" if path.suffix.lower() in RASA_SUFFIXES else ""
        raise KnowledgeBaseError(path, error.line, error.detail + hint) from error
    changed_files = {e.source_file for e in merged.entries if e.id in {r.entry_id for r in rows}}
    touched = KnowledgeBase([e for e in merged.entries if e.source_file in changed_files], root=kb_dir)
    written = export_knowledge_base(touched, kb_dir, default_file=target_file)
    load_knowledge_base(kb_dir)  # fail loudly now, not when a customer is waiting
    return ImportSummary(
        rows=len(rows),
        entries_created=counts["entries_created"],
        entries_updated=counts["entries_updated"],
        questions_added=counts["questions_added"],
        answers_set=counts["answers_set"],
        files_written=written,
        derived_ids=parsed.derived_ids,
        skipped_rows=parsed.skipped_rows,
        notes=parsed.notes,
    )
