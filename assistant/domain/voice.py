"""The brand's voice: reply templates per language (`resources/responses.yml`, or a file named in the
settings), placeholders filled from the brand config, the sender's first name, greeting and sign-off."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from assistant.domain.kb_entries import check_placeholders
from assistant.resources import load_yaml, resource_path
from assistant.settings import BrandConfig

TEMPLATE_PLACEHOLDERS = frozenset(
    {
        "first_name",
        "brand",
        "back_at",
        "support_email",
        "help_center_url",
        "community_url",
        "order_tracking_url",
        "answer_language_name",
    }
)
REQUIRED_KEYS = (
    "greeting_named",
    "greeting_anonymous",
    "sign_off",
    "holding_in_hours",
    "holding_out_of_hours",
    "rephrase",
)
# With no name known, "{first_name}" goes together with the space before it ("Hi {first_name}!" → "Hi!").
_NAME_SLOT = re.compile(r"[ \t]*\{first_name\}")
_LEADING_COMMA = re.compile(r"^[,，、]\s*")
# Languages written without spaces between sentences.
_NO_SPACE_LANGUAGES = ("zh", "ja")
MAX_NAME_CHARS = 40


def clean_first_name(name: str | None) -> str | None:
    """The first word of a display name, without control characters or markup-ish symbols."""
    if not name:
        return None
    printable = "".join(ch for ch in name if unicodedata.category(ch)[0] in ("L", "M", "N", "P", "Z"))
    first = printable.strip().split(" ")[0].strip("<>{}[]()\"'`")[:MAX_NAME_CHARS]
    return first or None


def language_name(code: str, in_language: str) -> str:
    try:
        return str(Locale.parse(code).get_display_name(in_language) or code)
    except (UnknownLocaleError, ValueError):
        return code


@dataclass
class BrandVoice:
    templates: dict[str, dict[str, str]]
    brand: BrandConfig
    default_language: str

    @classmethod
    def load(cls, brand: BrandConfig, default_language: str, path: Path | None = None) -> BrandVoice:
        source = path or resource_path("responses.yml")
        document: Any = load_yaml(source)
        if not isinstance(document, dict):
            raise ValueError(f"{source}: expected a mapping of template names to per-language texts")
        missing = [key for key in REQUIRED_KEYS if key not in document]
        if missing:
            raise ValueError(f"{source}: missing template(s) {missing}")
        for key, by_lang in document.items():
            for lang, text in by_lang.items():
                problem = check_placeholders(str(text), TEMPLATE_PLACEHOLDERS)
                if problem:
                    raise ValueError(f"{source}: template {key} [{lang}]: {problem}")
        return cls({k: {lang: str(t) for lang, t in v.items()} for k, v in document.items()}, brand, default_language)

    def has(self, key: str) -> bool:
        return key in self.templates

    def fill(self, text: str, lang: str, first_name: str | None = None, **extra: str) -> str:
        values = {
            "brand": self.brand.name,
            "support_email": self.brand.support_email,
            "help_center_url": self.brand.help_center_url,
            "community_url": self.brand.community_url,
            "order_tracking_url": self.brand.order_tracking_url,
            "first_name": first_name or "",
            "back_at": "",
            "answer_language_name": "",
            **extra,
        }
        if not first_name:
            # Close the gap rather than invent a name: "Thanks {first_name}, …" → "Thanks, …".
            text = _LEADING_COMMA.sub("", _NAME_SLOT.sub("", text).lstrip())
        return text.format_map(values).strip()

    def template(self, key: str, lang: str) -> str:
        by_lang = self.templates[key]
        return by_lang.get(lang) or by_lang.get(self.default_language) or next(iter(by_lang.values()))

    def render(self, key: str, lang: str, first_name: str | None = None, **extra: str) -> str:
        return self.fill(self.template(key, lang), lang, first_name, **extra)

    def compose(self, body: str, lang: str, first_name: str | None) -> str:
        """Greeting, body and sign-off: every bot message reads as the brand and says it is automated."""
        greeting = self.render("greeting_named" if first_name else "greeting_anonymous", lang, first_name)
        gap = "" if lang in _NO_SPACE_LANGUAGES else " "
        return f"{greeting}{gap}{body}\n{self.render('sign_off', lang)}"
