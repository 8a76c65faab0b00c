"""Discord adapter: Ed25519 signatures with a key pair made here, PING/PONG, slash commands, the deferred answer
and its edit, and channel replies, against a local stand-in for the Discord API."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

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
    webhook_request,
)
from webhooks.adapters.base import PayloadError, SignatureError, WebhookRequest
from webhooks.adapters.discord import DiscordAdapter
from webhooks.discord_gateway import build_client, event_from_discord_message, run_gateway

KEY = SigningKey.generate()
PUBLIC_KEY = KEY.verify_key.encode().hex()
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
PING = {
    "id": "1015361938125668372",
    "application_id": "775799577604522054",
    "type": 1,
    "token": "PING_TOKEN",
    "version": 1,
}
# The slash-command example interaction of https://discord.com/developers/docs/interactions/application-commands
# (Slash Commands, Example Interaction), with the `application_id` real interactions carry and our /ask command.
COMMAND = {
    "type": 2,
    "token": "A_UNIQUE_TOKEN",
    "id": "786008729715212338",
    "application_id": "775799577604522054",
    "guild_id": "290926798626357999",
    "channel_id": "645027906669510667",
    "app_permissions": "442368",
    "guild_locale": "en-US",
    "locale": "en-US",
    "version": 1,
    "member": {
        "user": {
            "id": "53908232506183680",
            "username": "Mason",
            "global_name": "Mason M",
            "avatar": "a_d5efa99b3eeaa7dd43acca82f5692432",
            "discriminator": "1337",
            "public_flags": 131141,
        },
        "roles": ["539082325061836999"],
        "permissions": "2147483647",
        "nick": None,
        "mute": False,
        "joined_at": "2017-03-13T19:19:14.040000+00:00",
        "deaf": False,
    },
    "data": {
        "options": [{"type": 3, "name": "question", "value": "Where is my order?"}],
        "type": 1,
        "name": "ask",
        "id": "771825006014889984",
    },
}


def config(**overrides: Any) -> PlatformConfig:
    return enabled_config(
        {
            "api_base_url": "https://discord.invalid/api/v10",
            "public_key": PUBLIC_KEY,
            "application_id": "775799577604522054",
            "bot_token": "bot-token-for-tests",
        },
        overrides,
    )


def signed(
    payload: dict[str, Any] | bytes, *, key: SigningKey = KEY, timestamp: int | None = None, received_at: datetime = NOW
) -> WebhookRequest:
    """Signed as Discord does: Ed25519 over `timestamp + body`, signature in hex."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(received_at.timestamp()) if timestamp is None else timestamp)
    signature = key.sign(stamp.encode() + body).signature.hex()
    return webhook_request(
        body,
        {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp, "Content-Type": "application/json"},
        received_at=received_at,
    )


# --- verification -------------------------------------------------------------------------------------------------


def test_valid_signature_passes() -> None:
    DiscordAdapter(config()).verify(signed(COMMAND))


def test_signature_from_another_key_is_refused() -> None:
    with pytest.raises(SignatureError):
        DiscordAdapter(config()).verify(signed(COMMAND, key=SigningKey.generate()))


def test_tampered_body_and_swapped_timestamp_are_refused() -> None:
    good = signed(COMMAND)
    adapter = DiscordAdapter(config())
    with pytest.raises(SignatureError):
        adapter.verify(webhook_request(good.body.replace(b"order", b"token"), dict(good.headers), received_at=NOW))
    moved = {**good.headers, "x-signature-timestamp": str(int(NOW.timestamp()) + 1)}
    with pytest.raises(SignatureError):
        adapter.verify(webhook_request(good.body, moved, received_at=NOW))


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_timestamp_is_refused_even_when_the_signature_is_valid(offset: int) -> None:
    with pytest.raises(SignatureError, match="stale"):
        DiscordAdapter(config()).verify(signed(COMMAND, timestamp=int(NOW.timestamp()) + offset))


@pytest.mark.parametrize("missing", ["x-signature-ed25519", "x-signature-timestamp"])
def test_missing_headers_are_refused(missing: str) -> None:
    good = signed(COMMAND)
    headers = {name: value for name, value in good.headers.items() if name != missing}
    with pytest.raises(SignatureError, match="missing"):
        DiscordAdapter(config()).verify(webhook_request(good.body, headers, received_at=NOW))


@pytest.mark.parametrize("signature", ["not-hex", "abcd", "00" * 64])
def test_malformed_or_zero_signatures_are_refused(signature: str) -> None:
    good = signed(COMMAND)
    with pytest.raises(SignatureError):
        DiscordAdapter(config()).verify(
            webhook_request(good.body, {**good.headers, "x-signature-ed25519": signature}, received_at=NOW)
        )


@pytest.mark.parametrize("public_key", [None, "", "zz" * 32, "abcd"])
def test_missing_or_broken_public_key_refuses_everything(public_key: str | None) -> None:
    with pytest.raises(SignatureError):
        DiscordAdapter(config(public_key=public_key)).verify(signed(COMMAND))


# --- PING ---------------------------------------------------------------------------------------------------------


def test_ping_is_answered_with_pong_json() -> None:
    adapter = DiscordAdapter(config())
    request = signed(PING)
    adapter.verify(request)
    response = adapter.handshake(request)
    assert response is not None
    assert (response.status, response.content_type, json.loads(response.body)) == (200, "application/json", {"type": 1})
    assert adapter.parse(request) == []


def test_unsigned_ping_gets_no_pong() -> None:
    # Discord probes endpoints with invalid signatures; the handshake verifies on its own, whatever the view's order.
    with pytest.raises(SignatureError):
        DiscordAdapter(config()).handshake(signed(PING, key=SigningKey.generate()))


def test_handshake_is_none_for_commands_and_junk() -> None:
    adapter = DiscordAdapter(config())
    assert adapter.handshake(signed(COMMAND)) is None
    assert adapter.handshake(signed(b"{oops")) is None
    assert adapter.handshake(webhook_request(b"", method="GET")) is None


# --- parsing and acknowledging ------------------------------------------------------------------------------------


def test_slash_command_becomes_one_event_and_is_deferred() -> None:
    adapter = DiscordAdapter(config())
    request = signed(COMMAND)
    [event] = adapter.parse(request)
    assert (event.platform, event.event_id, event.kind) == ("discord", "786008729715212338", "message")
    assert event.conversation_key == "290926798626357999:645027906669510667:53908232506183680"
    assert event.reply_target == {
        "application_id": "775799577604522054",
        "interaction_token": "A_UNIQUE_TOKEN",
        "channel_id": "645027906669510667",
    }
    # Snowflake 786008729715212338 encodes its creation time.
    assert event.sent_at == datetime.fromtimestamp(((786008729715212338 >> 22) + 1420070400000) / 1000, tz=UTC)
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.sender_name, message.message_id) == (
        "Where is my order?",
        "53908232506183680",
        "Mason M",
        "786008729715212338",
    )
    assert message.is_public and not message.is_echo
    ack = adapter.acknowledge(request, [event])
    assert (ack.status, ack.content_type, json.loads(ack.body)) == (200, "application/json", {"type": 5})


def test_replayed_interaction_parses_to_the_same_event_id() -> None:
    adapter = DiscordAdapter(config())
    assert adapter.parse(signed(COMMAND))[0].event_id == adapter.parse(signed(COMMAND))[0].event_id


def test_command_in_a_dm_uses_the_user_and_is_private() -> None:
    payload = {key: value for key, value in COMMAND.items() if key not in ("member", "guild_id")}
    payload["user"] = {"id": "53908232506183680", "username": "mason", "global_name": None}
    [event] = DiscordAdapter(config()).parse(signed(payload))
    assert event.conversation_key == "dm:645027906669510667:53908232506183680"
    assert event.message is not None and not event.message.is_public and event.message.sender_name == "mason"


@pytest.mark.parametrize(
    ("options", "text"),
    [
        (
            [{"type": 3, "name": "topic", "value": "billing"}, {"type": 3, "name": "question", "value": "Why twice?"}],
            "Why twice?",
        ),
        ([{"type": 4, "name": "count", "value": 3}, {"type": 3, "name": "topic", "value": "refunds"}], "refunds"),
        ([{"type": 1, "name": "faq", "options": [{"type": 3, "name": "question", "value": "Nested?"}]}], "Nested?"),
        ([], "/ask"),
    ],
)
def test_command_text_comes_from_the_question_option(options: list[dict[str, Any]], text: str) -> None:
    payload = json.loads(json.dumps(COMMAND))
    payload["data"]["options"] = options
    [event] = DiscordAdapter(config()).parse(signed(payload))
    assert event.message is not None and event.message.text == text


def test_interaction_from_an_own_id_is_an_echo() -> None:
    [event] = DiscordAdapter(config(own_ids=["53908232506183680"])).parse(signed(COMMAND))
    assert event.kind == "echo" and event.message is not None and event.message.is_echo


@pytest.mark.parametrize(
    ("kind", "answer"), [(3, {"type": 6}), (4, {"type": 8, "data": {"choices": []}}), (5, {"type": 6})]
)
def test_other_interaction_types_are_acknowledged_silently(kind: int, answer: dict[str, Any]) -> None:
    payload = {**COMMAND, "type": kind, "data": {"custom_id": "x", "component_type": 2}}
    adapter = DiscordAdapter(config())
    request = signed(payload)
    [event] = adapter.parse(request)
    assert event.kind == "other" and event.message is None
    assert json.loads(adapter.acknowledge(request, [event]).body) == answer


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        b"[]",
        json.dumps({**COMMAND, "type": "2"}).encode(),
        json.dumps({k: v for k, v in COMMAND.items() if k != "id"}).encode(),
        json.dumps({k: v for k, v in COMMAND.items() if k != "token"}).encode(),
    ],
)
def test_malformed_interactions_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        DiscordAdapter(config()).parse(signed(body))


# --- sending ------------------------------------------------------------------------------------------------------

INTERACTION_TARGET = {
    "application_id": "775799577604522054",
    "interaction_token": "A_UNIQUE_TOKEN",
    "channel_id": "645027906669510667",
}
CHANNEL_TARGET = {"channel_id": "645027906669510667", "message_id": "1100000000000000001"}


def outbound(target: dict[str, str], key: str = "answer-1") -> OutboundMessage:
    return OutboundMessage(
        platform="discord", reply_target=target, text="Your order ships tomorrow.", idempotency_key=key
    )


def test_first_answer_edits_the_deferred_original(api: PlatformDouble) -> None:
    api.reply(200, json={"id": "1200000000000000001", "content": "Your order ships tomorrow."})
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url + "/api/v10")).send(client, outbound(INTERACTION_TARGET))
    assert result.ok and result.platform_message_id == "1200000000000000001"
    request = api.last
    assert (request.method, request.path) == (
        "PATCH",
        "/api/v10/webhooks/775799577604522054/A_UNIQUE_TOKEN/messages/@original",
    )
    assert "authorization" not in request.headers  # the interaction token is the credential
    assert request.json() == {"content": "Your order ships tomorrow.", "allowed_mentions": {"parse": []}}


def test_later_messages_are_followups(api: PlatformDouble) -> None:
    api.reply(200, json={"id": "1200000000000000002"})
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url)).send(
            client, outbound({**INTERACTION_TARGET, "followup": "1"})
        )
    assert result.ok
    assert (api.last.method, api.last.path) == ("POST", "/webhooks/775799577604522054/A_UNIQUE_TOKEN")
    assert api.last.json() == {"content": "Your order ships tomorrow.", "allowed_mentions": {"parse": []}}


def test_expired_interaction_token_falls_back_to_a_channel_message(api: PlatformDouble) -> None:
    api.reply(404, json={"message": "Unknown Webhook", "code": 10015}, method="PATCH")
    api.reply(200, json={"id": "1200000000000000003"}, method="POST")
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url)).send(client, outbound(INTERACTION_TARGET))
    assert result.ok and result.platform_message_id == "1200000000000000003"
    assert [(r.method, r.path) for r in api.requests] == [
        ("PATCH", "/webhooks/775799577604522054/A_UNIQUE_TOKEN/messages/@original"),
        ("POST", "/channels/645027906669510667/messages"),
    ]
    assert api.last.headers["authorization"] == "Bot bot-token-for-tests"


def test_channel_message_is_a_reply_with_the_bot_token(api: PlatformDouble) -> None:
    api.reply(200, json={"id": "1300000000000000001", "channel_id": "645027906669510667"})
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url)).send(client, outbound(CHANNEL_TARGET))
    assert result.ok and result.platform_message_id == "1300000000000000001"
    request = api.last
    assert (request.method, request.path) == ("POST", "/channels/645027906669510667/messages")
    assert request.headers["authorization"] == "Bot bot-token-for-tests"
    assert request.json() == {
        "content": "Your order ships tomorrow.",
        "allowed_mentions": {"parse": [], "replied_user": True},
        "nonce": hashlib.sha256(b"answer-1").hexdigest()[:25],
        "enforce_nonce": True,
        "message_reference": {
            "message_id": "1100000000000000001",
            "channel_id": "645027906669510667",
            "fail_if_not_exists": False,
        },
    }


def test_resend_of_the_same_message_reuses_the_nonce(api: PlatformDouble) -> None:
    api.reply(200, json={"id": "1"}, times=2)
    with httpx.Client(timeout=2) as client:
        adapter = DiscordAdapter(config(api_base_url=api.url))
        adapter.send(client, outbound(CHANNEL_TARGET))
        adapter.send(client, outbound(CHANNEL_TARGET))
    first, second = (request.json()["nonce"] for request in api.requests)
    assert first == second and len(first) <= 25


def test_channel_message_without_bot_token_is_not_attempted(api: PlatformDouble) -> None:
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url, bot_token=None)).send(client, outbound(CHANNEL_TARGET))
    assert not result.ok and not result.retryable and api.requests == []


def test_429_uses_the_precise_retry_after_of_the_body(api: PlatformDouble) -> None:
    # The example of https://discord.com/developers/docs/topics/rate-limits (Exceeded User Rate Limit Response)
    api.reply(
        429,
        json={"message": "You are being rate limited.", "retry_after": 64.57, "global": False},
        headers={"Retry-After": "65", "X-RateLimit-Scope": "user"},
    )
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url)).send(client, outbound(CHANNEL_TARGET))
    assert (result.ok, result.retryable, result.retry_after, result.status) == (False, True, 64.57, 429)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (400, False), (403, False)])
def test_http_errors(api: PlatformDouble, status: int, retryable: bool) -> None:
    api.reply(status, json={"message": "nope", "code": 50001})
    with httpx.Client(timeout=2) as client:
        result = DiscordAdapter(config(api_base_url=api.url)).send(client, outbound(INTERACTION_TARGET))
    assert (result.ok, result.retryable, result.status) == (False, retryable, status)
    assert len(api.requests) == 1  # no fallback for errors other than an expired token


def test_answer_slower_than_the_client_timeout_is_outcome_unknown(api: PlatformDouble) -> None:
    api.reply(200, json={"id": "1"}, delay=0.5)
    with httpx.Client(timeout=0.1) as client:
        result = DiscordAdapter(config(api_base_url=api.url)).send(client, outbound(CHANNEL_TARGET))
    assert result.outcome_unknown and not result.retryable


def test_connection_refused_is_retryable() -> None:
    with httpx.Client(timeout=1) as client:
        result = DiscordAdapter(config(api_base_url=closed_url())).send(client, outbound(INTERACTION_TARGET))
    assert result.retryable and not result.outcome_unknown


def test_target_without_route_is_refused() -> None:
    with httpx.Client(timeout=1) as client:
        result = DiscordAdapter(config()).send(client, outbound({}))
    assert not result.ok and not result.retryable


# --- Gateway messages (webhooks/discord_gateway.py) ----------------------------------------------------------------
# The Gateway itself cannot be reached from here: the pure function is tested with plain stand-ins that have the
# attributes of discord.Message that it reads.

BOT_ID = 1000000000000000001


def gateway_message(
    content: str = f"<@{BOT_ID}> where is my order?",
    *,
    author_bot: bool = False,
    author_id: int = 53908232506183680,
    guild_id: int | None = 290926798626357999,
    channel_id: int = 645027906669510667,
    parent_id: int | None = None,
    mentions: tuple[int, ...] = (BOT_ID,),
    webhook_id: int | None = None,
) -> SimpleNamespace:
    return SimpleNamespace(
        id=1100000000000000001,
        content=content,
        webhook_id=webhook_id,
        created_at=datetime(2025, 3, 14, 12, 0, tzinfo=UTC),
        author=SimpleNamespace(id=author_id, bot=author_bot, display_name="Mason M", name="mason"),
        channel=SimpleNamespace(id=channel_id, parent_id=parent_id),
        guild=SimpleNamespace(id=guild_id) if guild_id is not None else None,
        mentions=[SimpleNamespace(id=user_id) for user_id in mentions],
        raw_mentions=list(mentions),
    )


def test_gateway_mention_becomes_an_event_ready_for_a_channel_reply() -> None:
    event = event_from_discord_message(gateway_message(), BOT_ID)
    assert event is not None
    assert (event.platform, event.kind, event.event_id) == ("discord", "message", "discord-msg:1100000000000000001")
    assert event.conversation_key == "290926798626357999:645027906669510667"
    assert event.reply_target == {"channel_id": "645027906669510667", "message_id": "1100000000000000001"}
    assert event.sent_at == datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    message = event.message
    assert message is not None
    assert (message.text, message.sender_id, message.sender_name, message.is_public) == (
        "where is my order?",
        "53908232506183680",
        "Mason M",
        True,
    )


def test_gateway_ignores_bots_ourselves_webhooks_and_own_ids() -> None:
    assert event_from_discord_message(gateway_message(author_bot=True), BOT_ID) is None
    assert event_from_discord_message(gateway_message(author_id=BOT_ID), BOT_ID) is None
    assert event_from_discord_message(gateway_message(webhook_id=5), BOT_ID) is None
    assert event_from_discord_message(gateway_message(), BOT_ID, own_ids=["53908232506183680"]) is None


def test_gateway_needs_a_mention_or_a_configured_channel() -> None:
    unmentioned = gateway_message("where is my order?", mentions=())
    assert event_from_discord_message(unmentioned, BOT_ID) is None
    assert event_from_discord_message(unmentioned, BOT_ID, {645027906669510667}) is not None
    assert event_from_discord_message(unmentioned, BOT_ID, {"645027906669510667"}) is not None
    in_thread = gateway_message("where is my order?", mentions=(), channel_id=7, parent_id=645027906669510667)
    assert event_from_discord_message(in_thread, BOT_ID, {645027906669510667}) is not None
    other_user = gateway_message("<@42> where is my order?", mentions=(42,))
    assert event_from_discord_message(other_user, BOT_ID) is None


def test_gateway_direct_messages_are_for_us_unless_turned_off() -> None:
    dm = gateway_message("where is my order?", mentions=(), guild_id=None, channel_id=99)
    event = event_from_discord_message(dm, BOT_ID)
    assert event is not None and event.conversation_key == "dm:99"
    assert event.message is not None and not event.message.is_public
    assert event_from_discord_message(dm, BOT_ID, accept_direct_messages=False) is None


def test_gateway_bare_mention_or_hidden_content_is_skipped() -> None:
    assert event_from_discord_message(gateway_message(f"<@{BOT_ID}>"), BOT_ID) is None
    assert event_from_discord_message(gateway_message(""), BOT_ID) is None  # Message Content intent off


def test_gateway_nickname_mention_form_is_stripped() -> None:
    event = event_from_discord_message(gateway_message(f"hi <@!{BOT_ID}>, refund?"), BOT_ID)
    assert event is not None and event.message is not None and event.message.text == "hi , refund?"


def gateway_frame(sequence: int, event: str, data: dict[str, Any]) -> str:
    """One Gateway DISPATCH frame (op 0) as the websocket delivers it: JSON text."""
    return json.dumps({"op": 0, "s": sequence, "t": event, "d": data})


def gateway_user(user_id: int, username: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": username,
        "global_name": None,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
    }


def message_create(
    message_id: int, content: str, author: dict[str, Any], mentions: list[dict[str, Any]]
) -> dict[str, Any]:
    """A MESSAGE_CREATE payload with the fields of Discord's Message object that a guild text message carries."""
    return {
        "id": str(message_id),
        "channel_id": "645027906669510667",
        "guild_id": "290926798626357999",
        "author": author,
        "member": {"roles": [], "joined_at": "2025-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0},
        "content": content,
        "timestamp": "2025-03-14T12:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }


GUILD_ID = "290926798626357999"
GATEWAY_ME = gateway_user(BOT_ID, "assistant", bot=True)
GATEWAY_CUSTOMER = gateway_user(53908232506183680, "mason")


def ready_and_guild_frames() -> list[str]:
    """READY (our user, the guild unavailable) and the guild's GUILD_CREATE, as a session starts."""
    ready = {
        "v": 10,
        "user": GATEWAY_ME,
        "guilds": [{"id": GUILD_ID, "unavailable": True}],  # sent whole in GUILD_CREATE
        "session_id": "session-1",
        "resume_gateway_url": "wss://gateway.discord.invalid",
        "application": {"id": "775799577604522054", "flags": 0},
    }
    guild = {
        "id": GUILD_ID,
        "name": "Shop",
        "unavailable": False,
        "member_count": 3,
        "channels": [
            {"id": "645027906669510667", "type": 0, "name": "support", "position": 0, "permission_overwrites": []}
        ],
        "roles": [],
        "members": [],
        "emojis": [],
        "stickers": [],
        "features": [],
    }
    return [gateway_frame(1, "READY", ready), gateway_frame(2, "GUILD_CREATE", guild)]


def run_gateway_frames(enqueue: Callable[[Any], None], frames: list[str], expected: int) -> None:
    """Feed `frames` through discord.py's own path (DiscordWebSocket.received_message → the parsers →
    Client.dispatch → our on_message) to a client built with `enqueue`, and wait until `enqueue` was called
    `expected` times. Discord itself cannot be reached from here, so the websocket is the only part left out: the
    frames are handed to it as received."""
    from discord.gateway import DiscordWebSocket

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        calls = 0
        done: asyncio.Future[None] = loop.create_future()

        def counted(event: Any) -> None:  # called off the event loop (asyncio.to_thread), as in production
            nonlocal calls
            enqueue(event)
            calls += 1
            if calls == expected:
                loop.call_soon_threadsafe(done.set_result, None)

        client = build_client(config(), counted, set())
        async with client:  # sets up the loop the client dispatches events on; no connection is opened
            ws = DiscordWebSocket(None, loop=loop)  # type: ignore[arg-type]
            # The attributes DiscordWebSocket.from_client gives a connected socket, minus the network.
            ws._connection = client._connection
            ws._discord_parsers = client._connection.parsers
            ws._dispatch = client.dispatch
            ws.shard_id = None
            for frame in frames:
                await ws.received_message(frame)
            # Handlers run in dispatch order, so once the last one was handled every earlier one was.
            await asyncio.wait_for(done, timeout=10)
        assert client.user is not None and client.user.id == BOT_ID

    asyncio.run(scenario())


def test_gateway_message_create_dispatch_is_queued_as_an_event() -> None:
    from discord.utils import snowflake_time

    other_bot = gateway_user(1200000000000000002, "otherbot", bot=True)
    queued: list[Any] = []
    frames = [
        *ready_and_guild_frames(),
        # Another bot mentioning us first: dispatched, and dropped by on_message.
        gateway_frame(
            3, "MESSAGE_CREATE", message_create(1100000000000000000, f"<@{BOT_ID}> hi", other_bot, [GATEWAY_ME])
        ),
        gateway_frame(
            4,
            "MESSAGE_CREATE",
            message_create(1100000000000000001, f"<@{BOT_ID}> where is my order?", GATEWAY_CUSTOMER, [GATEWAY_ME]),
        ),
    ]
    run_gateway_frames(queued.append, frames, expected=1)
    [event] = queued
    assert (event.platform, event.kind, event.event_id) == ("discord", "message", "discord-msg:1100000000000000001")
    assert event.conversation_key == "290926798626357999:645027906669510667"
    assert event.reply_target == {"channel_id": "645027906669510667", "message_id": "1100000000000000001"}
    # discord.py's created_at: the time in the message's snowflake id
    assert event.sent_at == snowflake_time(1100000000000000001)
    assert event.message is not None
    assert (event.message.text, event.message.sender_id, event.message.is_public) == (
        "where is my order?",
        "53908232506183680",
        True,
    )


def test_gateway_client_is_built_with_the_message_content_intent() -> None:
    queued: list[Any] = []
    client = build_client(config(), queued.append, {645027906669510667})
    assert client.intents.message_content and client.intents.guild_messages
    with pytest.raises(ValueError, match="bot_token"):
        run_gateway(config(bot_token=None), queued.append, set())


# --- property: any signed body parses into well-formed events or is a PayloadError ---------------------------------

KEYS = frozenset({"id", "user", "bot", "username", "global_name", "options", "name", "type", "value", "data"})
SHAPED = st.fixed_dictionaries(
    {
        "type": st.integers(1, 6),
        "id": st.from_regex(r"[0-9]{1,20}", fullmatch=True),
        "token": st.text(min_size=1, max_size=8),
    },
    optional={
        key: json_values(KEYS)
        for key in ("data", "member", "user", "guild_id", "channel_id", "application_id", "channel")
    },
)


@given(json_values(KEYS) | SHAPED)
@FUZZ_SETTINGS
def test_any_signed_body_parses_or_is_a_payload_error(value: Any) -> None:
    assert_parses_or_refuses(DiscordAdapter(config()), signed(json.dumps(value).encode()))
