"""Pushing an escalation to an external helpdesk as a ticket (Zendesk/Freshdesk-style JSON): which escalations go,
what the ticket says, and what the helpdesk's answer means (pushed, retry later, refused). The signed HTTP call
itself is the caller's `post`."""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from assistant.domain.channels import SendResult
from assistant.services.delivery import backoff_seconds
from assistant.store import Store

log = logging.getLogger("community_assistant.helpdesk")
PRIORITY_NAMES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}


class PushStatus(enum.StrEnum):
    PUSHED = "pushed"
    ALREADY_PUSHED = "already_pushed"
    NOT_CONFIGURED = "not_configured"
    FAILED = "failed"
    RETRY = "retry"


@dataclass(frozen=True)
class PushOutcome:
    status: PushStatus
    retry_after: float | None = None


@dataclass(frozen=True)
class HelpdeskAnswer:
    """What the helpdesk said: the result of the request and the ticket id it gave, if any."""

    result: SendResult
    ticket_id: str | None = None


# Sends one ticket: (a message id stable across retries, the JSON body, the time) → the helpdesk's answer; a transport
# failure is a retryable result, never an exception.
HelpdeskPost = Callable[[str, str, datetime], HelpdeskAnswer]


def ticket_payload(store: Store, escalation_id: int) -> dict[str, object] | None:
    escalation = store.escalation(escalation_id)
    if escalation is None:
        return None
    history = store.history(escalation.conversation_id, limit=20)
    transcript = "\n".join(f"[{item.author}] {item.text}" for item in history)
    return {
        "ticket": {
            "external_id": f"community-assistant-escalation-{escalation.id}",
            "subject": f"[{escalation.queue}] {escalation.reason.replace('_', ' ')}",
            "priority": PRIORITY_NAMES.get(escalation.priority, "normal"),
            "tags": ["community-assistant", escalation.queue, escalation.reason],
            "due_at": escalation.sla_due_at.isoformat() if escalation.sla_due_at else None,
            "comment": {
                "body": transcript
                + (f"\n\nSuggested answer:\n{escalation.suggested_answer}" if escalation.suggested_answer else ""),
                "public": False,
            },
        }
    }


def push_escalation(store: Store, post: HelpdeskPost | None, escalation_id: int, now: datetime) -> PushOutcome:
    """Push one escalation once; `post` is None when no helpdesk is configured."""
    if post is None:
        return PushOutcome(PushStatus.NOT_CONFIGURED)
    escalation = store.escalation(escalation_id)
    if escalation is None or escalation.helpdesk_pushed_at is not None:
        return PushOutcome(PushStatus.ALREADY_PUSHED)
    body = json.dumps(ticket_payload(store, escalation_id), ensure_ascii=False)
    message_id = f"escalation-{escalation_id}"  # stable: the helpdesk can dedupe our retries on it
    answer = post(message_id, body, now)
    result = answer.result
    if result.ok:
        store.mark_escalation_pushed(escalation_id, answer.ticket_id or message_id, now)
        return PushOutcome(PushStatus.PUSHED)
    if result.retryable:
        return PushOutcome(PushStatus.RETRY, backoff_seconds(1, result.retry_after))
    log.warning("helpdesk refused escalation %s: HTTP %s", escalation_id, result.status)
    return PushOutcome(PushStatus.FAILED)
