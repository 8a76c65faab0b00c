"""Generic Standard Webhooks adapter: the specification's test vector, signature edge cases, the documented body
schema, and signed replies against a local stand-in for the forum's API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import standardwebhooks.webhooks
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
from webhooks.adapters.generic import GenericAdapter, outbound_id

KEY = b"generic-adapter-test-key-32bytes"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def now() -> datetime:
    """The wall clock, read at each use: the standard-webhooks package checks stamps against it (±5 min), so a
    time fixed at import goes stale when the suite reaches this module minutes later."""
    return datetime.now(UTC).replace(microsecond=0)


BODY = {
    "type": "message.created",
    "timestamp": "2025-03-14T12:00:00Z",
    "data": {
        "id": "m_1",
        "conversation_id": "t_42",
        "text": "How do I reset my password?",
        "sender": {"id": "u_7", "name": "Ana"},
        "language": "pl",
        "public": True,
    },
}


def config(**overrides: Any) -> PlatformConfig:
    return enabled_config({"api_base_url": "https://forum.invalid/api", "webhook_secret": SECRET}, overrides)


def signature(msg_id: str, stamp: int, body: bytes, key: bytes = KEY) -> str:
    """`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), computed here without the package."""
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed(
    payload: dict[str, Any] | bytes,
    *,
    msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    stamp: int | None = None,
    key: bytes = KEY,
    header: str | None = None,
    received_at: datetime | None = None,
) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    received_at = received_at or now()
    stamp = int(received_at.timestamp()) if stamp is None else stamp
    return webhook_request(
        body,
        {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": header or signature(msg_id, stamp, body, key),
            "Content-Type": "application/json",
        },
        received_at=received_at,
    )


# --- verification -------------------------------------------------------------------------------------------------


def test_specification_test_vector_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Standard Webhooks / Svix published vector; the package checks its ±5 min against the wall clock, so the
    # clock is moved to the vector's moment.
    signed_at = datetime.fromtimestamp(1614265330, tz=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:
            return cls.fromtimestamp(signed_at.timestamp(), tz=tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", Frozen)
    request = webhook_request(
        b'{"test": 2432232314}',
        {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        received_at=signed_at,
    )
    GenericAdapter(config(webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).verify(request)


def test_valid_signature_passes() -> None:
    GenericAdapter(config()).verify(signed(BODY))


def test_any_of_several_signatures_may_match() -> None:
    body = json.dumps(BODY).encode()
    stamp = int(now().timestamp())
    rotated = " ".join(
        [
            signature("msg_1", stamp, body, key=b"old-key-old-key-old-key-old-key"),
            "v1a,c2lnbmVk",
            signature("msg_1", stamp, body),
        ]
    )
    GenericAdapter(config()).verify(signed(body, msg_id="msg_1", header=rotated))


def test_forged_and_tampered_are_refused() -> None:
    adapter = GenericAdapter(config())
    with pytest.raises(SignatureError):
        adapter.verify(signed(BODY, key=b"another-key-another-key-another!"))
    good = signed(BODY)
    with pytest.raises(SignatureError):
        adapter.verify(webhook_request(good.body.replace(b"reset", b"leak!"), dict(good.headers), received_at=now()))
    with pytest.raises(SignatureError):  # the id is signed too
        adapter.verify(webhook_request(good.body, {**good.headers, "webhook-id": "msg_other"}, received_at=now()))


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_stale_timestamps_are_refused(offset: int) -> None:
    with pytest.raises(SignatureError):
        GenericAdapter(config()).verify(signed(BODY, stamp=int(now().timestamp()) + offset))


def test_configured_tolerance_is_enforced_against_arrival_time() -> None:
    # Signed 2 minutes before it arrived: fine at the default 300 s, stale at a 60 s tolerance.
    arrived = now()
    request = signed(BODY, stamp=int(arrived.timestamp()) - 120, received_at=arrived)
    GenericAdapter(config()).verify(request)
    with pytest.raises(SignatureError, match="stale"):
        GenericAdapter(config(signature_tolerance_seconds=60)).verify(request)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing: str) -> None:
    good = signed(BODY)
    headers = {name: value for name, value in good.headers.items() if name != missing}
    with pytest.raises(SignatureError, match="missing"):
        GenericAdapter(config()).verify(webhook_request(good.body, headers, received_at=now()))


@pytest.mark.parametrize("header", ["garbage", "v1", "v1,not base64!!", "v2,abc"])
def test_malformed_signature_headers_are_refused_not_crashing(header: str) -> None:
    with pytest.raises(SignatureError):
        GenericAdapter(config()).verify(signed(BODY, header=header))


def test_non_utf8_body_is_refused_as_bad_input() -> None:
    # Standard Webhooks signs text: no signature can cover bytes that are not UTF-8, and on every endpoint such a
    # body is a 400.
    with pytest.raises(PayloadError, match="UTF-8"):
        GenericAdapter(config()).verify(signed(b"\xff\xfe{}"))


@pytest.mark.parametrize("secret", [None, "", "whsec_", "whsec_not*base64"])
def test_missing_or_broken_secret_refuses_everything(secret: str | None) -> None:
    with pytest.raises(SignatureError):
        GenericAdapter(config(webhook_secret=secret)).verify(signed(BODY, key=b""))


def test_generic_has_no_handshake() -> None:
    assert GenericAdapter(config()).handshake(signed(BODY)) is None


# --- parsing ------------------------------------------------------------------------------------------------------


def test_message_created_becomes_one_event() -> None:
    [event] = GenericAdapter(config()).parse(signed(BODY))
    assert (event.platform, event.event_id, event.kind, event.conversation_key) == (
        "generic",
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "message",
        "t_42",
    )
    assert event.reply_target == {"conversation_id": "t_42", "reply_to": "m_1"}
    assert event.sent_at == datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.sender_name, message.message_id, message.language) == (
        "How do I reset my password?",
        "u_7",
        "Ana",
        "m_1",
        "pl",
    )
    assert message.is_public and not message.is_echo and message.conversation_id == "t_42"


def test_redelivery_keeps_the_webhook_id() -> None:
    adapter = GenericAdapter(config())
    first = adapter.parse(signed(BODY, stamp=int(now().timestamp()) - 60))
    again = adapter.parse(signed(BODY))  # a retry: new timestamp, same webhook-id
    assert [event.event_id for event in first] == [event.event_id for event in again]


def test_optional_fields_default_safely() -> None:
    body = {
        "type": "message.created",
        "data": {"id": 5, "conversation_id": 9, "text": "hi", "sender": {"id": 3}, "language": "de"},
    }
    [event] = GenericAdapter(config()).parse(signed(body))
    assert event.message is not None
    assert (event.message.language, event.message.is_public, event.message.sender_name, event.sent_at) == (
        None,
        False,
        None,
        None,
    )
    assert event.reply_target == {"conversation_id": "9", "reply_to": "5"}


def test_own_sender_is_an_echo() -> None:
    [event] = GenericAdapter(config(own_ids=["u_7"])).parse(signed(BODY))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo


def test_other_event_types_are_acknowledged_without_a_message() -> None:
    [event] = GenericAdapter(config()).parse(
        signed({"type": "message.deleted", "data": {"id": "m_1", "conversation_id": "t_42"}})
    )
    assert (event.kind, event.message, event.conversation_key) == ("other", None, "t_42")
    assert GenericAdapter(config()).acknowledge(signed(BODY), [event]).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        b"[]",
        json.dumps({"data": {}}).encode(),
        json.dumps({"type": "message.created"}).encode(),
        json.dumps({"type": "message.created", "data": {"id": "m", "conversation_id": "t", "text": "x"}}).encode(),
        json.dumps(
            {"type": "message.created", "data": {"id": "m", "conversation_id": "t", "text": 5, "sender": {"id": "u"}}}
        ).encode(),
    ],
)
def test_malformed_bodies_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        GenericAdapter(config()).parse(signed(body))


def test_parse_needs_the_webhook_id() -> None:
    good = signed(BODY)
    headers = {name: value for name, value in good.headers.items() if name != "webhook-id"}
    with pytest.raises(PayloadError):
        GenericAdapter(config()).parse(webhook_request(good.body, headers))


# --- sending ------------------------------------------------------------------------------------------------------


def outbound(key: str = "reply-t_42-m_1") -> OutboundMessage:
    return OutboundMessage(
        platform="generic",
        reply_target={"conversation_id": "t_42", "reply_to": "m_1"},
        text="Use “Forgot password” on the sign-in page.",
        idempotency_key=key,
    )


def test_reply_is_posted_and_signed_so_the_forum_can_verify_it(api: PlatformDouble) -> None:
    api.reply(201, json={"id": "m_2"})
    moment = datetime(2025, 3, 14, 12, 0, 5, tzinfo=UTC)
    with httpx.Client(timeout=2) as client:
        result = GenericAdapter(config(api_base_url=api.url + "/api")).send(client, outbound(), now=moment)
    assert result.ok and result.status == 201 and result.platform_message_id == "m_2"
    request = api.last
    assert (request.method, request.path) == ("POST", "/api/messages")
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "conversation_id": "t_42",
        "reply_to": "m_1",
        "text": "Use “Forgot password” on the sign-in page.",
    }
    assert request.headers["webhook-id"] == "msg_reply-t_42-m_1"
    assert request.headers["webhook-timestamp"] == str(int(moment.timestamp()))
    # Verifiable with nothing but the shared secret and the bytes as received.
    assert request.headers["webhook-signature"] == signature(
        "msg_reply-t_42-m_1", int(moment.timestamp()), request.body
    )


def test_our_own_verify_accepts_what_we_send(api: PlatformDouble) -> None:
    with httpx.Client(timeout=2) as client:
        GenericAdapter(config(api_base_url=api.url)).send(client, outbound())
    sent = api.last
    GenericAdapter(config()).verify(webhook_request(sent.body, sent.headers))


def test_webhook_id_is_stable_and_free_of_dots() -> None:
    assert outbound_id("reply-t_42-m_1") == "msg_reply-t_42-m_1"
    hashed = outbound_id("conversation.42/answer:1")
    assert hashed == outbound_id("conversation.42/answer:1") and "." not in hashed and hashed.startswith("msg_")


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (400, False), (404, False)])
def test_http_errors(api: PlatformDouble, status: int, retryable: bool) -> None:
    api.reply(status, body="no", headers={"Retry-After": "3"} if status == 429 else None)
    with httpx.Client(timeout=2) as client:
        result = GenericAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert (result.ok, result.retryable, result.status) == (False, retryable, status)
    assert result.retry_after == (3.0 if status == 429 else None)


def test_answer_slower_than_the_client_timeout_is_outcome_unknown(api: PlatformDouble) -> None:
    api.reply(200, json={}, delay=0.5)
    with httpx.Client(timeout=0.1) as client:
        result = GenericAdapter(config(api_base_url=api.url)).send(client, outbound())
    assert result.outcome_unknown and not result.retryable


def test_connection_refused_is_retryable() -> None:
    with httpx.Client(timeout=1) as client:
        result = GenericAdapter(config(api_base_url=closed_url())).send(client, outbound())
    assert result.retryable and not result.outcome_unknown


@pytest.mark.parametrize("overrides", [{"api_base_url": ""}, {"webhook_secret": None}])
def test_send_is_not_attempted_without_url_or_secret(overrides: dict[str, Any]) -> None:
    with httpx.Client(timeout=1) as client:
        result = GenericAdapter(config(**overrides)).send(client, outbound())
    assert not result.ok and not result.retryable


def test_non_utc_clock_still_signs_the_right_unix_time(api: PlatformDouble) -> None:
    warsaw = datetime(2025, 3, 14, 13, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    with httpx.Client(timeout=2) as client:
        GenericAdapter(config(api_base_url=api.url)).send(client, outbound(), now=warsaw)
    stamp = int(datetime(2025, 3, 14, 12, 0, 5, tzinfo=UTC).timestamp())
    assert api.last.headers["webhook-timestamp"] == str(stamp)
    assert api.last.headers["webhook-signature"] == signature("msg_reply-t_42-m_1", stamp, api.last.body)


# --- property: any signed body parses into well-formed events or is a PayloadError ---------------------------------

KEYS = frozenset({"id", "conversation_id", "text", "sender", "name", "language", "public"})
DATA = st.fixed_dictionaries(
    {
        "id": loose("m_1", 5),
        "conversation_id": loose("t_42", 9),
        "text": loose("hi", ""),
        "sender": st.fixed_dictionaries({"id": loose("u_7", 3)}, optional={"name": loose("Ana")}),
    },
    optional={"language": loose("pl", "de", "zh-hans"), "public": loose(True, False)},
)
SHAPED = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["message.created", "message.deleted"]) | st.text(max_size=5),
        "data": DATA | json_values(KEYS),
    },
    optional={"timestamp": loose("2025-03-14T12:00:00Z", "not a date")},
)


@given(json_values(KEYS) | SHAPED)
@FUZZ_SETTINGS
def test_any_signed_body_parses_or_is_a_payload_error(value: Any) -> None:
    assert_parses_or_refuses(GenericAdapter(config()), signed(json.dumps(value).encode()))
