"""What a knowledge-base entry is: an id, an optional label, per-language question phrasings and answers, a
status, and the KB of entries with its content checksum (the version every index and model is built for).
Reading and writing the YAML folder is `assistant.knowledge.knowledge_base`."""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InputError

ENTRY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
# The editor's workflow (issue 5); only "published" entries are ever answered.
STATUSES = ("draft", "review", "published", "archived")
ANSWER_PLACEHOLDERS = frozenset(
    {"first_name", "brand", "support_email", "help_center_url", "community_url", "order_tracking_url"}
)
MAX_LABEL_LENGTH = 200


class KnowledgeBaseError(InputError, ValueError):
    """A broken KB file or import row; the message starts with `path:line:`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        location = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{location}: {message}")


@dataclass
class KBEntry:
    id: str
    questions: dict[str, list[str]]
    answers: dict[str, str]
    tags: list[str] = field(default_factory=list)
    status: str = "published"
    source_file: str | None = None
    source_line: int | None = None
    # The name the team gave the entry where it is not a valid id (`Refund_Not_Showing`, `faq/ask_name`);
    # kept by `kb import` so editors and reports can show it. None: the id is the name.
    label: str | None = None

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def display_name(self) -> str:
        """What editors and reports show for the entry: its label if it has one, else its id."""
        return self.label or self.id

    @property
    def languages(self) -> list[str]:
        return sorted(self.answers)

    def answer_language_for(self, wanted: str, fallback: str) -> str:
        """The language to answer in: the sender's if the entry has it, else the fallback, else any."""
        for lang in (wanted, fallback):
            if self.answers.get(lang):
                return lang
        return self.languages[0]

    def to_yaml_dict(self) -> dict[str, Any]:
        # `label` only when set, so entries without one serialise (and checksum) exactly as before labels.
        return {
            "id": self.id,
            **({"label": self.label} if self.label is not None else {}),
            "tags": list(self.tags),
            "status": self.status,
            "questions": {lang: list(qs) for lang, qs in sorted(self.questions.items())},
            "answers": dict(sorted(self.answers.items())),
        }


@dataclass
class KnowledgeBase:
    entries: list[KBEntry]
    root: Path | None = None

    def __post_init__(self) -> None:
        self._by_id = {entry.id: entry for entry in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[KBEntry]:
        return iter(self.entries)

    def get(self, entry_id: str) -> KBEntry | None:
        return self._by_id.get(entry_id)

    def published(self) -> list[KBEntry]:
        return [entry for entry in self.entries if entry.is_published]

    @property
    def version(self) -> str:
        """A checksum of the published content: any edit that could change an answer changes it."""
        return version_of_snapshot(self.published_snapshot())

    def published_snapshot(self) -> str:
        """The published entries as canonical JSON (sorted by id and key): what `version` is the checksum of."""
        return json.dumps(
            [entry.to_yaml_dict() for entry in sorted(self.published(), key=lambda e: e.id)],
            ensure_ascii=False,
            sort_keys=True,
        )

    def languages(self) -> set[str]:
        return {lang for entry in self.entries for lang in entry.answers}


def version_of_snapshot(snapshot: str) -> str:
    return hashlib.sha256(snapshot.encode("utf-8")).hexdigest()[:16]


def placeholders_in(text: str) -> set[str]:
    """The `{name}` placeholders of a template; a malformed brace raises ValueError."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check_placeholders(text: str, allowed: frozenset[str]) -> str | None:
    """None if `text` only uses allowed placeholders, else a message saying what is wrong."""
    try:
        names = placeholders_in(text)
    except ValueError as error:
        return f"malformed placeholder braces ({error}); write a literal brace as {{{{ or }}}}"
    unknown = sorted(names - allowed)
    if unknown:
        return f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; allowed: {sorted(allowed)}"
    return None
