"""One raw row of a KB import as read, before any check: the type both readers (tabular, Rasa) produce and
`kb_import.parse_records` checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ImportRecord:
    """One raw row as read, before checks: where it came from and its fields (`entry_id`, `question`,
    `answer`, `lang`). `unit` and `names` say how an error points at it ("row 3: field `answer`" for a
    spreadsheet, "line 12: `text` of utter_faq/ask_name" for Rasa)."""

    path: Path
    number: int
    values: dict[str, object]
    unit: str = "row"
    names: dict[str, str] = field(default_factory=dict)

    def where(self, name: str) -> str:
        return f"{self.unit} {self.number}: {self.names.get(name, f'field `{name}`')}"
