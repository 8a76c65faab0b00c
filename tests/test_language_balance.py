"""An English-only KB next to five-language intents: the intents' other-language examples are kept out of the matcher
(else language decides between "intent" and "entry") and serve the calibration as cross-lingual evidence."""

from __future__ import annotations

import shutil
from pathlib import Path

from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.readings import FAQ_PREFIX
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.nlu.intent_model import IntentModel, training_set
from assistant.nlu.language_balance import calibration_only
from assistant.nlu.nlu_data import load_nlu
from assistant.pipeline import Engine
from tests.conftest import ROOT


def test_intent_examples_in_languages_the_kb_lacks_go_to_calibration_only() -> None:
    labels = ["faq:a"] * 10 + ["intent:greet"] * 4 + ["intent:thanks"] * 4
    langs = ["en"] * 10 + ["en", "zh", "fr", "pl"] * 2
    mask = calibration_only(labels, langs, "intent:")
    assert mask.tolist() == [False] * 10 + [False, True, True, True] * 2
    # A KB in all the intents' languages keeps every example; so does a KB without examples of its own.
    assert not calibration_only(["faq:a", "faq:b", "intent:x", "intent:x"], ["en", "zh", "en", "zh"], "intent:").any()
    assert not calibration_only(["intent:x", "intent:y"], ["en", "zh"], "intent:").any()


def english_only(kb: KnowledgeBase) -> KnowledgeBase:
    for entry in kb.entries:
        entry.questions = {lang: qs for lang, qs in entry.questions.items() if lang == "en"}
    return kb


def test_an_english_only_kb_ranks_its_entries_first_for_questions_in_other_languages(engine: Engine) -> None:
    kb = english_only(load_knowledge_base(ROOT / "knowledge_base"))
    found = training_set(kb, load_nlu(ROOT / "training" / "nlu.yml"))
    vectors = engine.encoder.encode(found.texts)
    model, oof = IntentModel.train_on_vectors(
        vectors, found.labels, engine.encoder.name, kb.version, 0.95, languages=found.languages
    )
    assert model.report.cross_lingual_rows > 0 and oof.calibration_only.any()
    assert model.report.examples == len(found.labels) - int(oof.calibration_only.sum())
    # Questions about English-only entries, asked in four other languages (not KB phrasings).
    questions = {
        "Comment puis-je suivre ma commande ?": "order-tracking",
        "Как отследить мой заказ?": "order-tracking",
        "我怎么申请退款？": "refund-status",
        "Jak mogę zwrócić produkt?": "returns-how-to",
        "Сколько стоит доставка?": "shipping-costs",
        "我可以退货吗？": "returns-how-to",
        "Czy mogę zmienić zamówienie?": "order-change-cancel",
    }
    predictions = model.predict(engine.encoder.encode(list(questions)))
    assert [p.label for p in predictions] == [FAQ_PREFIX + entry for entry in questions.values()]


def test_saved_models_with_older_features_are_refused(tmp_path: Path, engine: Engine) -> None:
    import pickle

    import pytest

    from assistant.nlu.intent_model import MODEL_FILE, ModelMismatchError

    engine.intents.save(tmp_path)
    model = pickle.loads((tmp_path / MODEL_FILE).read_bytes())
    model.report.features_version = 1
    (tmp_path / MODEL_FILE).write_bytes(pickle.dumps(model))
    with pytest.raises(ModelMismatchError, match="older confidence features"):
        IntentModel.load(tmp_path, engine.intents.report.model, engine.intents.report.kb_version)
    shutil.rmtree(tmp_path)
