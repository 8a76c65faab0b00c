"""KB files: strict loading with file:line errors, checksums, export round trip."""

from pathlib import Path

import pytest

from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base

GOOD = """\
entries:
  - id: shipping-times
    tags: [shipping]
    status: published
    questions:
      en:
        - How long does shipping take?
        - when will it arrive
      fr:
        - Combien de temps prend la livraison ?
    answers:
      en: "Delivery takes 2–4 days, {first_name}. Track it at {order_tracking_url}."
      fr: La livraison prend 2 à 4 jours.
  - id: loyalty
    status: draft
    questions:
      en:
        - Do you have a loyalty programme?
    answers:
      en: Soon!
"""


def write(tmp_path: Path, text: str, name: str = "kb.yml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_loads_entries_and_only_published_count(tmp_path: Path) -> None:
    kb = load_knowledge_base(write(tmp_path, GOOD))
    assert [e.id for e in kb] == ["shipping-times", "loyalty"]
    assert [e.id for e in kb.published()] == ["shipping-times"]
    entry = kb.get("shipping-times")
    assert entry is not None and entry.source_line == 2 and entry.source_file == "kb.yml"
    assert entry.answer_language_for("pl", "en") == "en"
    assert entry.answer_language_for("fr", "en") == "fr"


def test_version_changes_with_published_content_only(tmp_path: Path) -> None:
    before = load_knowledge_base(write(tmp_path, GOOD)).version
    draft_edit = load_knowledge_base(write(tmp_path, GOOD.replace("Soon!", "Later!"))).version
    answer_edit = load_knowledge_base(write(tmp_path, GOOD.replace("2 à 4", "3 à 5"))).version
    assert draft_edit == before
    assert answer_edit != before


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("entries:\n  - id: a\n    questions: {en: [x]\n", 4, "mapping started on line 3"),
        ("entries:\n  - id: Bad Id\n    questions: {en: [x]}\n    answers: {en: y}\n", 2, "`id` must be"),
        ("entries:\n  - id: a\n    status: live\n    questions: {en: [x]}\n    answers: {en: y}\n", 2, "`status`"),
        ("entries:\n  - id: a\n    questions: {en: [x]}\n    answers: {en: 'Hi {name}'}\n", 2, "{name}"),
        ("entries:\n  - id: a\n    questions: {en: [x]}\n    answers: {en: 'Hi {'}\n", 2, "malformed"),
        ("entries:\n  - id: a\n    questions: {en: [x]}\n", 2, "needs an answer"),
        ("entries:\n  - id: a\n    questions: {english: [x]}\n    answers: {en: y}\n", 3, "language code"),
        ("entries:\n  - id: a\n    qestions: {en: [x]}\n    answers: {en: y}\n", 2, "unknown field"),
        ("- just a list\n", 1, "`entries`"),
    ],
)
def test_broken_file_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    write(tmp_path, text, "broken.yml")
    with pytest.raises(KnowledgeBaseError) as raised:
        load_knowledge_base(tmp_path)
    assert raised.value.path.endswith("broken.yml")
    assert raised.value.line == line
    assert fragment in str(raised.value)
    assert str(raised.value).startswith(f"{raised.value.path}:{line}: ")


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yml")
    write(tmp_path, GOOD, "b.yml")
    with pytest.raises(KnowledgeBaseError, match=r"duplicate id 'shipping-times', first in .*a\.yml:2"):
        load_knowledge_base(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="not found"):
        load_knowledge_base(tmp_path / "nope")


def test_export_round_trips_without_loss(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    source = load_knowledge_base(write(tmp_path / "src", GOOD))
    export_knowledge_base(source, tmp_path / "out")
    again = load_knowledge_base(tmp_path / "out")
    assert [e.to_yaml_dict() for e in again] == [e.to_yaml_dict() for e in source]
    assert again.version == source.version
