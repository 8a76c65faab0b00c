"""The parallel cross-lingual test set (benchmarks/data/crosslingual_questions.jsonl) fits the sample KB: five
languages per group, expected entries that exist and are published, wording that copies no KB phrasing; and the
English-only KB the `crosslingual` eval section builds holds English and nothing else."""

from __future__ import annotations

from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path

from assistant.evaluation.crosslingual import (
    LANGUAGES,
    QUESTIONS_FILE,
    SAMPLE_KB,
    Question,
    english_only_kb,
    load_questions,
)
from assistant.knowledge.knowledge_base import load_knowledge_base

MIN_IN_SCOPE_GROUPS = 48
MIN_OUT_OF_SCOPE_GROUPS = 12
# Above this similarity (difflib ratio, case-folded, same language) a question is a near-copy of a KB phrasing.
NEAR_COPY_RATIO = 0.85


def groups() -> dict[str, list[Question]]:
    by_group: dict[str, list[Question]] = defaultdict(list)
    for question in load_questions(QUESTIONS_FILE):
        by_group[question.group].append(question)
    return by_group


def test_every_group_asks_one_question_in_each_of_the_five_languages() -> None:
    for group, questions in groups().items():
        assert sorted(q.lang for q in questions) == sorted(LANGUAGES), group
        assert len({q.entry_id for q in questions}) == 1, f"{group} expects different entries per language"
        assert all(q.text.strip() for q in questions), group


def test_the_set_has_enough_in_scope_and_out_of_scope_groups() -> None:
    by_group = groups()
    in_scope = [g for g, qs in by_group.items() if qs[0].entry_id is not None]
    out_of_scope = [g for g, qs in by_group.items() if qs[0].entry_id is None]
    assert len(in_scope) >= MIN_IN_SCOPE_GROUPS
    assert len(out_of_scope) >= MIN_OUT_OF_SCOPE_GROUPS
    texts = [q.text.strip().casefold() for qs in by_group.values() for q in qs]
    assert len(texts) == len(set(texts)), "a question text occurs twice in the set"


def test_every_expected_entry_exists_and_is_published() -> None:
    kb = load_knowledge_base(SAMPLE_KB)
    published = {entry.id for entry in kb.published()}
    expected = {q.entry_id for qs in groups().values() for q in qs if q.entry_id is not None}
    assert expected - published == set()


def test_no_question_copies_or_nearly_copies_a_kb_phrasing() -> None:
    kb = load_knowledge_base(SAMPLE_KB)
    # Drafts too: their phrasings are the KB's wording even though they are never answered.
    phrasings: dict[str, list[str]] = defaultdict(list)
    for entry in kb.entries:
        for lang, questions in entry.questions.items():
            phrasings[lang] += [q.strip().casefold() for q in questions]
    every_phrasing = {p for ps in phrasings.values() for p in ps}
    for qs in groups().values():
        for question in qs:
            text = question.text.strip().casefold()
            assert text not in every_phrasing, f"{question.group}/{question.lang} copies a KB phrasing: {text!r}"
            closest = max(phrasings[question.lang], key=lambda p: SequenceMatcher(None, text, p).ratio())
            ratio = SequenceMatcher(None, text, closest).ratio()
            assert ratio < NEAR_COPY_RATIO, f"{question.group}/{question.lang} {text!r} nearly copies {closest!r}"


def test_english_only_kb_has_every_published_entry_with_english_only(tmp_path: Path) -> None:
    shipped = load_knowledge_base(SAMPLE_KB)
    english = english_only_kb(shipped, tmp_path)
    assert sorted(e.id for e in english.published()) == sorted(e.id for e in shipped.published())
    for entry in english.published():
        source = shipped.get(entry.id)
        assert source is not None
        assert set(entry.questions) == {"en"} and set(entry.answers) == {"en"}, entry.id
        assert entry.questions["en"] == source.questions["en"], entry.id
        assert entry.answers["en"] == source.answers["en"], entry.id
