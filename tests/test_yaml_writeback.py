"""Writing entries back into the team's YAML (round trip): an unchanged KB is rewritten byte for byte, one changed
answer is a diff of only its lines with every comment kept, a new entry is appended, other files are not touched."""

from __future__ import annotations

import difflib
import shutil
from dataclasses import replace
from pathlib import Path

from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.knowledge.yaml_writeback import write_entries
from tests.conftest import ROOT

NEW_ANSWER = (
    "From today the showroom is open every day from 7:00 to 21:00, and on Polish public holidays from 10:00 to "
    "16:00, unless the help centre at {help_center_url} says otherwise."
)


def copy_kb(tmp_path: Path) -> Path:
    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    return kb_dir


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_writing_the_kb_as_it_is_changes_no_file(tmp_path: Path) -> None:
    kb_dir = copy_kb(tmp_path)
    assert write_entries(kb_dir, load_knowledge_base(kb_dir).entries) == []
    for path in (ROOT / "knowledge_base").glob("*.yml"):
        assert (kb_dir / path.name).read_bytes() == path.read_bytes()


def test_one_changed_answer_is_a_diff_of_its_lines_only_and_comments_stay(tmp_path: Path) -> None:
    kb_dir = copy_kb(tmp_path)
    kb = load_knowledge_base(kb_dir)
    entry = kb.get("store-opening-hours")
    assert entry is not None and entry.source_file == "store-and-hours.yml"
    path = kb_dir / "store-and-hours.yml"
    before = path.read_text(encoding="utf-8")
    old_answer = entry.answers["en"]
    edited = replace(entry, answers={**entry.answers, "en": NEW_ANSWER})

    assert write_entries(kb_dir, [edited]) == [path]

    after = path.read_text(encoding="utf-8")
    diff = changed_lines(before, after)
    removed = " ".join(line[1:].strip() for line in diff if line.startswith("-"))
    added = " ".join(line[1:].strip() for line in diff if line.startswith("+"))
    assert removed == old_answer and added == NEW_ANSWER  # only the answer's own lines, nothing else
    assert after.splitlines()[0] == before.splitlines()[0] and after.startswith("# knowledge_base/store-and-hours.yml")
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == [
        line for line in before.splitlines() if line.lstrip().startswith("#")
    ]
    assert "      en: >-" in after.split("id: store-opening-hours", 1)[1]  # still a folded answer
    assert max(len(line) for line in diff) <= 120  # folded near the sample's width
    reloaded = load_knowledge_base(kb_dir).get("store-opening-hours")
    assert reloaded is not None and reloaded.answers["en"] == NEW_ANSWER
    assert reloaded.answers["fr"] == entry.answers["fr"]
    for other in (ROOT / "knowledge_base").glob("*.yml"):
        if other.name != path.name:
            assert (kb_dir / other.name).read_bytes() == other.read_bytes()


def test_an_added_phrasing_and_a_new_entry_are_appended(tmp_path: Path) -> None:
    kb_dir = copy_kb(tmp_path)
    kb = load_knowledge_base(kb_dir)
    entry = kb.get("store-location")
    assert entry is not None
    before = (kb_dir / "store-and-hours.yml").read_text(encoding="utf-8")
    more = replace(entry, questions={**entry.questions, "en": [*entry.questions["en"], "is the showroom open?"]})
    brand_new = replace(
        entry, id="gift-wrapping", tags=["gifts"], source_file="gifts.yml", status="draft", label="Gift wrapping"
    )
    written = write_entries(kb_dir, [more, brand_new])
    assert sorted(p.name for p in written) == ["gifts.yml", "store-and-hours.yml"]
    diff = changed_lines(before, (kb_dir / "store-and-hours.yml").read_text(encoding="utf-8"))
    assert diff == ["+        - is the showroom open?"]
    again = load_knowledge_base(kb_dir)
    assert again.get("gift-wrapping").status == "draft"  # type: ignore[union-attr]
    assert again.get("gift-wrapping").label == "Gift wrapping"  # type: ignore[union-attr]
    assert "tags: [gifts]" in (kb_dir / "gifts.yml").read_text(encoding="utf-8")
