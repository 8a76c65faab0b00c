"""Writing entries back into the team's YAML files in place, so that a git diff shows only what changed.

A round-trip YAML library (ruamel.yaml) keeps comments, key order, quoting, flow lists (`tags: [a, b]`) and folded
answers (`>-`) of everything it does not touch; of an entry only the fields that differ are replaced, an answer
keeping the style it had. The sample KB loads and dumps byte for byte with these settings (tested). A new entry is
appended to its file; a file that does not exist yet is created."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from assistant.domain.kb_entries import KBEntry

DEFAULT_FILE = "entries.yml"
# Answers written anew are folded near this column, like the sample KB's.
FOLD_WIDTH = 100


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap a line the team wrote
    return yaml


def folded(text: str, old: object = None) -> str:
    """`text` in the style the replaced answer had: folded near FOLD_WIDTH, literal, or plain."""
    if isinstance(old, LiteralScalarString):
        return cast(str, LiteralScalarString(text))
    if not isinstance(old, FoldedScalarString) or "\n" in text:
        return text
    value = FoldedScalarString(text)
    positions, start = [], 0
    for index, char in enumerate(text):
        # Fold at a single space once the line would pass the width (a double space cannot be folded).
        if char == " " and index - start >= FOLD_WIDTH - 12 and text[index + 1 : index + 2] not in (" ", ""):
            positions.append(index)
            start = index + 1
    value.fold_pos = positions
    return cast(str, value)


def _set(node: CommentedMap, key: str, value: Any) -> None:
    if node.get(key) != value:
        node[key] = value


def _set_list(node: CommentedMap, key: str, values: list[str], flow: bool) -> None:
    current = node.get(key)
    if isinstance(current, CommentedSeq):
        if list(current) != values:
            if list(current) == values[: len(current)]:
                current.extend(values[len(current) :])  # phrasings added at the end: the old lines stay as they are
            else:
                current[:] = values
        return
    seq = CommentedSeq(values)
    if flow:
        seq.fa.set_flow_style()
    node[key] = seq


def update_entry(node: CommentedMap, entry: KBEntry) -> None:
    """Change in `node` only what differs from `entry`."""
    if entry.label is not None:
        _set(node, "label", entry.label)
    elif "label" in node:
        del node["label"]
    _set_list(node, "tags", list(entry.tags), flow=True)
    _set(node, "status", entry.status)
    questions = node.setdefault("questions", CommentedMap())
    for lang in [lang for lang in questions if lang not in entry.questions]:
        del questions[lang]
    for lang, phrasings in entry.questions.items():
        _set_list(questions, lang, list(phrasings), flow=False)
    answers = node.setdefault("answers", CommentedMap())
    for lang in [lang for lang in answers if lang not in entry.answers]:
        del answers[lang]
    style = next((a for a in answers.values() if isinstance(a, FoldedScalarString | LiteralScalarString)), None)
    for lang, answer in entry.answers.items():
        if answers.get(lang) != answer:
            answers[lang] = folded(answer, answers.get(lang, style))


def new_entry(entry: KBEntry) -> CommentedMap:
    node = CommentedMap()
    node["id"] = entry.id
    update_entry(node, entry)
    return node


def write_entries(kb_dir: Path, entries: Iterable[KBEntry]) -> list[Path]:
    """Write `entries` into their files under `kb_dir` (a new one into `entries.yml`); returns the files that
    changed. Each file is replaced atomically, so a reader sees the old file or the new one."""
    by_file: dict[str, list[KBEntry]] = {}
    for entry in entries:
        by_file.setdefault(entry.source_file or DEFAULT_FILE, []).append(entry)
    yaml = _yaml()
    written: list[Path] = []
    for name, group in sorted(by_file.items()):
        path = kb_dir / name
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        document = yaml.load(before) if before.strip() else None
        if not isinstance(document, CommentedMap):
            document = CommentedMap()
        listed = document.setdefault("entries", CommentedSeq())
        nodes = {str(node.get("id")): node for node in listed if isinstance(node, CommentedMap)}
        for entry in group:
            if entry.id in nodes:
                update_entry(nodes[entry.id], entry)
            else:
                listed.append(new_entry(entry))
        out = io.StringIO()
        yaml.dump(document, out)
        if out.getvalue() == before:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
