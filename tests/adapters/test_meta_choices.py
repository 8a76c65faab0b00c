"""Choices on Meta's platforms: Messenger and Instagram quick replies, WhatsApp reply buttons (three at most) and list
messages, each checked as the platform would check it, and every kind of tap parsed back into the option's payload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from assistant.domain.channels import OutboundMessage
from assistant.domain.messages import Choice
from tests.adapters import platform_rules
from tests.adapters.choice_samples import FIFTEEN, FIVE_PL, HUMAN, THREE, TWINS, numbered_text
from tests.adapters.platform_double import PlatformDouble, api_fixture, assert_well_formed  # noqa: F401
from tests.adapters.test_meta import IG_ACCOUNT, IGSID, PAGE, PSID, TOKEN, config, receive
from webhooks.adapters.meta.page_messaging import InstagramAdapter, MessengerAdapter
from webhooks.adapters.meta.whatsapp import WhatsAppAdapter

WA_TARGET = {"to": "16505551234", "phone_number_id": "106540352242922", "message_id": "wamid.question"}
PAGE_ADAPTERS = [(MessengerAdapter, PSID, PAGE), (InstagramAdapter, IGSID, IG_ACCOUNT)]


def send(
    api: PlatformDouble,
    adapter: Any,
    target: dict[str, str],
    choices: tuple[Choice, ...],
    mode: str = "reply",
    text: str | None = None,
) -> dict[str, Any]:
    api.reply(200, json={"recipient_id": "1", "message_id": "m_out", "messages": [{"id": "wamid.out"}]})
    message = OutboundMessage(
        platform=adapter.name,
        reply_target=target,
        text=text if text is not None else numbered_text(choices),
        idempotency_key="idem-1",
        mode=mode,
        choices=choices,
    )
    with httpx.Client(timeout=2) as client:
        assert adapter.send(client, message).ok
    assert api.last.headers["authorization"] == f"Bearer {TOKEN}"
    body: dict[str, Any] = api.last.json()
    return body


def dm(sender: str, account: str, message: dict[str, Any], platform_object: str) -> dict[str, Any]:
    event = {"sender": {"id": sender}, "recipient": {"id": account}, "timestamp": 1458692752478, **message}
    return {"object": platform_object, "entry": [{"id": account, "time": 1458692752478, "messaging": [event]}]}


# --- Messenger and Instagram --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("adapter_type", "person", "account"), PAGE_ADAPTERS)
def test_a_clarification_goes_out_with_quick_replies(
    api: PlatformDouble, adapter_type: type[Any], person: str, account: str
) -> None:
    adapter = adapter_type(config(api_base_url=api.url))
    body = send(api, adapter, {"recipient_id": person, "account_id": account}, THREE)
    assert api.last.path == "/me/messages" and platform_rules.messenger(body) == []
    assert body["message"]["text"] == numbered_text(THREE)
    replies = body["message"]["quick_replies"]
    assert [(r["title"], r["payload"]) for r in replies] == [
        ("Shipping times", "choose:shipping-times"),
        ("Return policy for…", "choose:returns-damaged-items"),
        ("Talk to a person", "choose:human"),
    ]


def test_more_options_than_13_keep_the_first_and_the_person(api: PlatformDouble) -> None:
    body = send(api, MessengerAdapter(config(api_base_url=api.url)), {"recipient_id": PSID}, FIFTEEN)
    assert platform_rules.messenger(body) == []
    payloads = [r["payload"] for r in body["message"]["quick_replies"]]
    assert len(payloads) == 13 and payloads[-1] == HUMAN.payload and payloads[:12] == [c.payload for c in FIFTEEN[:12]]


def test_the_human_agent_tag_keeps_its_quick_replies(api: PlatformDouble) -> None:
    body = send(api, InstagramAdapter(config(api_base_url=api.url)), {"recipient_id": IGSID}, THREE, "human_agent")
    assert body["tag"] == "HUMAN_AGENT" and len(body["message"]["quick_replies"]) == 3


@pytest.mark.parametrize("mode", ["private_reply", "public_reply"])
def test_replies_to_comments_keep_only_the_numbered_text(api: PlatformDouble, mode: str) -> None:
    target = {"comment_id": "5555_6666", "account_id": PAGE}
    body = send(api, MessengerAdapter(config(api_base_url=api.url)), target, THREE, mode)
    message = body["message"]
    assert message == numbered_text(THREE) if mode == "public_reply" else message == {"text": numbered_text(THREE)}


@pytest.mark.parametrize(("adapter_type", "person", "account"), PAGE_ADAPTERS)
def test_a_tapped_quick_reply_parses_into_the_option(adapter_type: type[Any], person: str, account: str) -> None:
    # Meta posts the tapped title as the message text and our payload in quick_reply.
    tapped = {"message": {"mid": "m_tap", "text": "Return policy for…", "quick_reply": {"payload": THREE[1].payload}}}
    platform_object = "page" if adapter_type is MessengerAdapter else "instagram"
    [event] = receive(adapter_type(config()), dm(person, account, tapped, platform_object))
    assert_well_formed([event], adapter_type.name)
    assert (event.kind, event.event_id, event.conversation_key) == ("message", "m_tap", f"{account}:{person}")
    assert event.message is not None
    assert (event.message.choice_payload, event.message.text) == (THREE[1].payload, "Return policy for…")


def test_a_quick_reply_of_another_app_is_a_plain_message() -> None:
    tapped = {"message": {"mid": "m_other", "text": "Yes", "quick_reply": {"payload": "DEVELOPER_DEFINED_PAYLOAD"}}}
    [event] = receive(MessengerAdapter(config()), dm(PSID, PAGE, tapped, "page"))
    assert event.kind == "message" and event.message is not None
    assert (event.message.choice_payload, event.message.text) == (None, "Yes")


def test_a_postback_with_our_payload_is_a_pick_and_others_stay_unanswered() -> None:
    ours = {"postback": {"mid": "m_pb1", "title": "Talk to a person", "payload": HUMAN.payload}}
    [event] = receive(MessengerAdapter(config()), dm(PSID, PAGE, ours, "page"))
    assert event.kind == "message" and event.message is not None
    assert (event.message.choice_payload, event.message.text) == (HUMAN.payload, "Talk to a person")
    theirs = {"postback": {"mid": "m_pb2", "title": "Get Started", "payload": "GET_STARTED"}}
    [other] = receive(MessengerAdapter(config()), dm(PSID, PAGE, theirs, "page"))
    assert other.kind == "other" and other.message is not None and other.message.choice_payload is None


# --- WhatsApp -----------------------------------------------------------------------------------------------------


def test_up_to_three_options_are_reply_buttons(api: PlatformDouble) -> None:
    body = send(api, WhatsAppAdapter(config(api_base_url=api.url)), WA_TARGET, THREE)
    assert api.last.path == "/106540352242922/messages" and platform_rules.whatsapp(body) == []
    assert body["type"] == "interactive" and "text" not in body
    assert body["context"] == {"message_id": "wamid.question"}
    interactive = body["interactive"]
    assert interactive["type"] == "button" and interactive["body"]["text"] == numbered_text(THREE)
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in interactive["action"]["buttons"]] == [
        ("choose:shipping-times", "Shipping times"),
        ("choose:returns-damaged-items", "Return policy for…"),
        ("choose:human", "Talk to a person"),
    ]


def test_more_than_three_options_are_a_list_with_the_whole_label_below_a_cut_title(api: PlatformDouble) -> None:
    body = send(api, WhatsAppAdapter(config(api_base_url=api.url)), WA_TARGET, FIVE_PL)
    assert platform_rules.whatsapp(body) == []
    interactive = body["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "1–5"
    [section] = interactive["action"]["sections"]
    rows = section["rows"]
    assert [row["id"] for row in rows] == [c.payload for c in FIVE_PL]
    assert rows[1] == {
        "id": "choose:returns-damaged-items",
        "title": "Zwroty i reklamacje…",
        "description": "Zwroty i reklamacje uszkodzonych produktów",
    }
    assert "description" not in rows[0]  # "Czas dostawy" fits


def test_more_than_ten_options_keep_the_first_nine_and_the_person(api: PlatformDouble) -> None:
    body = send(api, WhatsAppAdapter(config(api_base_url=api.url)), WA_TARGET, FIFTEEN)
    assert platform_rules.whatsapp(body) == []
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert [row["id"] for row in rows] == [c.payload for c in FIFTEEN[:9]] + [HUMAN.payload]


def test_button_titles_that_collide_after_the_cut_stay_unique(api: PlatformDouble) -> None:
    body = send(api, WhatsAppAdapter(config(api_base_url=api.url)), WA_TARGET, TWINS)
    assert platform_rules.whatsapp(body) == []  # the rules refuse duplicate titles
    titles = [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]]
    assert titles[0] != titles[1] and titles[0].startswith("1. ") and titles[1].startswith("2. ")


def test_a_text_too_long_for_an_interactive_body_goes_as_numbered_text(api: PlatformDouble) -> None:
    text = "x " * 520 + numbered_text(THREE)
    body = send(api, WhatsAppAdapter(config(api_base_url=api.url)), WA_TARGET, THREE, text=text)
    assert platform_rules.whatsapp(body) == []
    assert body["type"] == "text" and body["text"]["body"] == text and "interactive" not in body


def wa_reply(interactive: dict[str, Any], message_type: str = "interactive") -> dict[str, Any]:
    message = {
        "from": "16505551234",
        "id": "wamid.tap1",
        "timestamp": "1749416400",
        "type": message_type,
        "context": {"from": "15550783881", "id": "wamid.out"},
        message_type: interactive,
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [message],
    }
    entry = {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


@pytest.mark.parametrize(
    ("interactive", "message_type", "payload", "text"),
    [
        ({"type": "button_reply", "button_reply": {"id": "choose:human", "title": "Talk to a person"}}, "interactive",
         "choose:human", "Talk to a person"),
        ({"type": "list_reply", "list_reply": {"id": "choose:order-tracking", "title": "Śledzenie przesyłki"}},
         "interactive", "choose:order-tracking", "Śledzenie przesyłki"),
        ({"text": "Shipping times", "payload": "choose:shipping-times"}, "button",
         "choose:shipping-times", "Shipping times"),
        ({"type": "button_reply", "button_reply": {"id": "yes-please", "title": "Yes"}}, "interactive", None, "Yes"),
    ],
)  # fmt: skip
def test_a_whatsapp_tap_parses_into_the_option(
    interactive: dict[str, Any], message_type: str, payload: str | None, text: str
) -> None:
    [event] = receive(WhatsAppAdapter(config()), wa_reply(interactive, message_type))
    assert_well_formed([event], "whatsapp")
    assert (event.kind, event.event_id, event.conversation_key) == (
        "message",
        "wamid.tap1",
        "106540352242922:16505551234",
    )
    assert event.message is not None and (event.message.choice_payload, event.message.text) == (payload, text)
