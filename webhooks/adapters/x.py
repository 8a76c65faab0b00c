"""X (Twitter) Account Activity API adapter: the CRC challenge, `x-twitter-webhooks-signature` on each POST,
direct-message and tweet events, and replies as DMs or public reply posts through the v2 API."""

# Contracts followed (looked up, not guessed):
# - Securing webhooks (https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks,
#   https://docs.x.com/x-api/webhooks/quickstart): a CRC is a GET with `crc_token`; answer 200, JSON
#   `{"response_token": "sha256=" + base64(HMAC-SHA256(key=consumer secret, msg=crc_token))}`, within 3 s. Each POST
#   carries `x-twitter-webhooks-signature: sha256=` + base64(HMAC-SHA256(consumer secret, raw body)). X sends no
#   timestamp, so replays are stopped by dedupe on the event / tweet id, not here.
# - Account Activity data objects (https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/
#   account-activity-data-objects): `for_user_id` (the subscribed account: us), `tweet_create_events` (Tweet objects:
#   posts by us, replies, @mentions), `direct_message_events` (sent and received), typing and read events.
# - Direct Message events (https://developer.x.com/content/developer-twitter/en/docs/direct-messages/sending-and-
#   receiving/guides/message-create-object): `type: message_create`, `id`, `created_timestamp` (ms),
#   `message_create.sender_id`, `.target.recipient_id`, `.message_data.text`.
# - Kinds: DMs and mentions/replies are both kind "message" (mentions with `is_public=True`), so the worker's
#   ordinary reply mode answers a mention with a public reply post, as intended here; mode `private_reply` (which the
#   worker uses for kind "comment", Meta's private replies) sends a DM to the author instead.
# - Sending: v2 Manage Direct Messages, POST `/2/dm_conversations/with/:participant_id/messages` `{"text"}` → `data.
#   dm_event_id` (https://docs.x.com/xdks/python/reference/xdk.direct_messages.client, create_by_participant_id); v2
#   Manage Posts, POST `/2/tweets` `{"text", "reply": {"in_reply_to_tweet_id"}}` → `data.id` (TweetCreateResponse).
#   Both need a user-context token (`Authorization: Bearer <OAuth 2.0 user access token>`).
# - Rate limits (https://docs.x.com/x-api/fundamentals/rate-limits): 429 with `x-rate-limit-reset` (Unix seconds when
#   the window resets); 24-hour caps report `x-user-limit-24hour-remaining` / `-reset` the same way.
#
# Beyond the docs, on purpose: the CRC answers only tokens of a plain token alphabet. Its answer is exactly the POST
# signature of a body equal to the token, so an unrestricted CRC would sign arbitrary JSON for anyone; a token that
# cannot contain `{` cannot become a JSON event body.

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any, ClassVar

import httpx

from assistant.domain.channels import NO_RULES, InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from webhooks.adapters.base import (
    ConfiguredAdapter,
    PayloadError,
    SignatureError,
    WebhookRequest,
    WebhookResponse,
    constant_time_equal,
    refused,
    result_from_response,
)
from webhooks.adapters.choices import ChoiceLimits
from webhooks.adapters.signing import (
    compact_json,
    from_epoch_ms,
    hmac_sha256,
    id_string,
    json_object,
    json_response,
    parse_json_object,
    require_secret,
    response_json,
    seconds_or_none,
    send_json,
)

CRC_TOKEN = re.compile(r"[A-Za-z0-9_\-=+/.:]{1,512}")
HANDLED = ("direct_message_events", "tweet_create_events")
OTHER_KINDS = {"direct_message_mark_read_events": "read"}


class XAdapter(ConfiguredAdapter):
    """X Account Activity webhooks for one or more subscribed accounts."""

    name: ClassVar[str] = "x"
    # No quick replies or buttons here: a clarification's options arrive as the numbered list in the text.
    choice_limits: ClassVar[ChoiceLimits | None] = None
    rules: ClassVar[PlatformRules] = NO_RULES

    def _sign(self, message: bytes) -> str:
        secret = require_secret(self.config.consumer_secret, "x consumer_secret")
        return "sha256=" + base64.b64encode(hmac_sha256(secret, message)).decode()

    # --- inbound ------------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        token = request.query.get("crc_token")
        if request.method.upper() != "GET" or token is None:
            return None
        if not CRC_TOKEN.fullmatch(token):
            raise PayloadError("crc_token has characters outside the token alphabet")
        return json_response({"response_token": self._sign(token.encode())})

    def verify(self, request: WebhookRequest) -> None:
        expected = self._sign(request.body)
        signature = request.header("x-twitter-webhooks-signature")
        if not signature:
            raise SignatureError("missing x-twitter-webhooks-signature")
        if not constant_time_equal(expected, signature.strip()):
            raise SignatureError("x-twitter-webhooks-signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        payload = parse_json_object(request.body)
        for_user_id = id_string(payload.get("for_user_id"))
        lists = {key: value for key, value in payload.items() if key.endswith("_events") or key == "user_event"}
        if not for_user_id or not lists:
            raise PayloadError("not an Account Activity payload (for_user_id and *_events expected)")
        own = {for_user_id, *self.config.own_ids}
        users = json_object(payload.get("users"))
        events: list[InboundEvent] = []
        for item in _items(payload.get("direct_message_events")):
            events.append(self._direct_message(item, own, users))
        for item in _items(payload.get("tweet_create_events")):
            events.append(self._tweet(item, own))
        for key, value in lists.items():
            if key in HANDLED:
                continue
            for item in _items(value) if isinstance(value, list) else [json_object(value)]:
                digest = hashlib.sha256(compact_json(item)).hexdigest()[:24]
                event_id = f"{key}:{id_string(item.get('id')) or digest}"
                events.append(
                    InboundEvent(
                        platform=self.name,
                        event_id=event_id,
                        conversation_key=f"user:{for_user_id}",
                        kind=OTHER_KINDS.get(key, "other"),
                        message=None,
                    )
                )
        return events

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        return WebhookResponse(status=200)

    def _direct_message(self, item: dict[str, Any], own: set[str], users: dict[str, Any]) -> InboundEvent:
        event_id = id_string(item.get("id"))
        create = json_object(item.get("message_create"))
        sender = id_string(create.get("sender_id"))
        recipient = id_string(json_object(create.get("target")).get("recipient_id"))
        if not event_id or not sender or not recipient:
            raise PayloadError("direct message event without id, sender_id or recipient_id")
        low, high = sorted((sender, recipient), key=lambda value: (len(value), value))
        key = f"{low}-{high}"  # the one-to-one dm_conversation_id of the v2 API
        sent_at = from_epoch_ms(item.get("created_timestamp"))
        if item.get("type") != "message_create":
            return InboundEvent(
                platform=self.name, event_id=event_id, conversation_key=key, kind="other", message=None, sent_at=sent_at
            )
        is_echo = sender in own
        participant = recipient if is_echo else sender
        profile = json_object(users.get(sender))
        text = json_object(create.get("message_data")).get("text")
        message = InboundMessage(
            text=text if isinstance(text, str) else "",
            sender_id=sender,
            sender_name=profile.get("name") if isinstance(profile.get("name"), str) else None,
            platform=self.name,
            conversation_id=key,
            message_id=event_id,
            is_public=False,
            is_echo=is_echo,
        )
        return InboundEvent(
            platform=self.name,
            event_id=event_id,
            conversation_key=key,
            kind="echo" if is_echo else "message",
            message=message,
            reply_target={"participant_id": participant},
            sent_at=sent_at,
        )

    def _tweet(self, tweet: dict[str, Any], own: set[str]) -> InboundEvent:
        tweet_id = id_string(tweet.get("id_str")) or id_string(tweet.get("id"))
        user = json_object(tweet.get("user"))
        author = id_string(user.get("id_str")) or id_string(user.get("id"))
        if not tweet_id or not author:
            raise PayloadError("tweet without id_str or user.id_str")
        extended = json_object(tweet.get("extended_tweet"))
        text = extended.get("full_text") if isinstance(extended.get("full_text"), str) else tweet.get("text")
        is_echo = author in own
        key = f"tweet:{author}"
        message = InboundMessage(
            text=text if isinstance(text, str) else "",
            sender_id=author,
            sender_name=user.get("name") if isinstance(user.get("name"), str) else None,
            platform=self.name,
            conversation_id=key,
            message_id=tweet_id,
            is_public=True,
            is_echo=is_echo,
        )
        if is_echo:
            kind = "echo"  # our own posts and replies come back through the same subscription
        elif "retweeted_status" in tweet:
            kind = "other"  # a retweet of something: no question to us
        else:
            kind = "message"  # answered with a public reply post (is_public tells the engine it is seen by all)
        sent_at = from_epoch_ms(tweet.get("timestamp_ms"))
        return InboundEvent(
            platform=self.name,
            event_id=tweet_id,
            conversation_key=key,
            kind=kind,
            message=message,
            reply_target={"in_reply_to_tweet_id": tweet_id, "author_id": author},
            sent_at=sent_at,
        )

    # --- outbound -----------------------------------------------------------------------------------------------

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        token = self.config.access_token
        if not token:
            return refused("x access_token is not configured")
        target = message.reply_target
        base = self.config.api_base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"}
        participant = target.get("participant_id")
        if not participant and message.mode == "private_reply":
            participant = target.get("author_id")  # answer a public mention privately
        if participant:
            url = f"{base}/dm_conversations/with/{participant}/messages"
            return send_json(client, "POST", url, {"text": message.text}, read_dm_result, headers=headers)
        if target.get("in_reply_to_tweet_id"):
            payload = {"text": message.text, "reply": {"in_reply_to_tweet_id": target["in_reply_to_tweet_id"]}}
            return send_json(client, "POST", f"{base}/tweets", payload, read_post_result, headers=headers)
        return refused("reply_target has neither participant_id nor in_reply_to_tweet_id")


def read_result(response: httpx.Response, id_field: str, now: float | None = None) -> SendResult:
    """2xx with `data.<id_field>`, or the error; a 429's wait comes from the reset epoch of the exhausted limit."""
    data = json_object(response_json(response).get("data")) if response.is_success else {}
    result = result_from_response(response, id_string(data.get(id_field)))
    if response.status_code != 429:
        return result
    headers = response.headers
    reset = headers.get("x-rate-limit-reset")
    if headers.get("x-user-limit-24hour-remaining") == "0" and headers.get("x-user-limit-24hour-reset"):
        reset = headers.get("x-user-limit-24hour-reset")
    reset_at = seconds_or_none(reset)
    wait = max(reset_at - (time.time() if now is None else now), 0.0) if reset_at is not None else result.retry_after
    return SendResult(ok=False, status=429, retryable=True, retry_after=wait, error=result.error)


def read_dm_result(response: httpx.Response) -> SendResult:
    """A sent direct message: its id is `data.dm_event_id`."""
    return read_result(response, "dm_event_id")


def read_post_result(response: httpx.Response) -> SendResult:
    """A published reply post: its id is `data.id`."""
    return read_result(response, "id")


def _items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError("an *_events field is not a list")
    return [json_object(item) for item in value]
