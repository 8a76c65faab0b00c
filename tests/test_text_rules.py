"""Keyword lists, Rasa NLU loading and message cleaning: the rule-based edges of the engine."""

from pathlib import Path

from assistant.domain.keywords import KeywordMatcher
from assistant.nlu.language import has_words
from assistant.nlu.nlu_data import load_nlu
from assistant.pipeline import clean_text


def test_keywords_on_word_boundaries_prefixes_and_chinese() -> None:
    matcher = KeywordMatcher({"en": ["sue", "lawyer*"], "ru": ["суд"], "zh": ["律师"]})
    assert matcher.find("I will SUE you") == ["sue"]
    assert matcher.find("nice suede jacket") == []
    assert matcher.find("my lawyers will call") == ["lawyers"]
    assert matcher.find("подам в суд") == ["суд"]
    assert matcher.find("судно") == []
    assert matcher.find("我会找律师") == ["律师"]
    assert matcher.find("I will sue", lang="fr") == []
    assert KeywordMatcher({"en": ["i'll sue"]}).find("I\u2019ll sue you") == ["i'll sue"]


def test_rasa_nlu_yaml_loads_as_rasa_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  metadata:\n    language: fr\n  examples: |\n    - bonjour\n'
        "    - salut [Marie](name)\n- synonym: savings\n  examples: |\n    - pink pig\n"
        "- intent: thanks\n  examples:\n  - text: thank you\n",
        encoding="utf-8",
    )
    examples = load_nlu(path)
    assert [(e.intent, e.text, e.lang) for e in examples] == [
        ("greet", "bonjour", "fr"),
        ("greet", "salut Marie", "fr"),
        ("thanks", "thank you", None),
    ]


def test_clean_text_strips_controls_and_truncates() -> None:
    assert clean_text("hi\x00 there\u200b\n\nfriend", 100) == ("hi there friend", False)
    text, truncated = clean_text("a" * 200, 50)
    assert len(text) == 50 and truncated


def test_has_words() -> None:
    assert not has_words("")
    assert not has_words("   \t")
    assert not has_words("😀👍 !!! 123")
    assert has_words("ok 👍")
    assert has_words("好")
