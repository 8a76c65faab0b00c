"""X adapter: the CRC, `x-twitter-webhooks-signature`, Account Activity payloads, and DM / reply posts against a
local stand-in for the v2 API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
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
from webhooks.adapters.x import XAdapter

SECRET = "x-consumer-secret-for-tests"
US = "4337869213"
# Shaped after the direct_message_events example of the Account Activity data objects page
# (https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/account-activity-data-objects).
DM = {
    "for_user_id": US,
    "direct_message_events": [
        {
            "type": "message_create",
            "id": "954491830116155396",
            "created_timestamp": "1521585378996",
            "message_create": {
                "target": {"recipient_id": US},
                "sender_id": "3001969357",
                "message_data": {
                    "text": "Hello! Where is my order?",
                    "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                },
            },
        }
    ],
    "users": {
        "3001969357": {"id": "3001969357", "name": "Jordan Brinks", "screen_name": "furiouscamper"},
        US: {"id": US, "name": "Northpine Support", "screen_name": "northpine"},
    },
}
# A tweet_create_events (@mention) delivery: `for_user_id`, `user_has_blocked`, a v1.1 Tweet object.
MENTION = {
    "for_user_id": US,
    "user_has_blocked": "false",
    "tweet_create_events": [
        {
            "created_at": "Wed Oct 10 20:19:24 +0000 2018",
            "id": 1050118621198921728,
            "id_str": "1050118621198921728",
            "text": "@northpine how do I change my delivery address?",
            "in_reply_to_status_id_str": None,
            "in_reply_to_user_id_str": US,
            "user": {"id": 6253282, "id_str": "6253282", "name": "Ana", "screen_name": "ana"},
            "timestamp_ms": "1539202764000",
            "lang": "en",
        }
    ],
}


def config(**overrides: Any) -> PlatformConfig:
    return enabled_config(
        {
            "api_base_url": "https://x.invalid/2",
            "consumer_secret": SECRET,
            "access_token": "user-access-token",
        },
        overrides,
    )


def x_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed(payload: dict[str, Any] | bytes, secret: str = SECRET) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return webhook_request(
        body, {"x-twitter-webhooks-signature": x_signature(body, secret), "Content-Type": "application/json"}
    )


def crc(token: str) -> WebhookRequest:
    return webhook_request(b"", method="GET", query={"crc_token": token})


# --- CRC ----------------------------------------------------------------------------------------------------------


def test_crc_answers_the_response_token() -> None:
    # The example secret and token of X's developer-relations CRC sample (gist jcipriano/46c4b3f3…); the docs show
    # a response_token without its inputs, so the expected value is computed here the documented way.
    secret, token = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu", "9b4507b3-9040-4669-9ca3-6b94edb50553"
    expected = "sha256=" + base64.b64encode(hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()).decode()
    response = XAdapter(config(consumer_secret=secret)).handshake(crc(token))
    assert response is not None
    assert (response.status, response.content_type) == (200, "application/json")
    assert json.loads(response.body) == {"response_token": expected}
    assert expected == "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="


def test_crc_refuses_tokens_that_could_be_event_bodies() -> None:
    # The CRC answer is the POST signature of a body equal to the token: never sign JSON for a stranger.
    body = json.dumps(MENTION)
    with pytest.raises(PayloadError):
        XAdapter(config()).handshake(crc(body))
    with pytest.raises(PayloadError):
        XAdapter(config()).handshake(crc("x" * 513))


def test_crc_without_consumer_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        XAdapter(config(consumer_secret=None)).handshake(crc("abc"))


def test_no_handshake_without_crc_token_or_for_posts() -> None:
    adapter = XAdapter(config())
    assert adapter.handshake(webhook_request(b"", method="GET")) is None
    assert adapter.handshake(webhook_request(b"{}", method="POST", query={"crc_token": "abc"})) is None


# --- verification -------------------------------------------------------------------------------------------------


def test_valid_signature_passes() -> None:
    XAdapter(config()).verify(signed(DM))


def test_forged_and_tampered_are_refused() -> None:
    adapter = XAdapter(config())
    with pytest.raises(SignatureError):
        adapter.verify(signed(DM, secret="other-secret"))
    good = signed(DM)
    with pytest.raises(SignatureError):
        adapter.verify(webhook_request(good.body.replace(b"order", b"money"), dict(good.headers)))


def test_missing_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match="missing"):
        XAdapter(config()).verify(webhook_request(json.dumps(DM).encode(), {}))


@pytest.mark.parametrize("secret", [None, ""])
def test_unconfigured_secret_refuses_everything(secret: str | None) -> None:
    with pytest.raises(SignatureError, match="not configured"):
        XAdapter(config(consumer_secret=secret)).verify(signed(DM, secret=""))


# --- parsing ------------------------------------------------------------------------------------------------------


def test_direct_message_becomes_a_private_message_event() -> None:
    [event] = XAdapter(config()).parse(signed(DM))
    assert (event.platform, event.event_id, event.kind) == ("x", "954491830116155396", "message")
    assert event.conversation_key == "3001969357-4337869213"
    assert event.reply_target == {"participant_id": "3001969357"}
    assert event.sent_at is not None and int(event.sent_at.timestamp()) == 1521585378
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.sender_name, message.is_public, message.is_echo) == (
        "Hello! Where is my order?",
        "3001969357",
        "Jordan Brinks",
        False,
        False,
    )


def test_direct_message_we_sent_is_an_echo() -> None:
    payload = json.loads(json.dumps(DM))
    create = payload["direct_message_events"][0]["message_create"]
    create["sender_id"], create["target"]["recipient_id"] = US, "3001969357"
    [event] = XAdapter(config()).parse(signed(payload))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo
    assert event.conversation_key == "3001969357-4337869213"
    assert event.reply_target == {"participant_id": "3001969357"}


def test_mention_becomes_a_public_message_answered_in_public() -> None:
    [event] = XAdapter(config()).parse(signed(MENTION))
    assert (event.event_id, event.kind, event.conversation_key) == ("1050118621198921728", "message", "tweet:6253282")
    assert event.reply_target == {"in_reply_to_tweet_id": "1050118621198921728", "author_id": "6253282"}
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.sender_name, message.is_public) == (
        "@northpine how do I change my delivery address?",
        "6253282",
        "Ana",
        True,
    )


def test_extended_tweet_full_text_is_used() -> None:
    payload = json.loads(json.dumps(MENTION))
    tweet = payload["tweet_create_events"][0]
    tweet.update(
        truncated=True,
        text="@northpine a long question that was cut…",
        extended_tweet={"full_text": "@northpine a long question that was cut off at 140 characters"},
    )
    [event] = XAdapter(config()).parse(signed(payload))
    assert event.message is not None and event.message.text.endswith("140 characters")


def test_our_own_tweets_and_retweets_are_not_answered() -> None:
    payload = json.loads(json.dumps(MENTION))
    own = json.loads(json.dumps(payload["tweet_create_events"][0]))
    own.update(id_str="1050118621198921729", user={"id_str": US, "name": "Northpine Support"})
    retweet = json.loads(json.dumps(payload["tweet_create_events"][0]))
    retweet.update(id_str="1050118621198921730", retweeted_status={"id_str": "1"})
    payload["tweet_create_events"] += [own, retweet]
    events = XAdapter(config()).parse(signed(payload))
    assert [(event.event_id, event.kind) for event in events] == [
        ("1050118621198921728", "message"),
        ("1050118621198921729", "echo"),
        ("1050118621198921730", "other"),
    ]
    assert events[1].message is not None and events[1].message.is_echo


def test_every_event_of_a_delivery_is_returned() -> None:
    payload = {
        **DM,
        **{key: value for key, value in MENTION.items() if key != "for_user_id"},
        "favorite_events": [
            {
                "id": "a7ba59eab0bfcba386f7acedac279542",
                "created_at": "Mon Mar 26 16:33:26",
                "timestamp_ms": 1522082006140,
                "favorited_status": {},
                "user": {},
            }
        ],
        "direct_message_mark_read_events": [
            {
                "created_timestamp": "1518452444662",
                "sender_id": "3001969357",
                "target": {"recipient_id": US},
                "last_read_event_id": "1",
            }
        ],
    }
    events = XAdapter(config()).parse(signed(payload))
    assert [event.kind for event in events] == ["message", "message", "other", "read"]
    assert events[2].event_id == "favorite_events:a7ba59eab0bfcba386f7acedac279542"
    assert events[3].event_id.startswith("direct_message_mark_read_events:")


def test_replayed_delivery_parses_to_the_same_event_ids() -> None:
    adapter = XAdapter(config())
    payload = {
        **DM,
        "direct_message_indicate_typing_events": [
            {"created_timestamp": "1518127183443", "sender_id": "3001969357", "target": {"recipient_id": US}}
        ],
    }
    first = [event.event_id for event in adapter.parse(signed(payload))]
    assert first == [event.event_id for event in adapter.parse(signed(payload))]
    assert len(set(first)) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        b"[]",
        json.dumps({"direct_message_events": []}).encode(),
        json.dumps({"for_user_id": US}).encode(),
        json.dumps({"for_user_id": US, "tweet_create_events": {"id_str": "1"}}).encode(),
        json.dumps({"for_user_id": US, "direct_message_events": [{"type": "message_create", "id": "1"}]}).encode(),
        json.dumps({"for_user_id": US, "tweet_create_events": [{"text": "no ids"}]}).encode(),
    ],
)
def test_malformed_payloads_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        XAdapter(config()).parse(signed(body))


# --- sending ------------------------------------------------------------------------------------------------------


def outbound(target: dict[str, str], mode: str = "reply") -> OutboundMessage:
    return OutboundMessage(
        platform="x", reply_target=target, text="It ships tomorrow.", idempotency_key="k1", mode=mode
    )


def test_dm_reply_goes_to_the_participant(api: PlatformDouble) -> None:
    api.reply(201, json={"data": {"dm_conversation_id": "3001969357-4337869213", "dm_event_id": "1582838223563"}})
    with httpx.Client(timeout=2) as client:
        result = XAdapter(config(api_base_url=api.url + "/2")).send(client, outbound({"participant_id": "3001969357"}))
    assert result.ok and result.status == 201 and result.platform_message_id == "1582838223563"
    request = api.last
    assert (request.method, request.path) == ("POST", "/2/dm_conversations/with/3001969357/messages")
    assert request.headers["authorization"] == "Bearer user-access-token"
    assert request.json() == {"text": "It ships tomorrow."}


def test_public_reply_posts_a_reply_tweet(api: PlatformDouble) -> None:
    api.reply(201, json={"data": {"id": "1445880548472328192", "text": "It ships tomorrow."}})
    with httpx.Client(timeout=2) as client:
        result = XAdapter(config(api_base_url=api.url + "/2")).send(
            client, outbound({"in_reply_to_tweet_id": "1050118621198921728", "author_id": "6253282"})
        )
    assert result.ok and result.platform_message_id == "1445880548472328192"
    assert (api.last.method, api.last.path) == ("POST", "/2/tweets")
    assert api.last.json() == {"text": "It ships tomorrow.", "reply": {"in_reply_to_tweet_id": "1050118621198921728"}}


def test_private_reply_to_a_mention_is_a_dm(api: PlatformDouble) -> None:
    api.reply(201, json={"data": {"dm_event_id": "9"}})
    with httpx.Client(timeout=2) as client:
        XAdapter(config(api_base_url=api.url)).send(
            client,
            outbound({"in_reply_to_tweet_id": "1050118621198921728", "author_id": "6253282"}, mode="private_reply"),
        )
    assert api.last.path == "/dm_conversations/with/6253282/messages"


def test_429_waits_until_the_rate_limit_reset(api: PlatformDouble) -> None:
    reset = int(time.time()) + 900
    api.reply(
        429,
        json={"title": "Too Many Requests", "status": 429},
        headers={"x-rate-limit-limit": "200", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    with httpx.Client(timeout=2) as client:
        result = XAdapter(config(api_base_url=api.url)).send(client, outbound({"participant_id": "3001969357"}))
    assert result.retryable and not result.ok and result.status == 429
    assert result.retry_after is not None and 890 <= result.retry_after <= 900


def test_429_on_the_24_hour_cap_waits_for_that_reset(api: PlatformDouble) -> None:
    soon, tomorrow = int(time.time()) + 60, int(time.time()) + 80000
    api.reply(
        429,
        json={"title": "Too Many Requests"},
        headers={
            "x-rate-limit-reset": str(soon),
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(tomorrow),
        },
    )
    with httpx.Client(timeout=2) as client:
        result = XAdapter(config(api_base_url=api.url)).send(client, outbound({"participant_id": "1"}))
    assert result.retry_after is not None and result.retry_after > 79000


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False), (403, False)])
def test_http_errors(api: PlatformDouble, status: int, retryable: bool) -> None:
    api.reply(status, json={"title": "Forbidden", "detail": "You are not permitted to perform this action."})
    with httpx.Client(timeout=2) as client:
        result = XAdapter(config(api_base_url=api.url)).send(client, outbound({"participant_id": "1"}))
    assert (result.ok, result.retryable, result.status) == (False, retryable, status)


def test_answer_slower_than_the_client_timeout_is_outcome_unknown(api: PlatformDouble) -> None:
    api.reply(201, json={"data": {"id": "1"}}, delay=0.5)
    with httpx.Client(timeout=0.1) as client:
        result = XAdapter(config(api_base_url=api.url)).send(client, outbound({"in_reply_to_tweet_id": "1"}))
    assert result.outcome_unknown and not result.retryable


def test_connection_refused_is_retryable() -> None:
    with httpx.Client(timeout=1) as client:
        result = XAdapter(config(api_base_url=closed_url())).send(client, outbound({"participant_id": "1"}))
    assert result.retryable and not result.outcome_unknown


def test_send_needs_a_token_and_a_target(api: PlatformDouble) -> None:
    with httpx.Client(timeout=2) as client:
        assert (
            not XAdapter(config(api_base_url=api.url, access_token=None))
            .send(client, outbound({"participant_id": "1"}))
            .ok
        )
        assert not XAdapter(config(api_base_url=api.url)).send(client, outbound({})).ok
    assert api.requests == []


# --- property: any signed body parses into well-formed events or is a PayloadError ---------------------------------

KEYS = frozenset(
    {
        "type",
        "id",
        "id_str",
        "message_create",
        "sender_id",
        "target",
        "recipient_id",
        "message_data",
        "text",
        "user",
        "extended_tweet",
        "full_text",
        "created_timestamp",
        "timestamp_ms",
        "retweeted_status",
        "name",
    }
)
DM_EVENT = st.fixed_dictionaries(
    {
        "type": loose("message_create"),
        "id": loose("954491830116155396"),
        "created_timestamp": loose("1521585378996"),
        "message_create": st.fixed_dictionaries(
            {
                "sender_id": loose("3001969357", US),
                "target": st.fixed_dictionaries({"recipient_id": loose(US)}),
                "message_data": st.fixed_dictionaries({"text": loose("hi")}),
            }
        ),
    }
)
TWEET = st.fixed_dictionaries(
    {
        "id_str": loose("1050118621198921728"),
        "user": st.fixed_dictionaries({"id_str": loose("6253282", US)}, optional={"name": loose("Ana")}),
    },
    optional={
        "text": loose("@northpine hi"),
        "extended_tweet": json_values(KEYS),
        "timestamp_ms": loose("1539202764000"),
        "retweeted_status": json_values(),
    },
)
SHAPED = st.fixed_dictionaries(
    {"for_user_id": st.sampled_from([US, "1"])},
    optional={
        "direct_message_events": st.lists(DM_EVENT, max_size=3) | json_values(KEYS),
        "tweet_create_events": st.lists(TWEET, max_size=3) | json_values(KEYS),
        "favorite_events": json_values(KEYS),
        "users": json_values(KEYS),
        "user_event": json_values(KEYS),
    },
)


@given(json_values(KEYS) | SHAPED)
@FUZZ_SETTINGS
def test_any_signed_body_parses_or_is_a_payload_error(value: Any) -> None:
    assert_parses_or_refuses(XAdapter(config()), signed(json.dumps(value).encode()))
