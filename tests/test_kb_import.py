"""`assistant kb import`: CSV/JSONL rows merge into YAML, all or nothing, errors name row and field."""

import json
from pathlib import Path

import pytest

from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.kb_import import import_file
from assistant.knowledge.knowledge_base import load_knowledge_base


def test_csv_import_creates_and_extends_entries(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    source = tmp_path / "faq.csv"
    source.write_text(
        "entry_id,question,answer,lang\n"
        "card-arrival,Where is my card?,Cards arrive in 5 days.,en\n"
        "card-arrival,My card has not come,,en\n"
        "card-arrival,Où est ma carte ?,Les cartes arrivent en 5 jours.,fr\n"
        "top-up,How do I top up?,Use the app.,en\n",
        encoding="utf-8",
    )
    summary = import_file(source, kb_dir)
    assert (summary.rows, summary.entries_created, summary.questions_added) == (4, 2, 4)
    kb = load_knowledge_base(kb_dir)
    entry = kb.get("card-arrival")
    assert entry is not None
    assert entry.questions == {"en": ["Where is my card?", "My card has not come"], "fr": ["Où est ma carte ?"]}
    assert entry.answers["fr"] == "Les cartes arrivent en 5 jours."

    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"entry_id": "top-up", "question": "top up??", "lang": "en"}) + "\n", encoding="utf-8")
    summary = import_file(more, kb_dir)
    assert (summary.entries_created, summary.entries_updated, summary.questions_added) == (0, 1, 1)
    top_up = load_knowledge_base(kb_dir).get("top-up")
    assert top_up is not None and top_up.questions["en"] == ["How do I top up?", "top up??"]


@pytest.mark.parametrize(
    ("content", "suffix", "fragment"),
    [
        ("entry_id,question,answer,lang\nok-one,Q?,A.,en\n,Q?,A.,en\n", ".csv", "row 3: field `entry_id` is empty"),
        ("entry_id,question,answer,lang\nok-one,Q?,A.,english\n", ".csv", "row 2: field `lang`"),
        ("entry_id,question,answer,lang\nok-one,Q?,Hi {nme},en\n", ".csv", "row 2: field `answer`"),
        ("entry_id,question,lang\nnew-one,Q?,en\n", ".csv", "has no answer"),
        ("question,answer,lang\nQ?,A.,en\n", ".csv", "header lacks column(s) ['entry_id']"),
        ('{"entry_id": "a", "question": "q", "answer": "x", "lang": "en"}\n{oops\n', ".jsonl", "row 2: invalid JSON"),
    ],
)
def test_bad_row_imports_nothing(tmp_path: Path, content: str, suffix: str, fragment: str) -> None:
    kb_dir = tmp_path / "kb"
    source = tmp_path / f"rows{suffix}"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        import_file(source, kb_dir)
    assert fragment in str(raised.value)
    assert str(source) in str(raised.value)
    assert not list(kb_dir.glob("*.yml"))
