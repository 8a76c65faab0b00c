"""Language identification for short messages: script rules first (Han, Cyrillic), then lingua restricted
to the configured languages, falling back to a hint (the conversation's language) when unsure."""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from concurrent.futures import Future

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from assistant.domain.readings import LanguageGuess

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# A run of letters outside Han: one word of an alphabetic script ("order", "tracking", "заказ").
_ALPHABETIC_WORD = re.compile(r"[^\W\d_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LETTER_CATEGORIES = ("Lu", "Ll", "Lt", "Lm", "Lo")
# Below this lingua confidence a short message says too little; trust the hint or the default instead.
MIN_CONFIDENCE = 0.5


def has_words(text: str) -> bool:
    """True when the text holds at least one letter of any script (emoji, digits and punctuation don't count)."""
    return any(unicodedata.category(ch) in _LETTER_CATEGORIES for ch in text)


# Detectors by language set, each with the process that built it: a build started before a fork is not awaited
# in the child (its thread did not survive the fork).
_DETECTORS: dict[tuple[str, ...], tuple[int, Future[LanguageDetector]]] = {}
_DETECTORS_LOCK = threading.Lock()


def _latin(languages: tuple[str, ...]) -> tuple[str, ...]:
    """The languages lingua tells apart; Han and Cyrillic are told by their script."""
    return tuple(code for code in languages if code not in ("zh", "ru"))


def _build(languages: tuple[str, ...]) -> LanguageDetector:
    codes = [IsoCode639_1.from_str(code) for code in languages]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()


def _detector(languages: tuple[str, ...], in_background: bool = False) -> Future[LanguageDetector]:
    with _DETECTORS_LOCK:
        known = _DETECTORS.get(languages)
        if known is not None and known[0] == os.getpid():
            return known[1]
        future: Future[LanguageDetector] = Future()
        _DETECTORS[languages] = (os.getpid(), future)

    def build() -> None:
        try:
            future.set_result(_build(languages))
        except BaseException as error:  # handed to whoever waits for the detector
            future.set_exception(error)

    if in_background:
        threading.Thread(target=build, name="lingua-build", daemon=True).start()
    else:
        build()
    return future


def prepare_language_detector(languages: tuple[str, ...]) -> None:
    """Starts building the detector for `languages` in a thread. Lingua builds in native code that releases the
    GIL, so the second it takes overlaps the embedding model's imports: a cold `assistant ask` starts that much
    sooner. Only for a process that will not fork before it waits for the detector."""
    latin = _latin(languages)
    if len(latin) >= 2:
        _detector(latin, in_background=True)


class LanguageIdentifier:
    def __init__(self, languages: tuple[str, ...], default: str) -> None:
        self.languages = languages
        self.default = default
        latin = _latin(languages)
        self._latin_detector = _detector(latin).result() if len(latin) >= 2 else None

    def identify(self, text: str, hint: str | None = None) -> LanguageGuess:
        fallback = hint if hint in self.languages else self.default
        if not has_words(text):
            return LanguageGuess(fallback, 0.0, "no words: conversation or default language")
        han, cyrillic = len(_HAN.findall(text)), len(_CYRILLIC.findall(text))
        letters = sum(1 for ch in text if unicodedata.category(ch) in _LETTER_CATEGORIES)
        # A Han character carries about a word's meaning, so it is weighed against whole words of the other
        # scripts, not against their letters: "我的order还没到，tracking number不工作" is 8 Han to 3 Latin words (zh),
        # although only 30% of its letters are Han.
        words = len(_ALPHABETIC_WORD.findall(text))
        if "zh" in self.languages and han and han >= words:
            return LanguageGuess("zh", 1.0, f"script: Han characters ({han} Han, {words} other words)")
        if "ru" in self.languages and cyrillic and cyrillic >= 0.5 * letters:
            return LanguageGuess("ru", 1.0, "script: Cyrillic")
        if self._latin_detector is None:
            return LanguageGuess(fallback, 0.0, "no detector for the configured Latin-script languages")
        values = self._latin_detector.compute_language_confidence_values(text)
        if not values:
            return LanguageGuess(fallback, 0.0, "undetermined: conversation or default language")
        best = values[0]
        code = best.language.iso_code_639_1.name.lower()
        if best.value < MIN_CONFIDENCE and hint in self.languages:
            return LanguageGuess(hint, best.value, f"unsure ({code} {best.value:.2f}): kept the conversation language")
        if best.value < MIN_CONFIDENCE and len(text.split()) <= 2:
            return LanguageGuess(
                self.default, best.value, f"unsure on a short message ({code} {best.value:.2f}): default"
            )
        return LanguageGuess(code, float(best.value), "lingua")
