"""Generic adapter for any forum or help desk that speaks Standard Webhooks: signed inbound `message.created`
events, and replies POSTed back to `{api_base_url}/messages`, signed the same way so the other side can verify us.

Inbound body (JSON; `type` and `data` follow the Standard Webhooks payload recommendation):

    {"type": "message.created",
     "timestamp": "2024-05-01T12:00:00Z",             # optional, when the message was written (ISO 8601)
     "data": {"id": "m_1",                            # required: the message's id in the forum (reply_to)
              "conversation_id": "t_42",              # required: thread / ticket / topic id
              "text": "How do I reset my password?",  # required
              "sender": {"id": "u_7", "name": "Ana"}, # required id, optional name
              "language": "pl",                       # optional; used only if one of en, zh, ru, fr, pl
              "public": true}}                        # optional, default false: visible to others than the sender

Other `type` values are acknowledged as kind "other" and never answered. The dedupe key (event_id) is the
`webhook-id` header, which Standard Webhooks keeps identical across redeliveries of one event.
"""

# Outbound: POST `{api_base_url}/messages` with `{"conversation_id", "reply_to", "text"}` and the headers `webhook-id`
# (stable per intended message: from the idempotency key, so a retry is recognisably the same message),
# `webhook-timestamp`, `webhook-signature: v1,<base64>` signed with the same `webhook_secret`.
#
# Contracts followed: the Standard Webhooks specification v1.0.0
# (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md — signed content
# `{msg_id}.{timestamp}.{payload}`, HMAC-SHA256, `whsec_`-prefixed base64 secret, signatures `v1,<base64>` separated by
# spaces, ids must not contain "."), and the reference Python package `standardwebhooks==1.1.0`, whose `Webhook.verify`
# checks the signatures and a fixed ±5-minute timestamp window and whose `Webhook.sign` we use for outbound requests.

from __future__ import annotations

import binascii
import hashlib
import re
from datetime import datetime
from typing import Any, ClassVar

import httpx
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from assistant.domain.channels import NO_RULES, InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from webhooks.adapters.base import (
    ConfiguredAdapter,
    PayloadError,
    SignatureError,
    WebhookRequest,
    WebhookResponse,
    refused,
    result_from_response,
)
from webhooks.adapters.choices import ChoiceLimits
from webhooks.adapters.signing import (
    check_timestamp,
    compact_json,
    id_string,
    json_object,
    language_hint,
    parse_json_object,
    require_secret,
    response_json,
    send_json,
    utc,
)

MESSAGE_CREATED = "message.created"
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


class GenericAdapter(ConfiguredAdapter):
    """Standard Webhooks in and out."""

    name: ClassVar[str] = "generic"
    # No quick replies or buttons here: a clarification's options arrive as the numbered list in the text.
    choice_limits: ClassVar[ChoiceLimits | None] = None
    rules: ClassVar[PlatformRules] = NO_RULES

    def _webhook(self) -> Webhook:
        secret = require_secret(self.config.webhook_secret, "generic webhook_secret")
        try:
            return Webhook(secret)
        except (EmptyWebhookSecretError, binascii.Error, ValueError):
            raise SignatureError("generic webhook_secret is not a whsec_ base64 key") from None

    # --- inbound ------------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        return None

    def verify(self, request: WebhookRequest) -> None:
        webhook = self._webhook()
        headers = {
            name: request.header(name) or "" for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        missing = [name for name, value in headers.items() if not value]
        if missing:
            raise SignatureError(f"missing {', '.join(missing)}")
        # Our configured tolerance, against the moment the request arrived; the package adds its own fixed ±5 min.
        check_timestamp(
            headers["webhook-timestamp"],
            request.received_at,
            self.config.signature_tolerance_seconds,
            "webhook-timestamp",
        )
        try:
            # Standard Webhooks signs text: bytes that are not UTF-8 are bad input (400), as on every endpoint.
            request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("body is not valid UTF-8") from None
        try:
            webhook.verify(request.body, headers, json_parse=False)
        except WebhookVerificationError as error:
            raise SignatureError(f"standard webhooks: {error}") from None
        except ValueError:  # a malformed signature list or base64, or a body that is not UTF-8
            raise SignatureError("standard webhooks: malformed webhook-signature or body") from None

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        event_id = request.header("webhook-id")
        if not event_id:
            raise PayloadError("missing webhook-id")
        payload = parse_json_object(request.body)
        kind = payload.get("type")
        if not isinstance(kind, str) or not isinstance(payload.get("data"), dict):
            raise PayloadError("body must have a string type and a data object")
        data: dict[str, Any] = payload["data"]
        if kind != MESSAGE_CREATED:
            key = id_string(data.get("conversation_id")) or f"event:{event_id}"
            return [
                InboundEvent(platform=self.name, event_id=event_id, conversation_key=key, kind="other", message=None)
            ]
        message_id = id_string(data.get("id"))
        conversation_id = id_string(data.get("conversation_id"))
        sender = json_object(data.get("sender"))
        sender_id = id_string(sender.get("id"))
        text = data.get("text")
        if not message_id or not conversation_id or not sender_id or not isinstance(text, str):
            raise PayloadError("message.created needs data.id, data.conversation_id, data.text and data.sender.id")
        is_echo = sender_id in self.config.own_ids
        message = InboundMessage(
            text=text,
            sender_id=sender_id,
            sender_name=sender.get("name") if isinstance(sender.get("name"), str) else None,
            platform=self.name,
            conversation_id=conversation_id,
            message_id=message_id,
            language=language_hint(data.get("language")),
            is_public=data.get("public") is True,
            is_echo=is_echo,
        )
        return [
            InboundEvent(
                platform=self.name,
                event_id=event_id,
                conversation_key=conversation_id,
                kind="echo" if is_echo else "message",
                message=message,
                reply_target={"conversation_id": conversation_id, "reply_to": message_id},
                sent_at=_iso(payload.get("timestamp")),
            )
        ]

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        return WebhookResponse(status=200)

    # --- outbound -----------------------------------------------------------------------------------------------

    def send(self, client: httpx.Client, message: OutboundMessage, now: datetime | None = None) -> SendResult:
        base = self.config.api_base_url.rstrip("/")
        if not base:
            return refused("generic api_base_url is not configured")
        try:
            webhook = self._webhook()
        except SignatureError as error:
            return refused(error.reason)
        conversation_id = message.reply_target.get("conversation_id")
        if not conversation_id:
            return refused("reply_target has no conversation_id")
        body = compact_json(
            {"conversation_id": conversation_id, "reply_to": message.reply_target.get("reply_to"), "text": message.text}
        )
        msg_id = outbound_id(message.idempotency_key)
        moment = utc(now or datetime.now().astimezone())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": webhook.sign(msg_id, moment, body.decode()),
        }
        return send_json(client, "POST", f"{base}/messages", {}, read_result, headers=headers, body=body)


def read_result(response: httpx.Response) -> SendResult:
    """The other side's answer: 2xx with the stored message's `id`, or the usual reading of an error."""
    message_id = id_string(response_json(response).get("id")) if response.is_success else None
    return result_from_response(response, message_id)


def outbound_id(idempotency_key: str) -> str:
    """The `webhook-id` for one intended message: `msg_<key>` when the key is a plain token, else a digest of it
    (the spec forbids "." and wants ids we control)."""
    if SAFE_ID.fullmatch(idempotency_key):
        return f"msg_{idempotency_key}"
    return "msg_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
