"""Per-language keyword lists matched case-insensitively on word boundaries (Chinese by substring);
a trailing `*` matches any word that starts with the prefix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_NO_SPACES = ("zh", "ja")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _pattern(keyword: str) -> str:
    prefix = keyword.endswith("*")
    body = re.escape(keyword.rstrip("*").strip()).replace(r"\ ", r"\s+")
    return rf"(?<!\w){body}\w*" if prefix else rf"(?<!\w){body}(?!\w)"


class KeywordMatcher:
    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._substrings: dict[str, list[str]] = {}
        for lang, words in keywords.items():
            cleaned = [w.strip().casefold().translate(_APOSTROPHES) for w in words if w and w.strip()]
            if lang in _NO_SPACES:
                self._substrings[lang] = [w.rstrip("*") for w in cleaned]
            elif cleaned:
                self._patterns[lang] = re.compile("|".join(_pattern(w) for w in cleaned), re.IGNORECASE)

    def find(self, text: str, lang: str | None = None) -> list[str]:
        """Keywords found in `text`: of `lang` if given, else of every language (mixed-language messages)."""
        # Phones type curly apostrophes; the lists are written with straight ones.
        folded = text.casefold().translate(_APOSTROPHES)
        langs = [lang] if lang else list({*self._patterns, *self._substrings})
        found: list[str] = []
        for code in langs:
            if code in self._patterns:
                found += [m.group(0) for m in self._patterns[code].finditer(folded)]
            for word in self._substrings.get(code, []):
                if word in folded:
                    found.append(word)
        return found
