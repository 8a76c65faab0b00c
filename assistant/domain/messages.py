"""The values that cross the engine's boundary: an inbound message, the conversation it belongs to, and
the decision the engine takes about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class HandoffState(enum.StrEnum):
    """Who owns the conversation; the bot speaks only in BOT."""

    BOT = "bot"
    WAITING_FOR_HUMAN = "waiting_for_human"
    HUMAN = "human"
    CLOSED = "closed"


class EscalationStatus(enum.StrEnum):
    """Where an escalation stands: waiting for a person, held by one, or settled."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class OutboundStatus(enum.StrEnum):
    """A reserved send. FAILED may be retried; DEAD failed for good; UNKNOWN timed out with an unknown outcome
    and is never resent by itself."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    UNKNOWN = "unknown"


class Action(enum.StrEnum):
    ANSWER = "answer"
    ESCALATE = "escalate"
    MODERATE = "moderate"
    IGNORE = "ignore"


class DecisionKind(enum.StrEnum):
    """What kind of reply a decision is, set by the policy alone. Only KB_ANSWER counts as "answered"."""

    KB_ANSWER = "kb_answer"  # an FAQ entry's answer (the decision names the entry)
    CLARIFICATION = "clarification"  # asked to rephrase, or offered choices ("Did you mean: …")
    TEMPLATE = "template"  # greeting, thanks, goodbye, small talk from a reply template
    ESCALATION = "escalation"  # handed to a person (with or without a holding reply)
    MODERATION = "moderation"  # spam or abuse: hidden and/or flagged
    SILENCE = "silence"  # nothing to say: echoes, a person owns it, no words


class PickMethod(enum.StrEnum):
    """How the sender picked one of the offered choices."""

    PAYLOAD = "payload"  # tapped a quick reply or button
    NUMBER = "number"  # typed its number or ordinal ("2", "the second", "le deuxième")
    LABEL = "label"  # typed its label


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


class InboxStatus(enum.StrEnum):
    """Where a verified webhook event stands in the durable inbox (the `inbox` table)."""

    RECEIVED = "received"  # stored and queued, not decided yet: the sweeper queues it again if it stalls
    DONE = "done"  # decided (its payload is dropped: the message row holds what is kept)
    FAILED = "failed"  # could not be decided after every attempt: a person has it as `processing_failed`


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
    PROCESSING_FAILED = "processing_failed"  # the service could not decide the message: a person reads it
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
    # The text's length as received when it was longer than the service stores (`text` holds the start only).
    received_chars: int | None = None


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
    # A clarification (a request to rephrase, or choices) was asked on the last question: the next unsure one escalates.
    rephrase_asked: bool = False
    holding_reply_sent: bool = False
    turns: int = 0
    # The language the conversation was last decided in: the language identifier's hint for short messages.
    language: str | None = None
    # The choices the bot's last reply offered (empty unless that reply was a clarification with choices).
    offered_choices: list[Choice] = field(default_factory=list)
    # The previous customer question (as it was read), the entry it was answered with, and when it was asked.
    previous_text: str | None = None
    previous_entry_id: str | None = None
    previous_at: datetime | None = None


@dataclass
class Decision:
    """What to do with one message, with every reason and score that led there."""

    action: Action
    language: str
    # Set by the policy for every decision it takes; None only for decisions made outside it (tests, tools).
    kind: DecisionKind | None = None
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
    # How the sender picked one of the choices offered on the previous turn, when this decision resolves a pick.
    picked: PickMethod | None = None
    # The text decided on when it is not the message alone: a short follow-up read with the previous turn.
    read_as: str | None = None
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "language": self.language,
            "kind": self.kind.value if self.kind is not None else None,
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
            "picked": self.picked.value if self.picked is not None else None,
            "read_as": self.read_as,
            "reasons": list(self.reasons),
            "scores": {key: round(value, 4) for key, value in self.scores.items()},
            "latency_ms": round(self.latency_ms, 2),
        }
