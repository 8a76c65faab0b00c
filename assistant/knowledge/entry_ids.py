"""Entry ids from the names teams already use (`Refund_Not_Showing`, `faq/ask_name`, `Zwrot płatności`, `退款`).

The derivation is deterministic and never changes an id that is already valid, so re-importing the same
spreadsheet updates the same entries and existing knowledge bases keep their ids. The original name is kept
as the entry's label (see `KBEntry.label`)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from assistant.domain.kb_entries import ENTRY_ID_PATTERN

MAX_ID_LENGTH = 80  # ENTRY_ID_PATTERN's limit
HASH_PREFIX = "entry-"
# Letters NFKD does not take apart (Polish ł, Nordic ø …) and Russian Cyrillic, one of the five languages
# the product speaks. Anything else without a Latin form (Chinese, Arabic …) is dropped; an original left
# with nothing gets a hash-based id.
_TRANSLITERATION = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ı": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        **dict(zip("абвгдезийклмнопрстуфхцыэ", "abvgdezijklmnoprstufhcye", strict=True)),
        "ё": "e",
        "ж": "zh",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ю": "yu",
        "я": "ya",
        "ъ": "",
        "ь": "",
    }
)


@dataclass(frozen=True)
class DerivedId:
    original: str
    entry_id: str
    hashed: bool = False  # nothing of the original could be kept: the id is a hash of it

    @property
    def changed(self) -> bool:
        return self.original != self.entry_id


def _hash_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _plain(text: str) -> str:
    """Casefolded, accents removed ("Zwrócić" → "zwrocic"), transliterated where a table says how."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_TRANSLITERATION)


def derive_entry_id(original: str) -> DerivedId:
    """The entry id for a name as written; a valid id is returned unchanged.

    Runs of anything but [a-z0-9] become "-"; "/" becomes "--", so Rasa's `faq/ask_name` (→ `faq--ask-name`)
    stays distinct from `faq_ask_name` (already valid, kept). A name longer than an id may be is cut and
    given a hash of the whole name, so two long names sharing a beginning stay apart."""
    text = unicodedata.normalize("NFC", original.strip())
    if ENTRY_ID_PATTERN.match(text):
        return DerivedId(text, text)
    parts = (re.sub(r"[^a-z0-9]+", "-", part).strip("-") for part in _plain(text).split("/"))
    slug = "--".join(part for part in parts if part)
    if not slug:
        return DerivedId(text, HASH_PREFIX + _hash_of(text), hashed=True)
    if len(slug) > MAX_ID_LENGTH:
        slug = slug[: MAX_ID_LENGTH - 9].rstrip("-") + "-" + _hash_of(text)
    return DerivedId(text, slug)
