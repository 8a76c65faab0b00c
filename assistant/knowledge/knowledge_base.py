"""The FAQ knowledge base as editors write it: YAML files of entries with per-language question phrasings
and answers; strict loading (errors name the file and line), export and merge. What an entry is (and the KB's
content checksum) is `assistant.domain.kb_entries`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from assistant.domain.kb_entries import (
    ANSWER_PLACEHOLDERS,
    ENTRY_ID_PATTERN,
    LANGUAGE_PATTERN,
    MAX_LABEL_LENGTH,
    STATUSES,
    KBEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    check_placeholders,
)

KB_FILE_SUFFIXES = (".yml", ".yaml")


class LineLoader(yaml.CSafeLoader):
    """Records the 1-based line of every mapping so errors can point at it. libyaml's loader (PyYAML's wheels
    ship it) parses the sample KB ten times faster than the pure-Python one, which `assistant kb check` and every
    engine start feel."""


def _construct_mapping_with_line(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = dict(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_with_line)


def _entry_from_mapping(raw: Any, path: Path, fallback_line: int | None) -> KBEntry:
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(path, fallback_line, "each item of `entries` must be a mapping")
    line = raw.pop("__line__", fallback_line)
    known = {"id", "label", "tags", "status", "questions", "answers"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise KnowledgeBaseError(path, line, f"unknown field(s) {unknown}; allowed: {sorted(known)}")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not ENTRY_ID_PATTERN.match(entry_id):
        raise KnowledgeBaseError(path, line, f"`id` must be lowercase letters, digits, '-' or '_', got {entry_id!r}")
    where = f"entry {entry_id!r}"
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH):
        raise KnowledgeBaseError(path, line, f"{where}: `label` must be text of 1-{MAX_LABEL_LENGTH} characters")
    status = raw.get("status", "published")
    if status not in STATUSES:
        raise KnowledgeBaseError(path, line, f"{where}: `status` must be one of {list(STATUSES)}, got {status!r}")
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise KnowledgeBaseError(path, line, f"{where}: `tags` must be a list of strings")
    questions = _language_map(raw.get("questions"), path, line, f"{where}: `questions`", expect_list=True)
    answers = _language_map(raw.get("answers"), path, line, f"{where}: `answers`", expect_list=False)
    if not any(questions.values()):
        raise KnowledgeBaseError(path, line, f"{where}: needs at least one question phrasing")
    if not answers:
        raise KnowledgeBaseError(path, line, f"{where}: needs an answer in at least one language")
    for lang, answer in answers.items():
        problem = check_placeholders(str(answer), ANSWER_PLACEHOLDERS)
        if problem:
            raise KnowledgeBaseError(path, line, f"{where}: answer [{lang}]: {problem}")
    return KBEntry(
        id=entry_id,
        questions={lang: qs for lang, qs in questions.items() if qs},  # type: ignore[misc]
        answers=answers,  # type: ignore[arg-type]
        tags=tags,
        status=status,
        source_file=path.name,
        source_line=line,
        label=label.strip() if label is not None else None,
    )


def parse_entry(raw: dict[str, Any], source: str = "editor") -> KBEntry:
    """One entry from its YAML mapping, checked by the same rules as a KB file (the editor's save uses it)."""
    return _entry_from_mapping(dict(raw), Path(source), None)


def _language_map(
    raw: Any, path: Path, line: int | None, what: str, *, expect_list: bool
) -> dict[str, list[str] | str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(path, line, f"{what} must map language codes to {'lists' if expect_list else 'text'}")
    line = raw.pop("__line__", line)
    result: dict[str, list[str] | str] = {}
    for lang, value in raw.items():
        if not isinstance(lang, str) or not LANGUAGE_PATTERN.match(lang):
            raise KnowledgeBaseError(path, line, f"{what}: {lang!r} is not a language code such as 'en' or 'zh'")
        if expect_list:
            if not isinstance(value, list) or not all(isinstance(q, str) and q.strip() for q in value):
                raise KnowledgeBaseError(path, line, f"{what} [{lang}] must be a list of non-empty strings")
            result[lang] = [q.strip() for q in value]
        else:
            if not isinstance(value, str) or not value.strip():
                raise KnowledgeBaseError(path, line, f"{what} [{lang}] must be non-empty text")
            result[lang] = value.strip()
    return result


def yaml_error(path: Path, error: yaml.YAMLError) -> KnowledgeBaseError:
    """A YAML syntax error as a KnowledgeBaseError naming the file and line (and where the block began)."""
    if not isinstance(error, yaml.MarkedYAMLError):
        return KnowledgeBaseError(path, None, f"invalid YAML: {error}")
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    detail = f"invalid YAML: {error.problem or error}"
    if error.context and error.context_mark is not None and error.context_mark.line + 1 != line:
        detail += f" ({error.context} started on line {error.context_mark.line + 1})"
    return KnowledgeBaseError(path, line, detail)


def load_file(path: Path) -> list[KBEntry]:
    """Entries of one YAML file; any problem raises KnowledgeBaseError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise KnowledgeBaseError(path, None, f"not UTF-8 text ({error})") from error
    try:
        document = yaml.load(text, Loader=LineLoader)  # noqa: S506 - LineLoader is a SafeLoader
    except yaml.YAMLError as error:
        raise yaml_error(path, error) from error
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise KnowledgeBaseError(path, 1, "a KB file must be a mapping with a list under `entries`")
    top_line = document.get("__line__")
    return [_entry_from_mapping(raw, path, top_line) for raw in document["entries"]]


def load_knowledge_base(root: Path) -> KnowledgeBase:
    """Every `*.yml`/`*.yaml` file under `root`, sorted by path; duplicate ids are refused."""
    if not root.is_dir():
        raise KnowledgeBaseError(root, None, "knowledge base folder not found")
    entries: list[KBEntry] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix in KB_FILE_SUFFIXES and p.is_file()):
        for entry in load_file(path):
            if entry.id in seen:
                raise KnowledgeBaseError(
                    path, entry.source_line, f"duplicate id {entry.id!r}, first in {seen[entry.id]}"
                )
            seen[entry.id] = f"{path}:{entry.source_line}"
            entry.source_file = str(path.relative_to(root))
            entries.append(entry)
    return KnowledgeBase(entries=entries, root=root)


class _BlockDumper(yaml.SafeDumper):
    """Readable, diff-friendly YAML: long or multi-line strings as folded blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _represent_str)


def dump_entries(entries: Iterable[KBEntry], title: str | None = None) -> str:
    body = yaml.dump(
        {"entries": [entry.to_yaml_dict() for entry in entries]},
        Dumper=_BlockDumper,
        allow_unicode=True,
        sort_keys=False,
        width=110,
    )
    return (f"# {title}\n" if title else "") + body


def export_knowledge_base(kb: KnowledgeBase, out_dir: Path, default_file: str = "entries.yml") -> list[Path]:
    """Write entries back as YAML, one file per source file; returns the files written."""
    by_file: dict[str, list[KBEntry]] = {}
    for entry in kb.entries:
        by_file.setdefault(entry.source_file or default_file, []).append(entry)
    written = []
    for name, entries in sorted(by_file.items()):
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_entries(entries, title=f"{name} — written by `assistant kb`"), encoding="utf-8")
        written.append(path)
    return written
