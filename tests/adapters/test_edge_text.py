"""Clean text at the edge, as a property: any string a platform may put in a message (lone surrogates, NUL and
other controls, combining marks, astral characters) posted, correctly signed, to every platform's endpoint is
acknowledged, and what is stored in the inbox and queued is `storable(text)` — UTF-8, no NUL, NFC — cut to the
service's limit. The cleaned strings are then taken back unchanged by the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from assistant.domain.channels import InboundEvent
from assistant.domain.inbound_text import MAX_FIELD_CHARS, clean_event, storable
from assistant.domain.messages import InboundMessage
from assistant.store import Store
from tests.adapters.signed_edge import Edge, module_edge_fixture  # noqa: F401
from tests.store.conftest import backend, database_url, postgres_base_url, store  # noqa: F401

# Any code point, and, because a uniform draw almost never lands on them, the kinds that used to lose a message or
# that cleaning changes, drawn on purpose: surrogates, controls (NUL among them), combining marks, astral
# characters, and the two halves of one pair so that they sometimes meet.
ALPHABET = st.one_of(
    st.characters(codec=None, categories=None),
    st.characters(categories=["Cs"]),
    st.characters(categories=["Cc"]),
    st.characters(categories=["Mn", "Mc", "Me"]),
    st.characters(min_codepoint=0x10000),
    st.sampled_from(["\x00", "\ud83d", "\ude00", "e", "\u0301", " "]),
)
TEXTS = st.text(alphabet=ALPHABET)
EXAMPLES = ("\ud800", "a\x00b", "\udfff\ud800", "e\u0301", "\ud83d\ude00")
# Raw JSON text (escapes as a platform sends them) and what must be stored: pinned values, not `storable` again.
ESCAPED = {
    r"\ud83d\ude00": "\U0001f600",  # a valid pair written as two escapes is one character
    r"\ud800": "\ufffd",
    r"\udfff\ud800": "\ufffd\ufffd",
    r"a\u0000b": "ab",
    r"e\u0301": "\u00e9",
}
PLACEHOLDER = "TEXT-GOES-HERE"

_ids = itertools.count(1)


# --- one real message per platform, the text in its text field and in the sender's display name -------------------


def _messenger(n: int, text: str) -> dict[str, Any]:
    page, person = "1234567890123", "7654321098765"
    dm = {"sender": {"id": person}, "recipient": {"id": page}, "timestamp": 1458692752478}
    comment = {
        "from": {"id": "24242424", "name": text},
        "post_id": f"{page}_5555",
        "comment_id": f"5555_{n}",
        "parent_id": f"{page}_5555",
        "created_time": 1520383571,
        "item": "comment",
        "verb": "add",
        "message": text,
    }
    entry = {
        "id": page,
        "time": 1458692752478,
        "messaging": [{**dm, "message": {"mid": f"mid.{n}", "text": text}}],
        "changes": [{"field": "feed", "value": comment}],
    }
    return {"object": "page", "entry": [entry]}


def _instagram(n: int, text: str) -> dict[str, Any]:
    account, person = "17841400000000000", "1122334455667788"
    dm = {"sender": {"id": person}, "recipient": {"id": account}, "timestamp": 1569262485349}
    comment = {"id": f"1786579934808{n}", "from": {"id": person, "username": text}, "text": text, "media": {"id": "1"}}
    entry = {
        "id": account,
        "time": 1569262486134,
        "messaging": [{**dm, "message": {"mid": f"aWdfZAG1{n}", "text": text}}],
        "changes": [{"field": "comments", "value": comment}],
    }
    return {"object": "instagram", "entry": [entry]}


def _whatsapp(n: int, text: str) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": text}, "wa_id": "16505551234"}],
        "messages": [
            {
                "from": "16505551234",
                "id": f"wamid.{n}",
                "timestamp": "1749416383",
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def _slack(n: int, text: str) -> dict[str, Any]:
    # Slack has no display name in a message event.
    event = {"type": "message", "channel": "D123ABC456", "user": "U123ABC456", "text": text, "channel_type": "im"}
    return {
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": {**event, "ts": f"1355517523.{n:06d}"},
        "type": "event_callback",
        "event_id": f"Ev{n}",
        "event_time": 1355517523,
    }


def _telegram(n: int, text: str) -> dict[str, Any]:
    sender = {"id": 111222333, "is_bot": False, "first_name": text}
    message = {"message_id": n, "from": sender, "chat": {"id": 111222333, "type": "private"}, "date": 1700000000}
    return {"update_id": n, "message": {**message, "text": text}}


def _discord(n: int, text: str) -> dict[str, Any]:
    user = {"id": "53908232506183680", "username": "mason", "global_name": text}
    return {
        "type": 2,
        "token": f"A_UNIQUE_TOKEN_{n}",
        "id": str(786008729715212338 + n),
        "application_id": "775799577604522054",
        "guild_id": "290926798626357999",
        "channel_id": "645027906669510667",
        "member": {"user": user},
        "data": {"options": [{"type": 3, "name": "question", "value": text}], "type": 1, "name": "ask"},
    }


def _x(n: int, text: str) -> dict[str, Any]:
    us, sender = "4337869213", "3001969357"
    create = {"target": {"recipient_id": us}, "sender_id": sender, "message_data": {"text": text}}
    dm = {"type": "message_create", "id": str(954491830116155396 + n), "created_timestamp": "1521585378996"}
    users = {sender: {"id": sender, "name": text, "screen_name": "furiouscamper"}}
    return {"for_user_id": us, "direct_message_events": [{**dm, "message_create": create}], "users": users}


def _generic(n: int, text: str) -> dict[str, Any]:
    data = {"id": f"m_{n}", "conversation_id": "t_42", "text": text, "sender": {"id": "u_7", "name": text}}
    return {"type": "message.created", "timestamp": "2025-03-14T12:00:00Z", "data": data}


def _slack_words(text: str) -> str:
    # The Slack adapter joins the words with single spaces (after dropping mentions of our bot, none here): that
    # is its reading of the text, and the edge cleans what it read.
    return " ".join(text.split())


# platform: (payload, whether each message event it yields names its sender with the text, what the adapter reads)
PLATFORMS: dict[str, tuple[Callable[[int, str], dict[str, Any]], tuple[bool, ...], Callable[[str], str]]] = {
    "messenger": (_messenger, (False, True), str),  # a DM (no name in Messenger's payload) and a page comment
    "instagram": (_instagram, (False, True), str),  # a DM and a comment, its author's username
    "whatsapp": (_whatsapp, (True,), str),
    "slack": (_slack, (False,), _slack_words),
    "telegram": (_telegram, (True,), str),
    "discord": (_discord, (True,), str),
    "x": (_x, (True,), str),
    "generic": (_generic, (True,), str),
}
# Telegram reads a message without words (a sticker, a photo without caption) as nothing to answer.
WORDS_REQUIRED = ("telegram",)


def _assert_storable(text: str) -> None:
    text.encode("utf-8")  # raises on a lone surrogate
    assert "\x00" not in text
    assert unicodedata.is_normalized("NFC", text)


def _post(edge: Edge, platform: str, body: bytes) -> list[InboundEvent]:
    """The message events the delivery queued, after checking it was acknowledged."""
    before = len(edge.queued)
    assert edge.post(platform, body) == 200
    return edge.queued[before:]


def _assert_stored(edge: Edge, platform: str, events: list[InboundEvent], text: str, names: str) -> None:
    """Each queued event carries `text` (and `names` where its payload named the sender) and is stored as queued."""
    named = PLATFORMS[platform][1]
    assert len(events) == len(named)
    for event, has_name in zip(events, named, strict=True):
        assert event.message is not None
        assert event.message.text == text
        assert event.message.sender_name == (names if has_name else None)
        row = edge.store.inbox_event(platform, event.event_id)
        assert row is not None and row.payload is not None
        assert row.payload == event.to_dict()
        assert row.payload["message"]["text"] == text
        assert InboundEvent.from_dict(row.payload) == event


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@given(text=TEXTS)
@example(text=EXAMPLES[0])
@example(text=EXAMPLES[1])
@example(text=EXAMPLES[2])
@example(text=EXAMPLES[3])
@example(text=EXAMPLES[4])
@settings(max_examples=25, deadline=None)
def test_any_text_through_every_endpoint_is_stored_and_queued_clean(
    module_edge: Edge, platform: str, text: str
) -> None:
    assume(platform not in WORDS_REQUIRED or text.strip())
    builder, _, read = PLATFORMS[platform]
    body = json.dumps(builder(next(_ids), text), ensure_ascii=True).encode()  # lone surrogates travel as \udXXX
    expected = storable(read(text))[: module_edge.settings.reliability.max_text_chars]
    _assert_storable(expected)
    if text == "\ud83d\ude00":
        assert expected == "\U0001f600"
    events = _post(module_edge, platform, body)
    _assert_stored(module_edge, platform, events, expected, storable(text)[:MAX_FIELD_CHARS])


@pytest.mark.parametrize("escaped", sorted(ESCAPED))
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_escapes_as_a_platform_writes_them_are_stored_as_these_characters(
    module_edge: Edge, platform: str, escaped: str
) -> None:
    builder = PLATFORMS[platform][0]
    raw = json.dumps(builder(next(_ids), PLACEHOLDER)).replace(PLACEHOLDER, escaped)
    events = _post(module_edge, platform, raw.encode())
    _assert_stored(module_edge, platform, events, ESCAPED[escaped], ESCAPED[escaped])


def test_a_200000_character_text_is_stored_cut_with_its_length(module_edge: Edge) -> None:
    limit = module_edge.settings.reliability.max_text_chars
    text = ("Where is my order? It was due on Monday. " * 5000)[:200_000]
    assert len(text) == 200_000 and limit < len(text)
    [event] = _post(module_edge, "telegram", json.dumps(_telegram(next(_ids), text)).encode())
    assert event.message is not None
    assert event.message.text == text[:limit]
    assert event.message.received_chars == 200_000
    row = module_edge.store.inbox_event("telegram", event.event_id)
    assert row is not None and row.payload == event.to_dict()
    assert row.payload["message"]["received_chars"] == 200_000


# --- the store, on SQLite and PostgreSQL ---------------------------------------------------------------------------

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


@given(text=TEXTS, name=TEXTS)
@example(text=EXAMPLES[0], name=EXAMPLES[2])
@example(text=EXAMPLES[1], name=EXAMPLES[1])
@example(text=EXAMPLES[3], name=EXAMPLES[4])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_store_takes_every_cleaned_event_back_unchanged(store: Store, text: str, name: str) -> None:  # noqa: F811
    n = next(_ids)
    # Ids and keys come from the platform too: arbitrary strings after a prefix that keeps them unique.
    raw = InboundEvent(
        platform="generic",
        event_id=f"ev{n}:{text}",
        conversation_key=f"c{n}:{name}",
        kind="message",
        message=InboundMessage(text=text, sender_id=f"u{n}:{name}", sender_name=name, platform="generic"),
        reply_target={"conversation_id": f"c{n}:{name}", "reply_to": text},
    )
    event = clean_event(raw, max_text_chars=20_000)
    message = event.message
    assert message is not None and message.sender_name is not None
    for value in (
        message.text,
        message.sender_name,
        event.event_id,
        event.conversation_key,
        *event.reply_target.values(),
    ):
        _assert_storable(value)

    [(_, accepted)] = store.accept_events([event], NOW)
    row = store.inbox_event("generic", event.event_id)
    assert row is not None and row.payload == event.to_dict()
    assert InboundEvent.from_dict(row.payload) == event == accepted

    conversation = store.conversation("generic", event.conversation_key, message.sender_id, message.sender_name)
    message_id = store.record_inbound(
        conversation.id,
        "generic",
        event.event_id,
        message.text,
        None,
        False,
        NOW,
        event.reply_target,
        message.received_chars,
    )
    assert message_id is not None
    again = store.conversation_by_id(conversation.id)
    assert (again.conversation_key, again.sender_name, again.reply_target) == (
        event.conversation_key,
        message.sender_name,
        event.reply_target,
    )
    [recorded] = store.history(conversation.id)
    assert (recorded.id, recorded.text, recorded.platform_event_id) == (message_id, message.text, event.event_id)


def test_the_longest_ids_and_name_the_edge_keeps_fit_the_store(store: Store) -> None:  # noqa: F811
    # The edge cuts ids, keys and names at MAX_FIELD_CHARS rather than refusing them; the store must then take
    # them, or the webhook answers 503 (inbox) for ever and the platform redelivers a message nobody can store.
    longest = "\u00e9" * (MAX_FIELD_CHARS + 10)
    event = clean_event(
        InboundEvent(
            platform="generic",
            event_id=longest,
            conversation_key=longest,
            kind="message",
            message=InboundMessage(
                text="Where is my order?", sender_id=longest, sender_name=longest, platform="generic"
            ),
        ),
        max_text_chars=20_000,
    )
    message = event.message
    assert message is not None and len(event.event_id) == MAX_FIELD_CHARS
    assert len(store.accept_events([event], NOW)) == 1
    conversation = store.conversation("generic", event.conversation_key, message.sender_id, message.sender_name)
    assert conversation.sender_name == message.sender_name
    assert store.record_inbound(conversation.id, "generic", event.event_id, message.text, None, False, NOW) is not None
