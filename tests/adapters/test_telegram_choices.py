"""Telegram choices: a clarification goes out with an inline keyboard Telegram accepts (callback_data within 64
bytes), a tap comes back as a callback_query that parses into the option's payload, and the tap is answered so the
client stops spinning."""

from __future__ import annotations

import json
from typing import Any

import httpx

from assistant.domain.channels import OutboundMessage
from tests.adapters import platform_rules
from tests.adapters.choice_samples import HUMAN, LONG_ID, THREE, numbered_text
from tests.adapters.platform_double import PlatformDouble, api_fixture, assert_well_formed  # noqa: F401
from tests.adapters.test_telegram import TOKEN, config, delivered
from webhooks.adapters.telegram import TelegramAdapter

SENT = {"ok": True, "result": {"message_id": 1400, "chat": {"id": 1111111, "type": "private"}, "date": 1}}


def send(api: PlatformDouble, choices: tuple[Any, ...]) -> dict[str, Any]:
    api.reply(200, json=SENT)
    message = OutboundMessage(
        platform="telegram",
        reply_target={"chat_id": "1111111", "message_id": "1365"},
        text=numbered_text(choices),
        idempotency_key="k1",
        choices=choices,
    )
    with httpx.Client(timeout=2) as client:
        assert TelegramAdapter(config(api_base_url=api.url)).send(client, message).ok
    assert api.last.path == f"/bot{TOKEN}/sendMessage"
    body: dict[str, Any] = api.last.json()
    return body


def tap(data: str, keyboard: Any = None, query_id: str = "4382bfdwdsb323b2d9", **sender: Any) -> dict[str, Any]:
    """The Update Telegram delivers when the person taps a button of our message."""
    message: dict[str, Any] = {
        "message_id": 1400,
        "date": 1441645600,
        "from": {"id": 987654321, "is_bot": True, "first_name": "Northpine"},
        "chat": {"id": 1111111, "type": "private", "first_name": "Ania"},
        "text": "Did you mean:",
    }
    if keyboard is not None:
        message["reply_markup"] = keyboard
    return {
        "update_id": 10077,
        "callback_query": {
            "id": query_id,
            "from": {"id": 1111111, "is_bot": False, "first_name": "Ania", "language_code": "pl", **sender},
            "message": message,
            "chat_instance": "-2836182742848475",
            "data": data,
        },
    }


def test_a_clarification_goes_out_with_an_inline_keyboard_telegram_accepts(api: PlatformDouble) -> None:
    body = send(api, THREE)
    assert platform_rules.telegram(body) == []
    assert body["text"] == numbered_text(THREE)  # the numbered list stays for anyone who types the number
    keyboard = body["reply_markup"]["inline_keyboard"]
    assert [[button["callback_data"] for button in row] for row in keyboard] == [[c.payload] for c in THREE]
    assert [row[0]["text"] for row in keyboard] == [
        "Shipping times",
        "Return policy for damaged or incomplete…",
        HUMAN.label,
    ]


def test_an_option_whose_payload_exceeds_64_bytes_is_left_off_the_keyboard(api: PlatformDouble) -> None:
    body = send(api, (THREE[0], LONG_ID, HUMAN))
    assert platform_rules.telegram(body) == []
    keyboard = body["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == [THREE[0].payload, HUMAN.payload]


def test_a_reply_without_choices_has_no_keyboard(api: PlatformDouble) -> None:
    assert "reply_markup" not in send(api, ())


def test_a_tap_on_the_sent_keyboard_parses_into_the_option(api: PlatformDouble) -> None:
    keyboard = send(api, THREE)["reply_markup"]  # exactly what Telegram shows under our message
    adapter = TelegramAdapter(config())
    request = delivered(tap(THREE[1].payload, keyboard))
    adapter.verify(request)
    [event] = adapter.parse(request)
    assert_well_formed([event], "telegram")
    assert (event.kind, event.event_id, event.conversation_key) == ("message", "callback:4382bfdwdsb323b2d9", "1111111")
    assert event.message is not None
    assert event.message.choice_payload == THREE[1].payload
    assert event.message.text == "Return policy for damaged or incomplete…"  # the button's own text
    assert (event.message.sender_id, event.message.language, event.message.is_public) == ("1111111", "pl", False)
    assert event.reply_target == {"chat_id": "1111111"}
    answer = adapter.acknowledge(request, [event])
    assert answer.status == 200 and answer.content_type == "application/json"
    assert json.loads(answer.body) == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"}


def test_a_tap_without_the_keyboard_in_the_update_uses_the_payload_as_text() -> None:
    [event] = TelegramAdapter(config()).parse(delivered(tap("choose:human")))
    assert event.message is not None and (event.message.choice_payload, event.message.text) == ("choose:human",) * 2


def test_a_redelivered_tap_dedupes_and_a_second_tap_does_not() -> None:
    adapter = TelegramAdapter(config())
    [first] = adapter.parse(delivered(tap(THREE[0].payload)))
    [again] = adapter.parse(delivered(tap(THREE[0].payload)))
    [second] = adapter.parse(delivered(tap(THREE[0].payload, query_id="4382bfdwdsb323b2e0")))
    assert first.event_id == again.event_id != second.event_id


def test_a_tap_by_a_bot_is_an_echo_and_a_forged_payload_is_not_a_choice() -> None:
    adapter = TelegramAdapter(config())
    [echo] = adapter.parse(delivered(tap(THREE[0].payload, is_bot=True)))
    assert echo.kind == "echo"
    [forged] = adapter.parse(delivered(tap("choose:../../admin")))
    assert forged.kind == "other" and forged.message is None


def test_a_tap_under_an_inline_mode_message_is_answered_only() -> None:
    update = tap(THREE[0].payload)
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "AAAAAE"
    adapter = TelegramAdapter(config())
    request = delivered(update)
    [event] = adapter.parse(request)
    assert event.kind == "other" and event.message is None
    assert json.loads(adapter.acknowledge(request, [event]).body)["method"] == "answerCallbackQuery"
