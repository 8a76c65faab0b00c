"""The interface every platform adapter implements, and the framework-free values it exchanges with the
Flask views and Celery tasks: the raw request in, normalised events out, outbound messages and results."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

import httpx

from assistant.errors import AuthError, BadInput, PlatformError
from assistant.messages import Choice, InboundMessage
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


@dataclass(frozen=True)
class InboundEvent:
    """One event of a webhook delivery, normalised. `message` is None for events we only acknowledge."""

    platform: str
    event_id: str  # the platform's own id: the dedupe key
    conversation_key: str  # stable per conversation (chat, thread or sender) within the platform
    kind: str  # message | comment | echo | delivery | read | reaction | other
    message: InboundMessage | None
    reply_target: dict[str, str] = field(default_factory=dict)  # what `send` needs to answer this event
    sent_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        message = self.message
        return {
            "platform": self.platform,
            "event_id": self.event_id,
            "conversation_key": self.conversation_key,
            "kind": self.kind,
            "message": None
            if message is None
            else {
                "text": message.text,
                "sender_id": message.sender_id,
                "sender_name": message.sender_name,
                "platform": message.platform,
                "conversation_id": message.conversation_id,
                "message_id": message.message_id,
                "language": message.language,
                "is_public": message.is_public,
                "is_echo": message.is_echo,
                "choice_payload": message.choice_payload,
            },
            "reply_target": dict(self.reply_target),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InboundEvent:
        raw = data.get("message")
        return cls(
            platform=data["platform"],
            event_id=data["event_id"],
            conversation_key=data["conversation_key"],
            kind=data["kind"],
            message=InboundMessage(**raw) if raw else None,
            reply_target=dict(data.get("reply_target") or {}),
            sent_at=datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else None,
        )


@dataclass(frozen=True)
class OutboundMessage:
    platform: str
    reply_target: dict[str, str]
    text: str
    idempotency_key: str  # stable for one intended message: a retry reuses it
    mode: str = "reply"  # reply | public_reply | private_reply | human_agent (Meta tag outside 24 h)
    # Options to offer as quick replies or buttons where the platform has them; `text` already lists them numbered.
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: int | None = None
    platform_message_id: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After or the platform's own field
    retryable: bool = False  # 429, 5xx, connection refused before anything was sent
    outcome_unknown: bool = False  # timeout after the request left: do not blindly resend
    error: str | None = None


@dataclass(frozen=True)
class PlatformRules:
    """What a platform allows a reply, declared once on its adapter class and read through the registry; the worker
    and the console apply it with `reply_windows.reply_window` and never keep a platform list of their own."""

    # A reply is accepted only this long after the person's last message (None: any time).
    reply_window: timedelta | None = None
    # Past `reply_window`, a reply tagged as a person's answer (Meta's HUMAN_AGENT) is accepted this long (None: no
    # such tag, the window is final).
    tagged_reply_window: timedelta | None = None
    # The longest text one message may carry (None: no limit we know of). Declared, not enforced: a longer reply is
    # not split, the platform refuses it and the conversation goes to a person (README, Limits and known gaps).
    max_text_chars: int | None = None


NO_RULES = PlatformRules()


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


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


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
