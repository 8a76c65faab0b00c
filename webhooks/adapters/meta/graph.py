"""What every Meta product shares: the hub.challenge handshake, the X-Hub-Signature-256 check, the `entry` loop of
the webhook envelope, the Graph POST with its throttling codes, and the helpers the products read payloads with."""

# The contracts followed, as published by Meta (developers.facebook.com):
# - Graph API Webhooks, "Getting Started" (/docs/graph-api/webhooks/getting-started): GET verification request
#   (hub.mode=subscribe, hub.verify_token, answer hub.challenge) and signed event notifications
#   (X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw payload keyed by the app secret>).
# - Graph API "Handling Errors" (/docs/graph-api/guides/error-handling) and "Rate Limits"
#   (/docs/graph-api/overview/rate-limiting): throttling comes back as error.code 4, 17, 32 or 613 ("wait and retry"),
#   often with HTTP 400/403 rather than 429; WhatsApp "Error codes" (/documentation/business-messaging/whatsapp/support/
#   error-codes) adds 80007 (account rate limit), 130429 (throughput) and 131056 (pair rate limit).
# - Messenger, Instagram and WhatsApp accept a free-form reply within 24 h of the person's last message; Messenger and
#   Instagram allow a HUMAN_AGENT-tagged answer up to 7 days (/docs/messenger-platform/send-messages/message-tags).

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from assistant.domain.channels import InboundEvent, SendResult
from assistant.settings import PlatformConfig
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
from webhooks.adapters.signing import id_string, parse_json_object, response_json, send_json

# WhatsApp needs an approved template past the 24 h; Messenger and Instagram may send a HUMAN_AGENT answer for 7 days.
REPLY_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
_HEX = frozenset("0123456789abcdef")
# Graph throttling (4 app, 17 user, 32 page, 613 custom) and WhatsApp throughput limits: the message was refused
# before delivery, so a later retry cannot duplicate it.
THROTTLING_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131056})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

JsonObject = dict[str, Any]
MessageIdReader = Callable[[JsonObject], str | None]


class GraphAdapter(ConfiguredAdapter):
    """What every Meta product shares: the verification handshake, the signature, the envelope and the POST."""

    name: ClassVar[str]
    object_type: ClassVar[str]  # the envelope's `object`

    def __init__(self, config: PlatformConfig) -> None:
        super().__init__(config)
        self._own_ids = frozenset(config.own_ids)

    # -- inbound ---------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        if request.method.upper() != "GET":
            return None
        if request.query.get("hub.mode") != "subscribe":
            raise PayloadError("a GET must be a verification request (hub.mode=subscribe)")
        expected = self.config.verify_token
        if not expected:
            # An empty token on both sides would compare equal and let anyone claim the endpoint.
            raise SignatureError("verify_token is not configured; subscription refused", status=403)
        if not constant_time_equal(request.query.get("hub.verify_token", ""), expected):
            raise SignatureError("hub.verify_token does not match", status=403)
        challenge = request.query.get("hub.challenge")
        if not challenge:
            raise PayloadError("verification request without hub.challenge")
        return WebhookResponse(status=200, body=challenge, content_type="text/plain")

    def verify(self, request: WebhookRequest) -> None:
        secret = self.config.app_secret
        if not secret:
            # Never fall back to accepting unsigned bodies: a missing secret is a deployment error.
            raise SignatureError("app_secret is not configured; unsigned deliveries are refused")
        header = request.header(SIGNATURE_HEADER)
        if header is None:
            raise SignatureError(f"missing {SIGNATURE_HEADER}")
        header = header.strip()
        if not header.startswith(_SIGNATURE_PREFIX):
            raise SignatureError(f"{SIGNATURE_HEADER} is not of the form sha256=<hex>")
        offered = header[len(_SIGNATURE_PREFIX) :].lower()
        if len(offered) != 64 or not set(offered) <= _HEX:
            raise SignatureError(f"{SIGNATURE_HEADER} is not of the form sha256=<hex>")
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not constant_time_equal(expected, offered):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        payload = parse_json_object(request.body)
        if payload.get("object") != self.object_type:
            raise PayloadError(f"`object` is not {self.object_type!r}")
        if "entry" not in payload:
            raise PayloadError("payload has no `entry` array")
        events: list[InboundEvent] = []
        # Meta batches: several entries per POST and several events per entry; every one is returned, in order.
        for index, entry in enumerate(objects(payload, "entry", "payload")):
            where = f"entry[{index}]"
            account_id = id_string(entry.get("id"))
            if account_id is None:
                raise PayloadError(f"{where} has no id")
            events.extend(self._entry_events(account_id, entry, where))
        return events

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        # Meta only needs a fast 200; the body is the one its own samples answer.
        return WebhookResponse(status=200, body="EVENT_RECEIVED", content_type="text/plain")

    def _entry_events(self, account_id: str, entry: JsonObject, where: str) -> list[InboundEvent]:
        raise NotImplementedError

    def _other(
        self,
        account_id: str,
        raw: JsonObject,
        kind: str = "other",
        conversation_key: str | None = None,
        sent_at: datetime | None = None,
    ) -> InboundEvent:
        """An event we only acknowledge; its id is a digest of its content, stable across Meta's redeliveries."""
        return InboundEvent(
            platform=self.name,
            event_id=digest(kind, account_id, raw),
            conversation_key=conversation_key or account_id,
            kind=kind,
            message=None,
            sent_at=sent_at,
        )

    # -- outbound --------------------------------------------------------------------------------------------

    def _post(
        self, client: httpx.Client, path: tuple[str, ...], payload: JsonObject, read_id: MessageIdReader
    ) -> SendResult:
        """POST JSON to the Graph API with the token in the Authorization header, never in the URL (which httpx
        and proxies log), and read Meta's throttling codes, which often come with HTTP 400 or 403, as retryable."""
        token = self.config.access_token
        if not token:
            return refused(f"{self.name}: access_token is not configured")
        if not self.config.api_base_url:
            return refused(f"{self.name}: api_base_url is not configured")
        # Ids come from webhook payloads: quote them so none can rewrite the path.
        url = "/".join([self.config.api_base_url.rstrip("/"), *(quote(part, safe="") for part in path)])
        # The shared call tells "never left" (retryable) from "may have reached Meta" (outcome unknown).
        return send_json(
            client,
            "POST",
            url,
            payload,
            lambda response: _graph_result(response, read_id),
            headers={"Authorization": f"Bearer {token}"},
        )


# -- helpers -------------------------------------------------------------------------------------------------


def objects(parent: JsonObject, key: str, where: str) -> list[JsonObject]:
    """The array `parent[key]` of objects; absent means empty, anything else is a broken envelope."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where}.{key} is not an array")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise PayloadError(f"{where}.{key}[{index}] is not an object")
    return value


def id_of(value: Any) -> str | None:
    """The `id` of a party object (sender, recipient, from, media)."""
    return id_string(value.get("id")) if isinstance(value, dict) else None


def epoch(value: Any, *, per_second: int) -> datetime | None:
    """A Unix timestamp (milliseconds on Messenger, seconds elsewhere); a bad one must not sink the batch."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            value = int(value)  # WhatsApp sends digit strings
        if isinstance(value, int):
            return _EPOCH + timedelta(microseconds=value * (1_000_000 // per_second))
        if isinstance(value, float):
            return _EPOCH + timedelta(seconds=value / per_second)
    except (ValueError, OverflowError):
        return None
    return None


def digest(kind: str, account_id: str, raw: JsonObject) -> str:
    """A stable id for events that carry none (deliveries, reads, reactions): Meta redelivers identical bodies."""
    canonical = json.dumps([kind, account_id, raw], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


def top_level(field: str) -> MessageIdReader:
    """Reads the sent message's id from a top-level field of the Graph answer."""

    def read(body: JsonObject) -> str | None:
        return id_string(body.get(field))

    return read


def _graph_result(response: httpx.Response, read_id: MessageIdReader) -> SendResult:
    message_id = read_id(response_json(response)) if response.is_success else None
    result = result_from_response(response, message_id)
    if not result.ok and not result.retryable and _graph_error_code(response) in THROTTLING_CODES:
        result = replace(result, retryable=True)
    return result


def _graph_error_code(response: httpx.Response) -> int | None:
    error = response_json(response).get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None
