"""Clean text at the edge, on its own: any string becomes one every store takes (UTF-8 encodable, no NUL, NFC), the
same string twice gives the same result, ordinary text is left alone, and an event is cleaned in every field."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from assistant.domain.channels import InboundEvent
from assistant.domain.inbound_text import MAX_TARGET_CHARS, clean_event, storable
from assistant.domain.messages import InboundMessage

# Every code point, lone surrogates (category Cs) and NUL included: what a JSON body may carry; the troublesome ones
# drawn often, not left to chance.
TROUBLE = st.sampled_from(["\ud800", "\udfff", "\ud83d", "\ude00", "\x00", "\u0301", "\ufeff"])
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(codec=None, categories=None), TROUBLE), max_size=60)


@given(ANY_TEXT)
@example("\ud800")
@example("\udfff\ud800")
@example("a\x00b")
@example("e\u0301")
def test_any_string_becomes_storable_and_cleaning_twice_changes_nothing(text: str) -> None:
    cleaned = storable(text)
    cleaned.encode("utf-8")  # raises for a lone surrogate
    assert "\x00" not in cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    assert storable(cleaned) == cleaned


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60))
def test_text_that_was_storable_keeps_its_characters(text: str) -> None:
    assert storable(text) == unicodedata.normalize("NFC", text)


def test_lone_surrogates_become_the_replacement_character_and_a_split_pair_is_joined() -> None:
    assert storable("order \ud800 late") == "order \ufffd late"
    assert storable("\ud83d\ude00") == "\U0001f600"  # a pair written as two JSON escapes is one character
    assert storable("caf\u0065\u0301") == "caf\u00e9"


def test_every_string_of_an_event_is_cleaned_and_a_long_text_is_cut_with_its_length_kept() -> None:
    message = InboundMessage(
        text="x\ud800" * 30_000, sender_id="u\x001", sender_name="Ann\udc00a", choice_payload="choose:\ud800"
    )
    event = InboundEvent(
        "telegram",
        "ev\x00-1",
        "chat\ud800",
        "message",
        message,
        reply_target={"chat_id": "1\ud800", "n": "x" * 5000},
    )
    cleaned = clean_event(event, max_text_chars=20_000)
    assert cleaned.message is not None
    assert cleaned.message.text == ("x\ufffd" * 10_000) and cleaned.message.received_chars == 60_000
    assert (cleaned.message.sender_id, cleaned.message.sender_name) == ("u1", "Ann\ufffda")
    assert cleaned.message.choice_payload == "choose:\ufffd"
    assert (cleaned.event_id, cleaned.conversation_key) == ("ev-1", "chat\ufffd")
    assert cleaned.reply_target == {"chat_id": "1\ufffd", "n": "x" * MAX_TARGET_CHARS}
    # The queued form round-trips, the received length with it.
    assert InboundEvent.from_dict(cleaned.to_dict()) == cleaned


def test_a_text_within_the_limit_keeps_no_received_length() -> None:
    event = InboundEvent("telegram", "1", "c", "message", InboundMessage(text="Where is my order?"))
    cleaned = clean_event(event, max_text_chars=20_000)
    assert cleaned == event and cleaned.message is not None and cleaned.message.received_chars is None
