"""Rasa 3 retrieval intents (`faq/...`) and their `utter_faq/...` responses import as KB entries."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.kb_import import import_file
from assistant.knowledge.knowledge_base import load_knowledge_base

NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
- intent: faq/ask_name
  examples: |
    - What's your name?

    - who are you
    - is [Ana]{"entity": "name"} your name?
- intent: faq/ship_to
  examples:
  - text: do you ship to [Canada](country)?
    metadata:
      sentiment: neutral
  - text: shipping to [Berlin](city:DE)
- synonym: savings
  examples: |
    - pink pig
"""

DOMAIN = """version: "3.1"
intents:
- greet
- faq
responses:
  utter_greet:
  - text: Hey!
  utter_faq/ask_name:
  - text: I'm the Northpine assistant.
    channel: slack
  - text: I'm the assistant of Northpine.
  - text: Northpine's helper, at your service.
  utter_faq/ship_to:
  - text: We ship to the EU and Canada.
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_retrieval_intents_become_entries_with_answers_from_the_domain(tmp_path: Path) -> None:
    nlu, domain = write(tmp_path, "nlu.yml", NLU), write(tmp_path, "domain.yml", DOMAIN)
    summary = import_file(nlu, tmp_path / "kb", responses=domain, lang="en")
    assert [(d.original, d.entry_id) for d in summary.derived_ids] == [
        ("faq/ask_name", "faq--ask-name"),
        ("faq/ship_to", "faq--ship-to"),
    ]
    kb = load_knowledge_base(tmp_path / "kb")
    assert [e.id for e in kb] == ["faq--ask-name", "faq--ship-to"]  # `greet` is conversational, not an entry
    name = kb.get("faq--ask-name")
    assert name is not None and name.label == "faq/ask_name"
    assert name.questions == {"en": ["What's your name?", "who are you", "is Ana your name?"]}
    assert name.answers == {"en": "I'm the assistant of Northpine."}  # the first variation for every channel
    ship = kb.get("faq--ship-to")
    assert ship is not None and ship.questions["en"] == ["do you ship to Canada?", "shipping to Berlin"]
    notes = " ".join(summary.notes)
    assert "utter_faq/ask_name: 3 variations" in notes
    assert "greet" in notes and "training/nlu.yml" in notes


def test_responses_in_the_nlu_file_itself_and_another_language(tmp_path: Path) -> None:
    nlu = write(
        tmp_path,
        "faq.yml",
        "nlu:\n- intent: faq/horaires\n  examples: |\n    - Quand ouvrez-vous ?\n"
        "responses:\n  utter_faq/horaires:\n  - text: Dès 9 h.\n  utter_faq/old:\n  - text: Gone.\n",
    )
    summary = import_file(nlu, tmp_path / "kb", lang="fr")
    entry = load_knowledge_base(tmp_path / "kb").get("faq--horaires")
    assert (
        entry is not None and entry.answers == {"fr": "Dès 9 h."} and entry.questions == {"fr": ["Quand ouvrez-vous ?"]}
    )
    assert any("utter_faq/old" in note for note in summary.notes)


def test_an_intent_without_a_response_fails_with_file_and_line(tmp_path: Path) -> None:
    nlu = write(tmp_path, "nlu.yml", NLU)
    domain = write(tmp_path, "domain.yml", DOMAIN.split("  utter_faq/ship_to")[0])
    with pytest.raises(KnowledgeBaseError) as raised:
        import_file(nlu, tmp_path / "kb", responses=domain, lang="en")
    message = str(raised.value)
    assert message.startswith(f"{nlu}:15:") and "'faq/ship_to' has no answer" in message and "utter_" in message
    assert not list((tmp_path / "kb").glob("*.yml"))


def test_a_slot_placeholder_in_a_response_names_the_responses_file_and_line(tmp_path: Path) -> None:
    nlu = write(tmp_path, "nlu.yml", NLU)
    domain = write(tmp_path, "domain.yml", DOMAIN.replace("We ship to the EU and Canada.", "We ship to {country}."))
    with pytest.raises(KnowledgeBaseError) as raised:
        import_file(nlu, tmp_path / "kb", responses=domain, lang="en")
    message = str(raised.value)
    assert message.startswith(f"{domain}:14:") and "`text` of `utter_faq/ship_to`" in message
    assert "{country}" in message


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("nlu:\n- intent: faq/a\n  examples: |\n    - ok\n    not a list line\n", 5, "each example must be a line"),
        ("nlu:\n- intent: faq/a\n", 2, "has no `examples`"),
        (
            "nlu:\n- intent: faq/a\n  examples: |\n    - q\nresponses:\n  utter_faq/a:\n  - image: x.png\n",
            6,
            "no `text`",
        ),
        ("entries:\n  - id: x\n", 1, "looks like a KB file"),
        ("nlu:\n- intent: faq/a\n  examples: |\n    - [q\n  - bad: indent\n", 5, "invalid YAML"),
    ],
)
def test_broken_rasa_files_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    nlu = write(tmp_path, "nlu.yml", text)
    with pytest.raises(KnowledgeBaseError) as raised:
        import_file(nlu, tmp_path / "kb", lang="en")
    assert str(raised.value).startswith(f"{nlu}:{line}:") and fragment in str(raised.value)


def test_cli_imports_rasa_with_the_default_language_and_says_what_it_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.store import KbStore, make_engine

    database = f"sqlite:///{tmp_path / 'kb.db'}"
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", database)
    nlu, domain = write(tmp_path, "nlu.yml", NLU), write(tmp_path, "domain.yml", DOMAIN)
    runner = CliRunner()
    args = ["kb", "import", str(nlu), "--responses", str(domain), "--kb-dir", str(tmp_path / "kb")]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "faq/ask_name -> faq--ask-name" in result.output and "training/nlu.yml" in result.output
    assert "added 2 drafts" in result.output
    entry = KbStore(make_engine(database)).get("faq--ask-name")  # into the editor's database, as a draft
    assert entry.status == "draft" and list(entry.content.answers) == ["en"]  # the settings' default language
    assert entry.content.label == "faq/ask_name"

    table = write(tmp_path, "faq.csv", "entry_id,question,answer,lang\na,Q?,A.,en\n")
    result = runner.invoke(main, ["kb", "import", str(table), "--lang", "fr", "--kb-dir", str(tmp_path / "kb")])
    assert result.exit_code == 2 and "for Rasa files" in result.output
