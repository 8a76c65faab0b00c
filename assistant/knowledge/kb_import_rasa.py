"""Read Rasa 3 retrieval intents as KB import rows: every `faq/<name>` intent of an NLU file becomes an entry
labelled `faq/<name>`, its examples the phrasings, its answer the first text of `utter_faq/<name>` under
`responses:` (in the NLU file itself or in a domain/responses file).

    nlu:                                  responses:
    - intent: faq/ask_name                  utter_faq/ask_name:
      examples: |                           - text: I'm the Northpine assistant.
        - What's your name?
        - who are you

Other intents (greet, goodbye …) are conversational and belong in `training/nlu.yml`; they are skipped with
a note, as are `synonym`/`regex`/`lookup` items. Entity annotations (`[Berlin](city)`) keep their text.
The YAML is read as nodes, so every error names the file and the line of the example or response."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.kb_import_record import ImportRecord
from assistant.knowledge.knowledge_base import yaml_error

RETRIEVAL_INTENT = "faq"
RESPONSE_PREFIX = "utter_"
# `[text](entity)`, `[text](entity:value)` and `[text]{"entity": "city"}` → `text`.
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def _compose(path: Path) -> yaml.MappingNode:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as error:
        raise KnowledgeBaseError(path, None, f"not UTF-8 text ({error})") from error
    except yaml.YAMLError as error:
        raise yaml_error(path, error) from error
    if root is None:
        return yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode):
        raise KnowledgeBaseError(path, 1, "a Rasa file must be a mapping (`version`, `nlu`, `responses` …)")
    return root


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((value for k, value in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _text(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _examples(path: Path, item: yaml.MappingNode, intent: str) -> list[tuple[int, str]]:
    """(line, example) of an intent: a `|` block of `- example` lines, or a list of `- text:` mappings."""
    node = _get(item, "examples")
    if node is None:
        raise KnowledgeBaseError(path, _line(item), f"intent `{intent}` has no `examples`")
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.ScalarNode):
        # A literal block keeps its lines one for one, starting on the line after `examples: |`.
        first = _line(node) + 1 if node.style == "|" else _line(node)
        for offset, raw in enumerate(str(node.value).split("\n")):
            line = raw.strip()
            if not line:
                continue
            if not line.startswith("-"):
                raise KnowledgeBaseError(
                    path, first + offset, f"intent `{intent}`: each example must be a line `- example`, got {line!r}"
                )
            found.append((first + offset, line[1:].strip()))
    elif isinstance(node, yaml.SequenceNode):
        for example in node.value:
            text = _text(_get(example, "text")) if isinstance(example, yaml.MappingNode) else _text(example)
            if text is None:
                raise KnowledgeBaseError(path, _line(example), f"intent `{intent}`: an example needs `text`")
            found.append((_line(example), text.strip()))
    else:
        raise KnowledgeBaseError(path, _line(node), f"intent `{intent}`: `examples` must be a `|` block or a list")
    return [(line, " ".join(_ANNOTATION.sub(r"\1", text).split())) for line, text in found if text.strip()]


def _responses(path: Path, root: yaml.MappingNode) -> dict[str, tuple[Path, int, str, int]]:
    """intent → (file, line, text, variations) for every `utter_faq/...` response of a file."""
    node = _get(root, "responses")
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise KnowledgeBaseError(path, _line(node), "`responses` must map response names to variations")
    found: dict[str, tuple[Path, int, str, int]] = {}
    for key, variations in node.value:
        name = str(key.value)
        if not name.startswith(f"{RESPONSE_PREFIX}{RETRIEVAL_INTENT}/"):
            continue
        if not isinstance(variations, yaml.SequenceNode) or not variations.value:
            raise KnowledgeBaseError(path, _line(key), f"response `{name}` must be a list of `- text: ...`")
        texts = [
            (v, text)
            for v in variations.value
            if isinstance(v, yaml.MappingNode) and (text := _text(_get(v, "text"))) and text.strip()
        ]
        if not texts:
            raise KnowledgeBaseError(path, _line(key), f"response `{name}` has no `text`; the KB answers with text")
        # A variation meant for one channel or one slot value is not the entry's plain answer.
        plain = [(v, t) for v, t in texts if _get(v, "channel") is None and _get(v, "condition") is None]
        chosen, text = (plain or texts)[0]
        found[name.removeprefix(RESPONSE_PREFIX)] = (path, _line(chosen), text.strip(), len(variations.value))
    return found


def read_rasa(nlu_path: Path, responses_path: Path | None, lang: str) -> tuple[list[ImportRecord], list[str]]:
    """Import records (phrasings first, then answers) and notes on what was skipped."""
    root = _compose(nlu_path)
    nlu = _get(root, "nlu")
    if nlu is None:
        hint = " (this looks like a KB file: put it in the KB folder)" if _get(root, "entries") else ""
        raise KnowledgeBaseError(nlu_path, 1, f"not a Rasa NLU file: no `nlu:` list{hint}")
    if not isinstance(nlu, yaml.SequenceNode):
        raise KnowledgeBaseError(nlu_path, _line(nlu), "`nlu` must be a list of `- intent: ...` items")
    responses = _responses(nlu_path, root)
    if responses_path is not None:
        for name, found in _responses(responses_path, _compose(responses_path)).items():
            if name in responses:
                first = responses[name]
                raise KnowledgeBaseError(
                    responses_path, found[1], f"response `utter_{name}` is also defined in {first[0]}:{first[1]}"
                )
            responses[name] = found
    records: list[ImportRecord] = []
    intents: list[str] = []
    others: list[str] = []
    for item in nlu.value:
        intent = _text(_get(item, "intent")) if isinstance(item, yaml.MappingNode) else None
        if intent is None:
            continue  # synonym / regex / lookup tables: nothing an FAQ entry keeps
        if not intent.startswith(f"{RETRIEVAL_INTENT}/"):
            others.append(intent)
            continue
        intents.append(intent)
        names = {"entry_id": f"intent `{intent}`", "question": f"example of `{intent}`"}
        for line, text in _examples(nlu_path, item, intent):
            values: dict[str, object] = {"entry_id": intent, "question": text, "answer": "", "lang": lang}
            records.append(ImportRecord(nlu_path, line, values, unit="line", names=names))
    notes: list[str] = []
    for intent in dict.fromkeys(intents):
        if intent not in responses:
            continue  # an existing entry may take new phrasings alone; a new one is refused when merged
        path, line, text, variations = responses[intent]
        values = {"entry_id": intent, "question": "", "answer": text, "lang": lang}
        names = {"entry_id": f"response `utter_{intent}`", "answer": f"`text` of `utter_{intent}`"}
        records.append(ImportRecord(path, line, values, unit="line", names=names))
        if variations > 1:
            notes.append(
                f"utter_{intent}: {variations} variations, imported one (the KB keeps one answer per language)"
            )
    orphans = sorted(set(responses) - set(intents))
    if orphans:
        notes.append(
            f"skipped {len(orphans)} response(s) without a `{RETRIEVAL_INTENT}/` intent: "
            + ", ".join(f"utter_{intent}" for intent in orphans)
        )
    if others:
        shown = ", ".join(sorted(set(others))[:8]) + (" …" if len(set(others)) > 8 else "")
        notes.append(
            f"skipped {len(set(others))} intent(s) that are not `{RETRIEVAL_INTENT}/...` retrieval intents ({shown}): "
            "conversational intents belong in training/nlu.yml"
        )
    return records, notes
