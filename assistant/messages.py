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
    # The payload of a quick reply or button the sender tapped (a `Choice.payload` we offered), when the platform
    # says so; a typed pick ("2", "shipping times") arrives as plain text instead and is matched by the engine.
    choice_payload: str | None = None


CHOICE_PREFIX = "choose:"
HUMAN_CHOICE = CHOICE_PREFIX + "human"


@dataclass(frozen=True)
class Choice:
    """One option of a clarification ("Did you mean: …"): `label` is what the sender sees, `payload` what a tapped
    quick reply sends back (`choose:<entry_id>`, or `choose:human` for "talk to a person")."""

    label: str
    payload: str

    @property
    def entry_id(self) -> str | None:
        if self.payload == HUMAN_CHOICE or not self.payload.startswith(CHOICE_PREFIX):
            return None
        return self.payload.removeprefix(CHOICE_PREFIX)


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
    # Options offered to the sender (a clarification); adapters send them as quick replies or buttons where the
    # platform has them, else the reply text already lists them numbered.
    choices: list[Choice] = field(default_factory=list)
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
            "choices": [{"label": c.label, "payload": c.payload} for c in self.choices],
            "reasons": list(self.reasons),
            "scores": {key: round(value, 4) for key, value in self.scores.items()},
            "latency_ms": round(self.latency_ms, 2),
        }
