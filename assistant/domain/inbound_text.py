"""Clean text at the edge: every string of an inbound event is made storable once, before it is stored or queued.

JSON may carry what no database takes: a lone surrogate (`"\\ud800"` is valid JSON, but no UTF-8 encoder accepts
it, so SQLite and PostgreSQL both refuse the row) and NUL (PostgreSQL refuses it in text). One such character used
to lose the whole message after every retry. Here lone surrogates become U+FFFD (a valid pair written as two
escapes is joined into its character first), NUL is removed, the text is NFC, and a text longer than the service
takes is cut, with the length received kept so the store can say so."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from assistant.domain.channels import InboundEvent

# Ids and names are short on every platform; a longer one is cut to what their columns hold (255) rather than
# refused. A reply target's values (ids, Discord's interaction token) are kept up to MAX_TARGET_CHARS.
MAX_FIELD_CHARS = 255
MAX_TARGET_CHARS = 4000


def storable(text: str) -> str:
    """`text` as every store can take it: surrogate pairs joined, lone surrogates replaced, NUL removed, NFC."""
    if text.isascii():
        return text.replace("\x00", "")  # the common case: only NUL can be wrong in ASCII
    # UTF-16 with surrogatepass joins a pair written as two escapes; decoding with "replace" turns each lone
    # surrogate into U+FFFD.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return unicodedata.normalize("NFC", joined.replace("\x00", ""))


def clean_event(event: InboundEvent, max_text_chars: int) -> InboundEvent:
    """The event with every string storable; a message text over `max_text_chars` is cut there and the message
    keeps `received_chars` (its length as received)."""
    message = event.message
    if message is not None:
        text = storable(message.text)
        received = len(text) if len(text) > max_text_chars else message.received_chars
        message = replace(
            message,
            text=text[:max_text_chars],
            received_chars=received,
            sender_id=_field(message.sender_id),
            sender_name=_optional(message.sender_name),
            conversation_id=_optional(message.conversation_id),
            message_id=_optional(message.message_id),
            language=_optional(message.language),
            choice_payload=_optional(message.choice_payload),
        )
    return replace(
        event,
        event_id=_field(event.event_id),
        conversation_key=_field(event.conversation_key),
        message=message,
        reply_target=_strings(event.reply_target),
    )


def _field(value: str) -> str:
    return storable(value)[:MAX_FIELD_CHARS]


def _optional(value: str | None) -> str | None:
    return None if value is None else _field(value)


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {_field(str(key)): storable(str(value))[:MAX_TARGET_CHARS] for key, value in values.items()}
