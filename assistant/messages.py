"""The values that cross the engine's boundary: an inbound message, the conversation it belongs to, and
the decision the engine takes about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class HandoffState(enum.StrEnum):
    """Who owns the conversation; the bot speaks only in BOT."""

    BOT = "bot"
    WAITING_FOR_HUMAN = "waiting_for_human"
    HUMAN = "human"
    CLOSED = "closed"


class Action(enum.StrEnum):
    ANSWER = "answer"
    ESCALATE = "escalate"
    MODERATE = "moderate"
    IGNORE = "ignore"


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


class EscalationReason(enum.StrEnum):
    HUMAN_REQUESTED = "human_requested"
    COMPLAINT = "complaint"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    RISKY_TOPIC = "risky_topic"
    LOW_CONFIDENCE = "low_confidence"
    OUT_OF_SCOPE = "out_of_scope"
    IN_HOURS_POLICY = "in_hours_policy"
    FEEDBACK = "feedback"
    DELIVERY_FAILED = "delivery_failed"
    ABUSE = "abuse"
    SPAM = "spam"


@dataclass(frozen=True)
class InboundMessage:
    """One message from a person, normalised across platforms."""

    text: str
    sender_id: str = "anonymous"
    sender_name: str | None = None
    platform: str = "cli"
    conversation_id: str | None = None
    message_id: str | None = None
    # A language the platform or caller already knows; detection is skipped when set.
    language: str | None = None
    is_public: bool = False
    is_echo: bool = False


@dataclass
class ConversationState:
    """What the engine needs to know about the conversation so far."""

    handoff: HandoffState = HandoffState.BOT
    rephrase_asked: bool = False
    holding_reply_sent: bool = False
    turns: int = 0


@dataclass
class Decision:
    """What to do with one message, with every reason and score that led there."""

    action: Action
    language: str
    reply: str | None = None
    # Which template or source produced `reply` (faq, intent_greet, rephrase, holding_out_of_hours, …).
    reply_kind: str | None = None
    entry_id: str | None = None
    intent: str | None = None
    confidence: float = 0.0
    queue: str | None = None
    priority: Priority | None = None
    reason: EscalationReason | None = None
    suggested_answer: str | None = None
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "language": self.language,
            "reply": self.reply,
            "reply_kind": self.reply_kind,
            "entry_id": self.entry_id,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "queue": self.queue,
            "priority": self.priority.name.lower() if self.priority is not None else None,
            "reason": self.reason.value if self.reason is not None else None,
            "suggested_answer": self.suggested_answer,
            "reasons": list(self.reasons),
            "scores": {key: round(value, 4) for key, value in self.scores.items()},
            "latency_ms": round(self.latency_ms, 2),
        }
