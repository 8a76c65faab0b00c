"""What the core exchanges with the messaging platforms, free of any web framework: a normalised inbound event, an
outbound message and the result of sending it, the rules a platform sets on replies, and `Channel`, what the
delivery use case needs from a platform adapter (its rules and a way to send). The adapters in `webhooks.adapters`
produce and consume these values and declare their `PlatformRules`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from assistant.domain.messages import Choice, InboundMessage

# The kinds of event that carry a message to decide.
DECIDED_KINDS = ("message", "comment")


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

    @property
    def decidable(self) -> bool:
        """Whether the event carries a message to decide; the others (echoes, deliveries, reads, reactions) are
        acknowledged only."""
        return self.message is not None and self.kind in DECIDED_KINDS

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
                "received_chars": message.received_chars,
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
    and the console apply it with `assistant.domain.reply_windows.reply_window` and never keep a platform list of
    their own."""

    # A reply is accepted only this long after the person's last message (None: any time).
    reply_window: timedelta | None = None
    # Past `reply_window`, a reply tagged as a person's answer (Meta's HUMAN_AGENT) is accepted this long (None: no
    # such tag, the window is final).
    tagged_reply_window: timedelta | None = None
    # The longest text one message may carry (None: no limit we know of). Declared, not enforced: a longer reply is
    # not split, the platform refuses it and the conversation goes to a person (README, Limits and known gaps).
    max_text_chars: int | None = None


NO_RULES = PlatformRules()


class Channel(Protocol):
    """One platform as the delivery use case sees it: the rules its adapter declares, and a send that already holds
    whatever connection the adapter needs (the runtime binds the adapter to its HTTP client)."""

    @property
    def rules(self) -> PlatformRules: ...

    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message; a transport failure is a `SendResult`, never an exception."""
        ...
