"""Slack choices: a clarification goes out as Block Kit (the text in a section, one button per option) that Slack
accepts, and a click comes back as a signed, form-encoded block_actions payload that parses into the option."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from assistant.domain.channels import OutboundMessage
from tests.adapters import platform_rules
from tests.adapters.choice_samples import THREE, numbered_text
from tests.adapters.platform_double import PlatformDouble, api_fixture, assert_well_formed  # noqa: F401
from tests.adapters.test_slack import NOW, config, signed
from webhooks.adapters.base import PayloadError, SignatureError, WebhookRequest
from webhooks.adapters.slack import SlackAdapter

FORM = "application/x-www-form-urlencoded"


def send(api: PlatformDouble, text: str | None = None, choices: tuple[Any, ...] = THREE) -> dict[str, Any]:
    api.reply(200, json={"ok": True, "channel": "C123ABC456", "ts": "1503435956.000247"})
    message = OutboundMessage(
        platform="slack",
        reply_target={"channel": "C123ABC456", "thread_ts": "1355517523.000005"},
        text=text if text is not None else numbered_text(choices),
        idempotency_key="k1",
        choices=choices,
    )
    with httpx.Client(timeout=2) as client:
        assert SlackAdapter(config(api_base_url=api.url)).send(client, message).ok
    assert api.last.path == "/chat.postMessage"
    body: dict[str, Any] = api.last.json()
    return body


def click(element: dict[str, Any], channel: str = "C123ABC456", user: str = "U061F7AUR") -> dict[str, Any]:
    """The block_actions payload Slack posts when `element` of our message is clicked (shaped after the reference)."""
    return {
        "type": "block_actions",
        "team": {"id": "T9TK3CUKW", "domain": "example"},
        "user": {"id": user, "username": "ania", "name": "ania", "team_id": "T9TK3CUKW"},
        "api_app_id": "A0KRD7HC3",
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": "1503435956.000247",
            "channel_id": channel,
            "is_ephemeral": False,
            "thread_ts": "1355517523.000005",
        },
        "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
        "channel": {"id": channel, "name": "support"},
        "message": {
            "type": "message",
            "user": "U0BOT",
            "ts": "1503435956.000247",
            "thread_ts": "1355517523.000005",
            "text": numbered_text(THREE),
        },
        "response_url": "https://hooks.slack.com/actions/T9TK3CUKW/1/abc",
        "actions": [{**element, "block_id": "ca_choices", "action_ts": "1503435960.563211"}],
    }


def form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_form(payload: dict[str, Any] | bytes, **kwargs: Any) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else form(payload)
    return signed(body, extra={"Content-Type": FORM}, **kwargs)


def test_a_clarification_goes_out_as_a_section_and_buttons_slack_accepts(api: PlatformDouble) -> None:
    body = send(api)
    assert platform_rules.slack(body) == []
    assert body["text"] == numbered_text(THREE) and body["thread_ts"] == "1355517523.000005"  # the notification
    section, actions = body["blocks"]
    assert section["text"]["text"] == numbered_text(THREE)
    assert [(e["text"]["text"], e["value"]) for e in actions["elements"]] == [(c.label, c.payload) for c in THREE]


def test_a_text_longer_than_a_section_goes_without_buttons(api: PlatformDouble) -> None:
    text = "x" * 3001
    body = send(api, text=text)
    assert "blocks" not in body and body["text"] == text and platform_rules.slack(body) == []


def test_a_click_on_a_sent_button_parses_into_the_option(api: PlatformDouble) -> None:
    element = send(api)["blocks"][1]["elements"][1]  # exactly what Slack shows, and sends back when clicked
    adapter = SlackAdapter(config())
    request = signed_form(click(element))
    adapter.verify(request)  # the v0 signature over the raw form body, as for events
    assert adapter.handshake(request) is None
    [event] = adapter.parse(request)
    assert_well_formed([event], "slack")
    assert event.kind == "message" and event.conversation_key == "T9TK3CUKW:C123ABC456:1355517523.000005"
    assert event.reply_target == {"channel": "C123ABC456", "thread_ts": "1355517523.000005"}
    assert event.message is not None
    assert (event.message.choice_payload, event.message.text) == (THREE[1].payload, THREE[1].label)
    assert (event.message.sender_id, event.message.is_public) == ("U061F7AUR", True)
    assert adapter.acknowledge(request, [event]).status == 200
    [again] = adapter.parse(signed_form(click(element)))
    assert again.event_id == event.event_id  # a second delivery of the same click dedupes


def test_a_click_in_a_direct_message_is_private() -> None:
    element = {"type": "button", "action_id": "ca_choice_1", "text": {"type": "plain_text", "text": "Shipping times"}}
    [event] = SlackAdapter(config()).parse(signed_form(click({**element, "value": THREE[0].payload}, "D024BE91L")))
    assert event.message is not None and not event.message.is_public


def test_an_unsigned_or_forged_click_is_refused() -> None:
    element = {"type": "button", "action_id": "ca_choice_1", "value": THREE[0].payload}
    with pytest.raises(SignatureError):
        SlackAdapter(config()).verify(signed_form(click(element), secret="not-our-secret"))
    stale = signed_form(click(element), timestamp=int(NOW.timestamp()) - 600)
    with pytest.raises(SignatureError):
        SlackAdapter(config()).verify(stale)


def test_other_buttons_and_interactions_are_acknowledged_only() -> None:
    adapter = SlackAdapter(config())
    theirs = {"type": "button", "action_id": "approve", "value": "approve_123", "text": {"text": "Approve"}}
    [event] = adapter.parse(signed_form(click(theirs)))
    assert event.kind == "other" and event.message is None
    assert adapter.parse(signed_form({"type": "view_submission", "team": {"id": "T1"}, "view": {}})) == []


@pytest.mark.parametrize(
    "body", [b"payload=%7Bnot-json", b"nothing=here", b"payload=%5B%5D", b"\xff\xfe", form({"type": "block_actions"})]
)
def test_malformed_interactivity_bodies_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        SlackAdapter(config()).parse(signed_form(body))
