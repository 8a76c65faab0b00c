"""Choices ("Did you mean: shipping times / return policy / talk to a person?") as a platform can show them: which
options fit, their titles cut to the platform's length, and a tapped option's payload read back. The limits are
each adapter's own (`choice_limits` on the adapter class); this module only applies them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.domain.kb_entries import ENTRY_ID_PATTERN
from assistant.domain.messages import CHOICE_PREFIX, HUMAN_CHOICE, Choice

ELLIPSIS = "…"
# A word break is used for the cut only when it keeps at least this share of the room: "Return policy for…" rather
# than "Return…", but a long first word is cut mid-word.
_WORD_BREAK_SHARE = 0.5


@dataclass(frozen=True)
class ChoiceLimits:
    """What one platform's quick replies or buttons allow."""

    max_choices: int
    title_chars: int
    payload_chars: int | None = None  # the payload's limit in characters…
    payload_bytes: int | None = None  # …or in UTF-8 bytes (Telegram's callback_data)

    def payload_fits(self, payload: str) -> bool:
        if self.payload_chars is not None and len(payload) > self.payload_chars:
            return False
        return self.payload_bytes is None or len(payload.encode("utf-8")) <= self.payload_bytes


@dataclass(frozen=True)
class Button:
    """One option as it goes out: its title within the platform's length, and the payload a tap sends back."""

    title: str
    payload: str


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole words where possible, an ellipsis where something was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    room = text[: limit - 1]
    cut = room.rfind(" ")
    if text[limit - 1] == " ":
        cut = limit - 1  # the word ends exactly at the limit
    if cut >= (limit - 1) * _WORD_BREAK_SHARE:
        room = room[:cut]
    return room.rstrip(" ,;:.-–—/") + ELLIPSIS


def buttons(choices: Sequence[Choice], limits: ChoiceLimits, title_chars: int | None = None) -> list[Button]:
    """The options the platform can show, in the engine's order.

    A payload over the platform's limit is left out (cutting it would send back an entry that does not exist; the
    numbered list in the text still offers it). Beyond `max_choices` the first ones are kept, and "talk to a person"
    always is. Titles are shortened to `title_chars` (default: the limits') and kept unique within the message, as
    WhatsApp requires: a title that collides after the cut gets the option's number from the text's list."""
    width = title_chars if title_chars is not None else limits.title_chars
    numbered: list[tuple[int, Choice]] = []
    for number, choice in enumerate(choices, 1):
        # Ids must be unique within a message (Discord's custom_id, WhatsApp's ids): a repeated payload goes once.
        if limits.payload_fits(choice.payload) and all(choice.payload != kept.payload for _, kept in numbered):
            numbered.append((number, choice))
    if len(numbered) > limits.max_choices:
        human = [item for item in numbered if item[1].payload == HUMAN_CHOICE][: limits.max_choices]
        others = [item for item in numbered if item[1].payload != HUMAN_CHOICE]
        kept = {id(item) for item in others[: limits.max_choices - len(human)] + human}
        numbered = [item for item in numbered if id(item) in kept]
    titles = [shorten(choice.label, width) or choice.payload[:width] for _, choice in numbered]
    result: list[Button] = []
    for (number, choice), title in zip(numbered, titles, strict=True):
        if titles.count(title) > 1:
            title = shorten(f"{number}. {choice.label}", width)
        result.append(Button(title, choice.payload))
    return result


def our_choice(payload: Any) -> str | None:
    """A tapped payload when it is one we offered (`choose:<entry_id>` or `choose:human`), else None: other apps'
    buttons, a persistent menu's postbacks and forged junk stay ordinary messages."""
    if not isinstance(payload, str) or not payload.startswith(CHOICE_PREFIX):
        return None
    return payload if ENTRY_ID_PATTERN.fullmatch(payload.removeprefix(CHOICE_PREFIX)) else None
