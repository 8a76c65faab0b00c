"""The labelled moderation set (benchmarks/data/moderation_labelled.jsonl) is big enough in every language and
label, and no message of it is, or nearly is, a training example of the shipped signal models or the sample
intents: the eval measures the models on text they never saw."""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher

from assistant.evaluation.moderation import LABELLED_FILE, LABELS, LANGUAGES, load_labelled
from assistant.nlu.moderation import ModerationModel, load_abuse_file
from assistant.nlu.nlu_data import load_nlu
from assistant.nlu.sentiment import load_sentiment_examples
from tests.conftest import ROOT

MIN_PER_LANGUAGE = 60
MIN_PER_LABEL = 15
# Above this similarity (difflib ratio, case-folded) a benchmark message is a near-copy of a training example.
NEAR_COPY_RATIO = 0.85


def training_texts() -> list[str]:
    texts = [text for text, _ in ModerationModel.examples(load_abuse_file())]
    texts += [text for text, _, _ in load_sentiment_examples()]
    texts += [example.text for example in load_nlu(ROOT / "training" / "nlu.yml")]
    return [t.strip().casefold() for t in texts]


def test_every_language_has_enough_messages_of_every_label() -> None:
    rows = load_labelled(LABELLED_FILE)
    per_language = Counter(r.lang for r in rows)
    per_label = Counter((r.lang, r.label) for r in rows)
    assert all(per_language[lang] >= MIN_PER_LANGUAGE for lang in LANGUAGES), per_language
    assert all(per_label[(lang, label)] >= MIN_PER_LABEL for lang in LANGUAGES for label in LABELS), per_label
    assert {r.round for r in rows} == {1, 2}
    texts = [r.text.strip().casefold() for r in rows]
    assert len(texts) == len(set(texts)), "a message occurs twice in the set"


def test_no_benchmark_message_is_or_nearly_is_a_training_example() -> None:
    training = training_texts()
    exact = set(training)
    matcher = SequenceMatcher(autojunk=False)
    for row in load_labelled(LABELLED_FILE):
        text = row.text.strip().casefold()
        assert text not in exact, f"{row.lang}/{row.label} copies a training example: {text!r}"
        matcher.set_seq2(text)
        for example in training:
            # ratio ≥ 0.85 needs lengths within a factor 0.74 of each other: skip the rest cheaply.
            if min(len(text), len(example)) < 0.74 * max(len(text), len(example)):
                continue
            matcher.set_seq1(example)
            if matcher.real_quick_ratio() >= NEAR_COPY_RATIO and matcher.quick_ratio() >= NEAR_COPY_RATIO:
                assert matcher.ratio() < NEAR_COPY_RATIO, f"{row.lang}/{row.label} {text!r} nearly copies {example!r}"


def test_the_shipped_abuse_file_has_every_section_and_only_known_labels() -> None:
    document = load_abuse_file()
    rows = ModerationModel.examples(document)
    labels = Counter(label for _, label in rows)
    assert set(labels) == {"abusive", "spam", "clean"}
    assert set(document["examples"]) == set(LANGUAGES)
    for key in ("insults", "slurs", "threats", "person_cues", "spam_phrases"):
        assert set(document[key]) == set(LANGUAGES), key
