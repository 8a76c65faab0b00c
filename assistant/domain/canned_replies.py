"""What a canned reply may be (a shortcode, a language, a text with the KB answers' placeholders) and how a
person's reply is filled for the customer at send time: with the same placeholder rule and the same filling as
the bot's KB answers, so "Hi {first_name}" never reaches a customer as typed."""

from __future__ import annotations

import re

from assistant.domain.kb_entries import ANSWER_PLACEHOLDERS, LANGUAGE_PATTERN, check_placeholders
from assistant.domain.voice import BrandVoice, clean_first_name
from assistant.errors import InputError

SHORTCODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_TEXT_CHARS = 20_000


def check_canned_reply(shortcode: str, language: str, text: str) -> None:
    """Refuse (InputError) what could not be offered or sent: a bad shortcode or language, an empty text, or a
    placeholder the KB answers do not know."""
    if not SHORTCODE_PATTERN.match(shortcode):
        raise InputError(
            f"shortcode {shortcode[:64]!r}: use lower-case letters, digits, '-' and '_' (up to 64), e.g. 'sorry'"
        )
    if not LANGUAGE_PATTERN.match(language):
        raise InputError(f"language {language[:16]!r}: use a language code such as 'en' or 'pt-BR'")
    if not text.strip():
        raise InputError("the canned reply's text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the canned reply is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")
    problem = check_placeholders(text, ANSWER_PLACEHOLDERS)
    if problem:
        raise InputError(f"the canned reply's text has {problem}")


def fill_for_customer(voice: BrandVoice, text: str, language: str, sender_name: str | None) -> str:
    """`text` as the customer will read it: placeholders filled from the brand and the sender's name, a missing
    name dropped the way the bot drops it. A placeholder the KB answers do not know is refused (InputError)
    rather than sent as typed."""
    problem = check_placeholders(text, ANSWER_PLACEHOLDERS)
    if problem:
        raise InputError(f"the reply has {problem}")
    return voice.fill(text, language, clean_first_name(sender_name))
