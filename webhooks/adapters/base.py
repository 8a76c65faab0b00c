"""The interface every platform adapter implements, and the values it exchanges with the Flask views: the raw
request in and the answer out. The events, messages, results and rules it shares with the core live in
`assistant.domain.channels`."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

import httpx

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.errors import AuthError, BadInput, PlatformError
from assistant.settings import PlatformConfig
from webhooks.adapters.choices import ChoiceLimits


class WebhookError(PlatformError):
    """A request we refuse; `status` is the HTTP status to answer and `reason` a log-safe explanation."""

    status = 400

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class SignatureError(WebhookError, AuthError):
    """Missing, forged or stale signature: nothing is stored."""

    status = 401


class PayloadError(WebhookError, BadInput):
    """Malformed JSON or a body that does not follow the platform's contract."""

    status = 400


@dataclass(frozen=True)
class WebhookRequest:
    """What the Flask view hands an adapter: exactly the bytes that arrived, and when."""

    method: str
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    body: bytes
    received_at: datetime

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class WebhookResponse:
    """An answer the adapter dictates (handshakes, challenges, Discord's deferred response)."""

    status: int = 200
    body: str | bytes = ""
    content_type: str = "text/plain"


class PlatformAdapter(Protocol):
    """One platform. No Flask here: the views give it a WebhookRequest and act on what it returns."""

    name: ClassVar[str]
    # How many options this platform shows as quick replies or buttons, and how long their titles and payloads may
    # be; None where it has none (the numbered list in the text is all the sender gets).
    choice_limits: ClassVar[ChoiceLimits | None]
    # Reply windows and message length (see PlatformRules).
    rules: ClassVar[PlatformRules]

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        """The answer to a verification request (GET challenge, url_verification, CRC, PING), else None."""

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureError unless the raw body is signed by the platform and fresh."""

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """Every event of the delivery; raise PayloadError for malformed bodies."""

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        """The immediate answer once events are queued (usually an empty 200)."""

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        """Deliver one message through the platform's API (base URL from settings); see signing.request_json."""


class ConfiguredAdapter:
    """The state every adapter starts from: its platform's settings (secrets, API base URL, own ids)."""

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def refused(reason: str) -> SendResult:
    """Nothing was sent and retrying cannot help (no token configured, a reply target it cannot use)."""
    return SendResult(ok=False, error=reason)


def result_from_response(response: httpx.Response, message_id: str | None = None) -> SendResult:
    """The common reading of an HTTP answer: 2xx ok, 429 and 5xx retryable with Retry-After honoured."""
    retry_after = None
    header = response.headers.get("retry-after")
    if header:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    if response.is_success:
        return SendResult(ok=True, status=response.status_code, platform_message_id=message_id)
    retryable = response.status_code == 429 or response.status_code >= 500
    return SendResult(
        ok=False, status=response.status_code, retry_after=retry_after, retryable=retryable, error=response.text[:300]
    )
