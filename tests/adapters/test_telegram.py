"""Telegram adapter: the secret-token header, Update parsing, sendMessage and setWebhook against a local stand-in
for the Bot API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.domain.channels import OutboundMessage
from assistant.settings import PlatformConfig
from tests.adapters.platform_double import (  # noqa: F401
    FUZZ_SETTINGS,
    PlatformDouble,
    api_fixture,
    assert_parses_or_refuses,
    closed_url,
    enabled_config,
    json_values,
    loose,
    webhook_request,
)
from webhooks.adapters.base import PayloadError, SignatureError, WebhookRequest
from webhooks.adapters.telegram import TelegramAdapter, set_webhook

SECRET = "s3cr3t_Token-for-tests"
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
# Shaped after the Update / Message / User objects of https://core.telegram.org/bots/api#update
UPDATE = {
    "update_id": 10000,
    "message": {
        "message_id": 1365,
        "date": 1441645532,
        "text": "Jak zresetować hasło?",
        "from": {
            "id": 1111111,
            "is_bot": False,
            "first_name": "Ania",
            "last_name": "K",
            "username": "ania",
            "language_code": "pl",
        },
        "chat": {"id": 1111111, "first_name": "Ania", "username": "ania", "type": "private"},
    },
}


def config(**overrides: Any) -> PlatformConfig:
    return enabled_config(
        {
            "api_base_url": "https://telegram.invalid",
            "bot_token": TOKEN,
            "secret_token": SECRET,
        },
        overrides,
    )


def delivered(payload: dict[str, Any] | bytes, token: str | None = SECRET) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = token
    return webhook_request(body, headers)


def update_with(field: str = "message", **changes: Any) -> dict[str, Any]:
    update: dict[str, Any] = json.loads(json.dumps(UPDATE))
    message = update.pop("message")
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    update[field] = message
    return update


# --- verification -------------------------------------------------------------------------------------------------


def test_matching_secret_token_passes() -> None:
    TelegramAdapter(config()).verify(delivered(UPDATE))


@pytest.mark.parametrize("token", ["wrong-token", SECRET + "x", SECRET[:-1], ""])
def test_forged_secret_token_is_refused(token: str) -> None:
    with pytest.raises(SignatureError):
        TelegramAdapter(config()).verify(delivered(UPDATE, token=token))


def test_missing_header_is_refused() -> None:
    with pytest.raises(SignatureError, match="missing"):
        TelegramAdapter(config()).verify(delivered(UPDATE, token=None))


@pytest.mark.parametrize("secret", [None, ""])
def test_unconfigured_secret_refuses_everything(secret: str | None) -> None:
    with pytest.raises(SignatureError, match="not configured"):
        TelegramAdapter(config(secret_token=secret)).verify(delivered(UPDATE, token=""))


def test_telegram_has_no_handshake() -> None:
    adapter = TelegramAdapter(config())
    assert adapter.handshake(delivered(UPDATE)) is None
    assert adapter.handshake(webhook_request(b"", method="GET")) is None


# --- parsing ------------------------------------------------------------------------------------------------------


def test_private_message_becomes_one_event() -> None:
    [event] = TelegramAdapter(config()).parse(delivered(UPDATE))
    assert (event.platform, event.event_id, event.kind, event.conversation_key) == (
        "telegram",
        "10000",
        "message",
        "1111111",
    )
    assert event.reply_target == {"chat_id": "1111111", "message_id": "1365"}
    assert event.sent_at is not None and int(event.sent_at.timestamp()) == 1441645532
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.sender_name, message.language) == (
        "Jak zresetować hasło?",
        "1111111",
        "Ania",
        "pl",
    )
    assert (message.message_id, message.conversation_id, message.is_public, message.is_echo) == (
        "1365",
        "1111111",
        False,
        False,
    )


def test_replayed_update_parses_to_the_same_event_id() -> None:
    adapter = TelegramAdapter(config())
    first, second = adapter.parse(delivered(UPDATE)), adapter.parse(delivered(UPDATE))
    assert [event.event_id for event in first] == [event.event_id for event in second] == ["10000"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("pl", "pl"),
        ("en", "en"),
        ("zh-hans", "zh"),
        ("ru", "ru"),
        ("fr", "fr"),
        ("de", None),
        ("uk", None),
        (None, None),
    ],
)
def test_language_hint_only_for_supported_languages(code: str | None, expected: str | None) -> None:
    update = json.loads(json.dumps(UPDATE))
    if code is None:
        del update["message"]["from"]["language_code"]
    else:
        update["message"]["from"]["language_code"] = code
    [event] = TelegramAdapter(config()).parse(delivered(update))
    assert event.message is not None and event.message.language == expected


def test_edited_message_is_other() -> None:
    [event] = TelegramAdapter(config()).parse(delivered(update_with("edited_message", edit_date=1441645600)))
    assert event.kind == "other" and event.message is not None and event.message.text == "Jak zresetować hasło?"


def test_channel_post_is_a_public_message_from_the_channel() -> None:
    update = update_with(
        "channel_post",
        chat={"id": -1001234567890, "title": "Northpine news", "type": "channel"},
        sender_chat={"id": -1001234567890, "title": "Northpine news", "type": "channel"},
        text="Is the shop open on Sunday?",
    )
    del update["channel_post"]["from"]
    [event] = TelegramAdapter(config()).parse(delivered(update))
    assert (event.kind, event.conversation_key) == ("message", "-1001234567890")
    assert event.message is not None
    assert (event.message.sender_id, event.message.sender_name, event.message.is_public) == (
        "-1001234567890",
        "Northpine news",
        True,
    )


def test_group_message_in_a_forum_topic_is_answered_in_the_topic() -> None:
    update = update_with(
        chat={"id": -100987, "title": "Support", "type": "supergroup", "is_forum": True},
        message_thread_id=42,
        is_topic_message=True,
    )
    [event] = TelegramAdapter(config()).parse(delivered(update))
    assert event.reply_target == {"chat_id": "-100987", "message_id": "1365", "message_thread_id": "42"}
    assert event.message is not None and event.message.is_public


def test_messages_from_bots_and_own_ids_are_echoes() -> None:
    from_bot = json.loads(json.dumps(UPDATE))
    from_bot["message"]["from"]["is_bot"] = True
    [event] = TelegramAdapter(config()).parse(delivered(from_bot))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo
    [event] = TelegramAdapter(config(own_ids=["1111111"])).parse(delivered(UPDATE))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo


def test_message_without_text_is_other_but_caption_counts() -> None:
    [sticker] = TelegramAdapter(config()).parse(delivered(update_with(text=None, sticker={"file_id": "x"})))
    assert sticker.kind == "other"
    [photo] = TelegramAdapter(config()).parse(delivered(update_with(text=None, photo=[], caption="Is this broken?")))
    assert photo.kind == "message" and photo.message is not None and photo.message.text == "Is this broken?"


def test_other_update_types_are_acknowledged_without_a_message() -> None:
    update = {"update_id": 10001, "my_chat_member": {"chat": {"id": 1111111, "type": "private"}, "date": 1}}
    [event] = TelegramAdapter(config()).parse(delivered(update))
    assert (event.event_id, event.kind, event.message, event.conversation_key) == ("10001", "other", None, "1111111")


def test_a_tap_on_a_button_not_ours_is_answered_but_never_a_message() -> None:
    update = {
        "update_id": 10001,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "data": "x",
            "from": {"id": 1111111, "is_bot": False, "first_name": "Ania"},
            "message": {"message_id": 1, "date": 1, "chat": {"id": 1111111, "type": "private"}},
        },
    }
    adapter = TelegramAdapter(config())
    request = delivered(update)
    [event] = adapter.parse(request)
    assert (event.event_id, event.kind, event.message, event.conversation_key) == (
        "callback:4382bfdwdsb323b2d9",
        "other",
        None,
        "1111111",
    )
    answer = adapter.acknowledge(request, [event])
    assert answer.content_type == "application/json"
    assert json.loads(answer.body) == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b"null",
        json.dumps({"message": UPDATE["message"]}).encode(),
        json.dumps({"update_id": "10000"}).encode(),
        json.dumps({"update_id": True}).encode(),
        json.dumps({"update_id": 1, "message": {"message_id": 1, "text": "hi"}}).encode(),
        json.dumps({"update_id": 1, "message": "hi"}).encode(),
    ],
)
def test_malformed_updates_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        TelegramAdapter(config()).parse(delivered(body))


def test_acknowledge_is_an_empty_200() -> None:
    ack = TelegramAdapter(config()).acknowledge(delivered(UPDATE), [])
    assert (ack.status, ack.body) == (200, "")


# --- sending ------------------------------------------------------------------------------------------------------


def outbound(**target: str) -> OutboundMessage:
    return OutboundMessage(
        platform="telegram",
        reply_target=target or {"chat_id": "1111111", "message_id": "1365"},
        text="Otwórz Ustawienia → Bezpieczeństwo.",
        idempotency_key="k1",
    )


def test_send_message_replies_to_the_question(api: PlatformDouble) -> None:
    api.reply(
        200,
        json={
            "ok": True,
            "result": {"message_id": 1366, "date": 1441645600, "chat": {"id": 1111111, "type": "private"}},
        },
    )
    with httpx.Client(timeout=2) as client:
        result = TelegramAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert result.ok and result.platform_message_id == "1366"
    request = api.last
    assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "chat_id": 1111111,
        "text": "Otwórz Ustawienia → Bezpieczeństwo.",
        "reply_parameters": {"message_id": 1365, "allow_sending_without_reply": True},
    }


def test_send_into_a_forum_topic(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": True, "result": {"message_id": 7}})
    with httpx.Client(timeout=2) as client:
        TelegramAdapter(config(api_base_url=api.url)).send(
            client, outbound(chat_id="-100987", message_id="1365", message_thread_id="42")
        )
    assert api.last.json()["chat_id"] == -100987 and api.last.json()["message_thread_id"] == 42


def test_flood_control_429_is_retryable_with_retry_after(api: PlatformDouble) -> None:
    api.reply(
        429,
        json={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 12",
            "parameters": {"retry_after": 12},
        },
    )
    with httpx.Client(timeout=2) as client:
        result = TelegramAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.retry_after, result.status) == (False, True, 12.0, 429)
    assert result.error == "Too Many Requests: retry after 12"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (400, False), (403, False)])
def test_http_errors(api: PlatformDouble, status: int, retryable: bool) -> None:
    api.reply(status, json={"ok": False, "error_code": status, "description": "Bad Request: chat not found"})
    with httpx.Client(timeout=2) as client:
        result = TelegramAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.status) == (False, retryable, status)


def test_answer_slower_than_the_client_timeout_is_outcome_unknown(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": True, "result": {"message_id": 1}}, delay=0.5)
    with httpx.Client(timeout=0.1) as client:
        result = TelegramAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert result.outcome_unknown and not result.retryable
    assert TOKEN not in (result.error or "")  # the bot token is in the URL path: never in error texts


def test_connection_refused_is_retryable() -> None:
    with httpx.Client(timeout=1) as client:
        result = TelegramAdapter(config(api_base_url=closed_url())).send(client, outbound())
    assert result.retryable and not result.outcome_unknown and TOKEN not in (result.error or "")


def test_set_webhook_registers_url_secret_and_update_types(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": True, "result": True, "description": "Webhook was set"})
    with httpx.Client(timeout=2) as client:
        answer = set_webhook(client, config(api_base_url=api.url), "https://bot.example/webhooks/telegram")
    assert answer == {"ok": True, "result": True, "description": "Webhook was set"}
    assert (api.last.method, api.last.path) == ("POST", f"/bot{TOKEN}/setWebhook")
    assert api.last.json() == {
        "url": "https://bot.example/webhooks/telegram",
        "secret_token": SECRET,
        "allowed_updates": ["message", "edited_message", "channel_post", "callback_query"],
        "drop_pending_updates": False,
    }


@pytest.mark.parametrize("secret", [None, "", "has space", "x" * 257, "semi;colon"])
def test_set_webhook_refuses_a_secret_telegram_would_reject(api: PlatformDouble, secret: str | None) -> None:
    with httpx.Client(timeout=2) as client, pytest.raises(ValueError, match="secret_token"):
        set_webhook(client, config(api_base_url=api.url, secret_token=secret), "https://bot.example/tg")
    assert api.requests == []


# --- property: any signed body parses into well-formed events or is a PayloadError ---------------------------------

KEYS = frozenset(
    {
        "message_id",
        "from",
        "chat",
        "id",
        "is_bot",
        "first_name",
        "language_code",
        "type",
        "text",
        "caption",
        "date",
        "sender_chat",
        "title",
        "message_thread_id",
        "is_topic_message",
    }
)
MESSAGE = st.fixed_dictionaries(
    {
        "chat": st.fixed_dictionaries(
            {"id": loose(1111111, -100987)}, optional={"type": loose("private", "supergroup")}
        ),
        "message_id": loose(1365),
    },
    optional={
        "from": st.fixed_dictionaries(
            {"id": loose(1111111)},
            optional={
                "is_bot": loose(False, True),
                "first_name": loose("Ania"),
                "language_code": loose("pl", "zh-hans"),
            },
        ),
        "text": loose("hi", ""),
        "caption": loose("cap"),
        "date": loose(1441645532),
        "sender_chat": json_values(KEYS),
        "message_thread_id": loose(42),
        "is_topic_message": loose(True),
    },
)
SHAPED = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2**40)},
    optional={
        field: MESSAGE | json_values(KEYS) for field in ("message", "edited_message", "channel_post", "callback_query")
    },
)


@given(json_values(KEYS) | SHAPED)
@FUZZ_SETTINGS
def test_any_signed_body_parses_or_is_a_payload_error(value: Any) -> None:
    assert_parses_or_refuses(TelegramAdapter(config()), delivered(json.dumps(value).encode()))
