"""The lingua detector built once per process and language set, in a thread when asked to start early."""

from __future__ import annotations

import pytest

from assistant.nlu import language
from assistant.nlu.language import LanguageIdentifier, prepare_language_detector

LANGUAGES = ("en", "fr", "de", "ru")


def test_a_detector_prepared_early_is_the_one_the_identifier_uses() -> None:
    prepare_language_detector(LANGUAGES)
    _, future = language._DETECTORS[("en", "fr", "de")]
    identifier = LanguageIdentifier(LANGUAGES, "en")
    assert identifier._latin_detector is future.result()
    assert identifier.identify("Où est ma commande, s'il vous plaît ?").language == "fr"
    assert identifier.identify("Где мой заказ?").language == "ru"  # told by its script, not by lingua


def test_a_build_begun_in_another_process_is_not_awaited(monkeypatch: pytest.MonkeyPatch) -> None:
    prepare_language_detector(LANGUAGES)
    _, parent_build = language._DETECTORS[("en", "fr", "de")]
    # As after a fork: the parent's build thread does not exist in the child, so its future may never finish.
    monkeypatch.setattr(language.os, "getpid", lambda: -1)
    identifier = LanguageIdentifier(LANGUAGES, "en")
    assert language._DETECTORS[("en", "fr", "de")][1] is not parent_build
    assert identifier.identify("Wo ist meine Bestellung?").language == "de"
