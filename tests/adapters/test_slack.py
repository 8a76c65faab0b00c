"""Slack adapter: signatures (Slack's own worked example included), url_verification, event parsing, retries and
chat.postMessage against a local stand-in for the Web API."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
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
from webhooks.adapters.slack import SlackAdapter

SECRET = "slack-signing-secret-for-tests"
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)

# From https://api.slack.com/events/url_verification
URL_VERIFICATION = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}
# Shaped after https://docs.slack.dev/reference/events/message (event wrapper + message event)
MESSAGE = {
    "token": "XXYYZZ",
    "team_id": "T123ABC456",
    "api_app_id": "A123ABC456",
    "event": {
        "type": "message",
        "channel": "C123ABC456",
        "user": "U123ABC456",
        "text": "How do I reset my password?",
        "ts": "1355517523.000005",
        "channel_type": "channel",
    },
    "type": "event_callback",
    "event_id": "Ev123ABC456",
    "event_time": 1355517523,
    "authorizations": [
        {"team_id": "T123ABC456", "user_id": "UBOT00001", "is_bot": True, "is_enterprise_install": False}
    ],
}
# After https://api.slack.com/events/app_mention
APP_MENTION = {
    **MESSAGE,
    "event_id": "Ev0LAN670R",
    "event": {
        "type": "app_mention",
        "user": "U061F7AUR",
        "text": "<@UBOT00001> is it everything a river should be?",
        "ts": "1515449522.000016",
        "channel": "C123ABC456",
        "event_ts": "1515449522000016",
    },
}


def config(**overrides: Any) -> PlatformConfig:
    return enabled_config(
        {
            "api_base_url": "https://slack.invalid/api",
            "signing_secret": SECRET,
            "bot_token": "xoxb-test-token",
        },
        overrides,
    )


def signed(
    payload: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    received_at: datetime = NOW,
    extra: dict[str, str] | None = None,
) -> WebhookRequest:
    """A request signed the way Slack documents it, computed here independently of the adapter."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(received_at.timestamp()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
        **(extra or {}),
    }
    return webhook_request(body, headers, received_at=received_at)


# --- verification -------------------------------------------------------------------------------------------------


def test_slack_documented_example_verifies() -> None:
    # The worked example of https://api.slack.com/authentication/verifying-requests-from-slack
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXa"
        "IFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    request = webhook_request(
        body,
        {
            "X-Slack-Request-Timestamp": "1531420618",
            "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        },
        received_at=datetime.fromtimestamp(1531420618 + 60, tz=UTC),
    )
    SlackAdapter(config(signing_secret="8f742231b10e8888abcd99yyyzzz85a5")).verify(request)


def test_valid_signature_passes() -> None:
    SlackAdapter(config()).verify(signed(MESSAGE))


def test_forged_signature_and_tampered_body_are_refused() -> None:
    adapter = SlackAdapter(config())
    with pytest.raises(SignatureError):
        adapter.verify(signed(MESSAGE, secret="someone-else"))
    good = signed(MESSAGE)
    tampered = webhook_request(good.body.replace(b"reset", b"steal"), dict(good.headers), received_at=NOW)
    with pytest.raises(SignatureError):
        adapter.verify(tampered)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_timestamps_are_refused(offset: int) -> None:
    request = signed(MESSAGE, timestamp=int(NOW.timestamp()) + offset)
    with pytest.raises(SignatureError, match="stale"):
        SlackAdapter(config()).verify(request)


def test_timestamp_inside_tolerance_passes() -> None:
    SlackAdapter(config()).verify(signed(MESSAGE, timestamp=int(NOW.timestamp()) - 299))


@pytest.mark.parametrize("missing", ["x-slack-signature", "x-slack-request-timestamp"])
def test_missing_headers_are_refused(missing: str) -> None:
    good = signed(MESSAGE)
    headers = {name: value for name, value in good.headers.items() if name != missing}
    with pytest.raises(SignatureError, match="missing"):
        SlackAdapter(config()).verify(webhook_request(good.body, headers, received_at=NOW))


def test_malformed_timestamp_is_refused() -> None:
    good = signed(MESSAGE)
    headers = {**good.headers, "x-slack-request-timestamp": "yesterday"}
    with pytest.raises(SignatureError, match="malformed"):
        SlackAdapter(config()).verify(webhook_request(good.body, headers, received_at=NOW))


@pytest.mark.parametrize("secret", [None, ""])
def test_unconfigured_secret_refuses_everything(secret: str | None) -> None:
    # Even a request "signed" with the empty key must not pass when no secret is configured.
    with pytest.raises(SignatureError, match="not configured"):
        SlackAdapter(config(signing_secret=secret)).verify(signed(MESSAGE, secret=""))


# --- handshake ----------------------------------------------------------------------------------------------------


def test_url_verification_answers_the_challenge_in_plain_text() -> None:
    response = SlackAdapter(config()).handshake(signed(URL_VERIFICATION))
    assert response is not None
    assert (response.status, response.body, response.content_type) == (
        200,
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "text/plain",
    )


def test_url_verification_is_not_answered_without_a_valid_signature() -> None:
    # Safe even if a view asked for the handshake before verifying.
    with pytest.raises(SignatureError):
        SlackAdapter(config()).handshake(signed(URL_VERIFICATION, secret="forged"))
    with pytest.raises(SignatureError):
        SlackAdapter(config(signing_secret=None)).handshake(signed(URL_VERIFICATION))


def test_handshake_is_none_for_events_and_malformed_bodies() -> None:
    adapter = SlackAdapter(config())
    assert adapter.handshake(signed(MESSAGE)) is None
    assert adapter.handshake(signed(b"{not json")) is None
    assert adapter.handshake(webhook_request(b"", method="GET")) is None
    assert adapter.parse(signed(URL_VERIFICATION)) == []


# --- parsing ------------------------------------------------------------------------------------------------------


def test_channel_message_becomes_one_event() -> None:
    [event] = SlackAdapter(config()).parse(signed(MESSAGE))
    assert event.platform == "slack"
    assert event.event_id == "msg:T123ABC456:C123ABC456:1355517523.000005"
    assert event.kind == "message"
    assert event.conversation_key == "T123ABC456:C123ABC456:1355517523.000005"
    assert event.reply_target == {"channel": "C123ABC456", "thread_ts": "1355517523.000005"}
    assert event.sent_at == datetime.fromtimestamp(1355517523.000005, tz=UTC)
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.message_id) == (
        "How do I reset my password?",
        "U123ABC456",
        "1355517523.000005",
    )
    assert message.platform == "slack" and message.is_public and not message.is_echo


def test_thread_reply_keeps_the_thread() -> None:
    payload = json.loads(json.dumps(MESSAGE))
    payload["event"].update(ts="1355517600.000100", thread_ts="1355517523.000005")
    [event] = SlackAdapter(config()).parse(signed(payload))
    assert event.conversation_key == "T123ABC456:C123ABC456:1355517523.000005"
    assert event.reply_target["thread_ts"] == "1355517523.000005"


def test_direct_message_is_not_public() -> None:
    payload = json.loads(json.dumps(MESSAGE))
    payload["event"].update(channel="D024BE91L", channel_type="im")
    [event] = SlackAdapter(config()).parse(signed(payload))
    assert event.message is not None and not event.message.is_public


def test_app_mention_strips_the_bot_mention() -> None:
    [event] = SlackAdapter(config()).parse(signed(APP_MENTION))
    assert event.kind == "message" and event.event_id == "msg:T123ABC456:C123ABC456:1515449522.000016"
    assert event.message is not None
    assert event.message.text == "is it everything a river should be?"
    assert event.message.sender_id == "U061F7AUR"


def test_a_mention_delivered_as_message_and_app_mention_is_one_event() -> None:
    as_mention = json.loads(json.dumps(APP_MENTION))
    as_message = json.loads(json.dumps(MESSAGE))
    as_message["event"].update(ts=as_mention["event"]["ts"], text=as_mention["event"]["text"], user="U061F7AUR")
    adapter = SlackAdapter(config())
    [mention] = adapter.parse(signed(as_mention))
    [message] = adapter.parse(signed(as_message))
    assert as_mention["event_id"] != as_message["event_id"]
    assert mention.event_id == message.event_id
    assert mention.conversation_key == message.conversation_key


def test_retry_parses_to_the_same_event_id_and_is_acknowledged_at_once() -> None:
    adapter = SlackAdapter(config())
    first = adapter.parse(signed(MESSAGE))
    retry_request = signed(MESSAGE, extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    adapter.verify(retry_request)
    retry = adapter.parse(retry_request)
    assert [event.event_id for event in retry] == [event.event_id for event in first]
    assert first[0].event_id == "msg:T123ABC456:C123ABC456:1355517523.000005"
    ack = adapter.acknowledge(retry_request, retry)
    assert (ack.status, ack.body) == (200, "")


def test_our_own_bot_message_is_an_echo() -> None:
    # Shaped after a real bot message: bot_id, app_id equal to the envelope's api_app_id, bot user in authorizations.
    payload = json.loads(json.dumps(MESSAGE))
    payload["event"] = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B0439P161B9",
        "app_id": "A123ABC456",
        "user": "UBOT00001",
        "text": "Here is how to reset it",
        "ts": "1355517600.000001",
        "channel": "C123ABC456",
        "channel_type": "channel",
    }
    [event] = SlackAdapter(config()).parse(signed(payload))
    assert event.kind == "echo"
    assert event.message is not None and event.message.is_echo


def test_own_ids_from_config_mark_echoes() -> None:
    payload = json.loads(json.dumps(MESSAGE))
    payload["authorizations"] = []
    [event] = SlackAdapter(config(own_ids=["U123ABC456"])).parse(signed(payload))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo


def test_another_bot_is_never_answered() -> None:
    payload = json.loads(json.dumps(MESSAGE))
    payload["event"].update(subtype="bot_message", bot_id="B0OTHERBOT", app_id="A0OTHERAPP")
    [event] = SlackAdapter(config()).parse(signed(payload))
    assert event.kind == "other"
    assert event.message is not None and not event.message.is_echo


def test_edited_message_is_other_and_keeps_the_thread_of_the_edited_message() -> None:
    payload = json.loads(json.dumps(MESSAGE))
    payload["event"] = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": "C123ABC456",
        "ts": "1355517700.000001",
        "event_ts": "1355517700.000001",
        "channel_type": "channel",
        "message": {"type": "message", "user": "U123ABC456", "text": "edited text", "ts": "1355517523.000005"},
        "previous_message": {"type": "message", "user": "U123ABC456", "text": "old", "ts": "1355517523.000005"},
    }
    [event] = SlackAdapter(config()).parse(signed(payload))
    assert event.kind == "other"
    assert event.conversation_key == "T123ABC456:C123ABC456:1355517523.000005"
    assert event.message is not None and event.message.text == "edited text"


def test_other_event_types_are_acknowledged_without_a_message() -> None:
    payload = json.loads(json.dumps(MESSAGE))
    payload["event"] = {
        "type": "reaction_added",
        "user": "U123ABC456",
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": "C123ABC456", "ts": "1355517523.000005"},
        "event_ts": "1360782804.083113",
    }
    [event] = SlackAdapter(config()).parse(signed(payload))
    assert event.kind == "other" and event.message is None


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b"\xff\xfe",
        json.dumps({"type": "mystery"}).encode(),
        json.dumps({"type": "event_callback", "event_id": "Ev1"}).encode(),
        json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode(),
    ],
)
def test_malformed_or_unknown_bodies_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        SlackAdapter(config()).parse(signed(body))


# --- sending ------------------------------------------------------------------------------------------------------


def outbound(**target: str) -> OutboundMessage:
    return OutboundMessage(
        platform="slack",
        reply_target=target or {"channel": "C123ABC456", "thread_ts": "1355517523.000005"},
        text="Open Settings → Security → Reset password.",
        idempotency_key="k1",
    )


def test_send_posts_chat_postmessage_in_the_thread(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": True, "channel": "C123ABC456", "ts": "1503435956.000247"})
    with httpx.Client(timeout=2) as client:
        result = SlackAdapter(config(api_base_url=api.url + "/api")).send(client, outbound())
    assert result.ok and result.status == 200 and result.platform_message_id == "1503435956.000247"
    request = api.last
    assert (request.method, request.path) == ("POST", "/api/chat.postMessage")
    assert request.headers["authorization"] == "Bearer xoxb-test-token"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json() == {
        "channel": "C123ABC456",
        "text": "Open Settings → Security → Reset password.",
        "thread_ts": "1355517523.000005",
    }


def test_send_without_thread_omits_thread_ts(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": True, "ts": "1.2"})
    with httpx.Client(timeout=2) as client:
        SlackAdapter(config(api_base_url=api.url)).send(client, outbound(channel="D024BE91L"))
    assert api.last.json() == {"channel": "D024BE91L", "text": "Open Settings → Security → Reset password."}


def test_http_429_with_retry_after_is_retryable(api: PlatformDouble) -> None:
    api.reply(429, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"})
    with httpx.Client(timeout=2) as client:
        result = SlackAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.retry_after, result.status) == (False, True, 30.0, 429)


def test_ok_false_ratelimited_with_http_200_is_retryable(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "7"})
    with httpx.Client(timeout=2) as client:
        result = SlackAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.retry_after, result.error) == (False, True, 7.0, "ratelimited")


def test_ok_false_other_errors_are_final(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": False, "error": "channel_not_found"})
    with httpx.Client(timeout=2) as client:
        result = SlackAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.error) == (False, False, "channel_not_found")


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False), (403, False)])
def test_http_errors(api: PlatformDouble, status: int, retryable: bool) -> None:
    api.reply(status, body="oops")
    with httpx.Client(timeout=2) as client:
        result = SlackAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.status, result.outcome_unknown) == (False, retryable, status, False)


def test_answer_slower_than_the_client_timeout_is_outcome_unknown(api: PlatformDouble) -> None:
    api.reply(200, json={"ok": True, "ts": "1.2"}, delay=0.5)
    with httpx.Client(timeout=0.1) as client:
        result = SlackAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert result.outcome_unknown and not result.retryable and not result.ok
    assert len(api.requests) == 1  # it did leave: that is why a blind resend would risk a duplicate


def test_connection_refused_is_retryable() -> None:
    with httpx.Client(timeout=1) as client:
        result = SlackAdapter(config(api_base_url=closed_url())).send(client, outbound())
    assert result.retryable and not result.outcome_unknown


def test_send_without_token_is_not_attempted(api: PlatformDouble) -> None:
    with httpx.Client(timeout=2) as client:
        result = SlackAdapter(config(api_base_url=api.url, bot_token=None)).send(client, outbound())
    assert not result.ok and not result.retryable and api.requests == []


def test_received_at_may_be_naive_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    request = signed(MESSAGE)
    SlackAdapter(config()).verify(webhook_request(request.body, dict(request.headers), received_at=naive))
    late = naive + timedelta(minutes=6)
    with pytest.raises(SignatureError):
        SlackAdapter(config()).verify(webhook_request(request.body, dict(request.headers), received_at=late))


# --- property: any signed body parses into well-formed events or is a PayloadError ---------------------------------

KEYS = frozenset(
    {
        "type",
        "subtype",
        "user",
        "bot_id",
        "app_id",
        "text",
        "ts",
        "thread_ts",
        "channel",
        "channel_type",
        "message",
        "team",
        "event_ts",
        "is_bot",
        "user_id",
    }
)
EVENT = st.fixed_dictionaries(
    {"type": loose("message", "app_mention", "reaction_added")},
    optional={
        "subtype": loose(None, "bot_message", "message_changed", "thread_broadcast", "channel_join"),
        "user": loose("U1", "UBOT00001"),
        "bot_id": loose("B1"),
        "app_id": loose("A123ABC456"),
        "text": loose("hi <@UBOT00001> there", "<@U2|ana> ok"),
        "ts": loose("1355517523.000005"),
        "thread_ts": loose("1355517500.000001"),
        "channel": loose("C1", "D1"),
        "channel_type": loose("im", "channel"),
        "team": loose("T1"),
        "message": json_values(KEYS),
    },
)
SHAPED = st.fixed_dictionaries(
    {
        "type": st.just("event_callback"),
        "event_id": st.text(min_size=1, max_size=8),
        "team_id": loose("T123ABC456"),
        "api_app_id": loose("A123ABC456"),
        "authorizations": loose([{"user_id": "UBOT00001", "is_bot": True}]),
        "event": EVENT,
    }
)


@given(json_values(KEYS) | SHAPED)
@FUZZ_SETTINGS
def test_any_signed_body_parses_or_is_a_payload_error(value: Any) -> None:
    assert_parses_or_refuses(SlackAdapter(config()), signed(json.dumps(value).encode()))
