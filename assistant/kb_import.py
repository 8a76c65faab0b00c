"""Import FAQ rows (`entry_id, question, answer, lang`) from CSV or JSONL into a knowledge base folder.

All or nothing: one bad row names the file, row and field, and nothing of the batch is written."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.knowledge_base import (
    ANSWER_PLACEHOLDERS,
    ENTRY_ID_PATTERN,
    LANGUAGE_PATTERN,
    KBEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    check_placeholders,
    export_knowledge_base,
    load_knowledge_base,
)

REQUIRED_COLUMNS = ("entry_id", "question", "lang")


@dataclass(frozen=True)
class ImportRow:
    entry_id: str
    question: str
    answer: str
    lang: str
    row: int


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    entries_created: int
    entries_updated: int
    questions_added: int
    answers_set: int
    files_written: list[Path]


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
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
                yield number, record
    elif path.suffix.lower() in (".csv", ".tsv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise KnowledgeBaseError(path, 1, f"header lacks column(s) {missing}; need {list(REQUIRED_COLUMNS)}")
            for record in reader:
                # Data rows start on line 2 of the file, after the header.
                yield reader.line_num, dict(record)
    else:
        raise KnowledgeBaseError(path, None, "unknown file type; use .csv, .tsv or .jsonl")


def _field(record: dict[str, object], name: str, path: Path, number: int, required: bool) -> str:
    value = record.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise KnowledgeBaseError(path, number, f"row {number}: field `{name}` is empty")
    return text


def parse_rows(path: Path) -> list[ImportRow]:
    """Validated rows of an import file; the first bad one raises naming row and field."""
    rows = []
    for number, record in _read_rows(path):
        entry_id = _field(record, "entry_id", path, number, required=True)
        question = _field(record, "question", path, number, required=False)
        lang = _field(record, "lang", path, number, required=True)
        answer = _field(record, "answer", path, number, required=False)
        if not ENTRY_ID_PATTERN.match(entry_id):
            raise KnowledgeBaseError(path, number, f"row {number}: field `entry_id` {entry_id!r} is not a valid id")
        if not LANGUAGE_PATTERN.match(lang):
            raise KnowledgeBaseError(path, number, f"row {number}: field `lang` {lang!r} is not a language code")
        if not question and not answer:
            raise KnowledgeBaseError(path, number, f"row {number}: needs a `question` or an `answer`")
        if answer:
            problem = check_placeholders(answer, ANSWER_PLACEHOLDERS)
            if problem:
                raise KnowledgeBaseError(path, number, f"row {number}: field `answer`: {problem}")
        rows.append(ImportRow(entry_id, question, answer, lang, number))
    return rows


def merge_rows(
    kb: KnowledgeBase, rows: list[ImportRow], target_file: str, status: str
) -> tuple[KnowledgeBase, dict[str, int]]:
    """The KB with rows merged in: new phrasings appended (no duplicates), answers set or replaced."""
    entries = {entry.id: entry for entry in kb.entries}
    order = [entry.id for entry in kb.entries]
    created: set[str] = set()
    updated: set[str] = set()
    counts = {"questions_added": 0, "answers_set": 0}
    for row in rows:
        entry = entries.get(row.entry_id)
        if entry is None:
            entry = KBEntry(id=row.entry_id, questions={}, answers={}, status=status, source_file=target_file)
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
    incomplete = [entry_id for entry_id in created if not entries[entry_id].answers]
    if incomplete:
        first = next(r for r in rows if r.entry_id == sorted(incomplete)[0])
        raise KnowledgeBaseError(
            "import", first.row, f"new entry {first.entry_id!r} has no answer in any language (rows need `answer`)"
        )
    counts["entries_created"] = len(created)
    counts["entries_updated"] = len(updated)
    return KnowledgeBase([entries[i] for i in order], root=kb.root), counts


def import_file(
    path: Path, kb_dir: Path, target_file: str = "imported.yml", status: str = "published"
) -> ImportSummary:
    """Merge an import file into the YAML of `kb_dir` (created if missing)."""
    kb_dir.mkdir(parents=True, exist_ok=True)
    kb = load_knowledge_base(kb_dir)
    rows = parse_rows(path)
    try:
        merged, counts = merge_rows(kb, rows, target_file, status)
    except KnowledgeBaseError as error:
        raise KnowledgeBaseError(path, error.line, error.detail) from error
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
    )
