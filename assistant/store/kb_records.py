"""The KB editor's records: an entry's content as an editor writes it, the entry with its workflow state, its
versions, and what a change or an import did. Built from their rows like every record (`assistant.store.records`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.domain.kb_entries import KBEntry
from assistant.knowledge.knowledge_base import dump_entries
from assistant.store.records import FromRow, column, from_columns
from assistant.store.tables import KbEntryRow


@dataclass(frozen=True)
class EntryContent:
    """What an editor writes: the fields of one YAML entry."""

    entry_id: str
    questions: dict[str, list[str]]
    answers: dict[str, str]
    tags: list[str] = field(default_factory=list)
    source_file: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry_id,
            # Only when set, so the stored versions of entries without a label read exactly as before labels.
            **({"label": self.label} if self.label is not None else {}),
            "tags": list(self.tags),
            "questions": {lang: list(qs) for lang, qs in sorted(self.questions.items())},
            "answers": dict(sorted(self.answers.items())),
            "source_file": self.source_file,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EntryContent:
        return cls(
            entry_id=str(data["id"]),
            questions={str(k): [str(q) for q in v] for k, v in dict(data.get("questions") or {}).items()},
            answers={str(k): str(v) for k, v in dict(data.get("answers") or {}).items()},
            tags=[str(t) for t in data.get("tags") or []],
            source_file=data.get("source_file"),
            label=data.get("label"),
        )

    def to_kb_entry(self, status: str) -> KBEntry:
        return KBEntry(
            id=self.entry_id,
            questions={lang: list(qs) for lang, qs in self.questions.items()},
            answers=dict(self.answers),
            tags=list(self.tags),
            status=status,
            source_file=self.source_file,
            label=self.label,
        )

    def yaml_text(self) -> str:
        """The entry as it would read in a KB file (what diffs compare)."""
        text = dump_entries([self.to_kb_entry("published")]).removeprefix("entries:\n")
        return text.replace("  status: published\n", "", 1)


def _entry_content(row: KbEntryRow) -> EntryContent:
    return EntryContent(
        row.entry_id, dict(row.questions), dict(row.answers), list(row.tags), row.source_file, row.label
    )


@dataclass(frozen=True)
class KbEntryRecord(FromRow):
    content: EntryContent = field(metadata=from_columns(_entry_content))
    status: str
    version: int
    published_version: int | None
    updated_at: datetime
    updated_by: str | None

    @property
    def entry_id(self) -> str:
        return self.content.entry_id

    @property
    def is_live(self) -> bool:
        return self.published_version is not None

    def missing_languages(self, languages: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
        """Per configured language, what is missing: 'questions' and/or 'answer'."""
        missing: dict[str, list[str]] = {}
        for lang in languages:
            gaps = []
            if not self.content.questions.get(lang):
                gaps.append("questions")
            if not self.content.answers.get(lang):
                gaps.append("answer")
            if gaps:
                missing[lang] = gaps
        return missing


@dataclass(frozen=True)
class KbVersionRecord(FromRow):
    entry_id: str
    version: int
    content: EntryContent = field(metadata=column(EntryContent.from_dict))
    status: str
    author: str | None
    at: datetime
    note: str | None


@dataclass(frozen=True)
class ChangeResult:
    """What a change did; `live_changed` says whether customers' answers changed (re-index needed)."""

    record: KbEntryRecord
    live_changed: bool


@dataclass(frozen=True)
class ImportResult:
    """What an import did. `conflicts`: live entries whose published answer the import would have replaced: they
    stay live and the import is saved as a draft revision of each, for an editor to review. `live_changed`: the
    entries whose published version changed (the index and the YAML files follow them)."""

    created: int
    updated: int
    unchanged: int
    published: int
    conflicts: tuple[str, ...] = ()
    live_changed: tuple[str, ...] = ()
    kept: int = 0  # entries of the source already in the database, left alone (a seed never changes them)
