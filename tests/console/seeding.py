"""Escalations for console tests, written through the real stores as the worker writes them: a conversation
with its reply target, the customer's message, the engine's decision and the open escalation."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from assistant.domain.messages import Action, Decision, EscalationReason, Priority
from assistant.store import Store

_ids = itertools.count(int(time.time() * 1000) % 10_000_000)


@dataclass(frozen=True)
class Seeded:
    escalation_id: int
    conversation_id: int
    message_id: int
    conversation_key: str


def seed_escalation(
    store: Store,
    *,
    queue: str = "support",
    platform: str = "telegram",
    text: str = "My order never arrived",
    reason: EscalationReason = EscalationReason.HUMAN_REQUESTED,
    priority: Priority = Priority.NORMAL,
    language: str = "en",
    sender_name: str | None = "Anna",
    suggested_answer: str | None = "Orders arrive within 5 working days.",
    sla_due_at: datetime | None = None,
    received_at: datetime | None = None,
    reply_target: dict[str, str] | None = None,
    conversation_key: str | None = None,
    entry_id: str | None = "delivery_time",
) -> Seeded:
    number = next(_ids)
    key = conversation_key or str(number)
    at = received_at or datetime.now(UTC)
    conversation = store.conversation(platform, key, f"user-{number}", sender_name)
    target = reply_target if reply_target is not None else {"chat_id": key}
    message_id = store.record_inbound(
        conversation.id, platform, f"evt-{number}", text, language, False, at, reply_target=target
    )
    assert message_id is not None
    decision = Decision(
        action=Action.ESCALATE,
        language=language,
        reply="A colleague will get back to you.",
        reply_kind="holding",
        entry_id=entry_id,
        intent=entry_id,
        confidence=0.42,
        queue=queue,
        priority=priority,
        reason=reason,
        suggested_answer=suggested_answer,
        reasons=[f"escalated: {reason.value}"],
        scores={"confidence": 0.42, "negative": 0.1},
    )
    store.record_decision(message_id, decision)
    escalation_id = store.open_escalation(
        conversation.id,
        message_id,
        queue,
        int(priority),
        reason.value,
        suggested_answer,
        sla_due_at or (datetime.now(UTC) + timedelta(hours=4)),
    )
    return Seeded(escalation_id, conversation.id, message_id, key)
