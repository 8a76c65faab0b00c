"""Intent training examples in Rasa's NLU YAML format (`training/nlu.yml`), read as Rasa writes them.

Entity annotations are reduced to their text; synonyms, regexes and lookup tables are skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.errors import InputError

_ENTITY = re.compile(r"\[(?P<text>[^\]]+)\](\((?P<name>[^)]+)\)|\{[^}]*\}|\[[^\]]*\])")


class NluDataError(InputError, ValueError):
    pass


@dataclass(frozen=True)
class NluExample:
    intent: str
    text: str
    lang: str | None


def _examples_from_block(block: object) -> list[str]:
    if isinstance(block, str):
        lines = [line.strip() for line in block.splitlines()]
        return [
            _ENTITY.sub(r"\g<text>", line[1:].strip()) for line in lines if line.startswith("-") and line[1:].strip()
        ]
    if isinstance(block, list):  # Rasa also accepts a list of {text: ...} with metadata per example
        texts = [item.get("text") if isinstance(item, dict) else item for item in block]
        return [_ENTITY.sub(r"\g<text>", str(t).strip()) for t in texts if t]
    return []


def load_nlu(path: Path) -> list[NluExample]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise NluDataError(f"{path}:{mark.line + 1 if mark else '?'}: invalid YAML: {error.problem}") from error
    except OSError as error:
        raise NluDataError(f"{path}: cannot read NLU data ({error.strerror})") from error
    items = (document or {}).get("nlu")
    if not isinstance(items, list):
        raise NluDataError(f"{path}: expected a top-level `nlu:` list (Rasa 3 NLU format)")
    examples = []
    for item in items:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        metadata = item.get("metadata") or {}
        lang = metadata.get("language") if isinstance(metadata, dict) else None
        for text in _examples_from_block(item.get("examples")):
            examples.append(NluExample(str(item["intent"]), text, lang))
    return examples
