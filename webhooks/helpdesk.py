"""Push escalations to an external helpdesk as signed ticket-creation webhooks (Zendesk/Freshdesk-style
JSON, Standard Webhooks signature headers), so teams that live in a helpdesk see them there too."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from webhooks.adapters.base import result_from_response
from webhooks.runtime import Runtime
from webhooks.worker import backoff_seconds

log = logging.getLogger("community_assistant.helpdesk")
PRIORITY_NAMES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}


@dataclass(frozen=True)
class PushOutcome:
    status: str  # pushed | already_pushed | not_configured | failed | retry
    retry_after: float | None = None


def ticket_payload(runtime: Runtime, escalation_id: int) -> dict[str, object] | None:
    escalation = runtime.store.escalation(escalation_id)
    if escalation is None:
        return None
    history = runtime.store.history(escalation.conversation_id, limit=20)
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


def push_to_helpdesk(runtime: Runtime, escalation_id: int) -> PushOutcome:
    service = runtime.settings.service
    if not service.helpdesk_url:
        return PushOutcome("not_configured")
    escalation = runtime.store.escalation(escalation_id)
    if escalation is None or escalation.helpdesk_pushed_at is not None:
        return PushOutcome("already_pushed")
    payload = ticket_payload(runtime, escalation_id)
    body = json.dumps(payload, ensure_ascii=False)
    message_id = f"escalation-{escalation_id}"  # stable: the helpdesk can dedupe our retries on it
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    if service.helpdesk_secret:
        headers["webhook-signature"] = Webhook(service.helpdesk_secret).sign(message_id, now, body)
    try:
        response = runtime.http.post(service.helpdesk_url, content=body.encode("utf-8"), headers=headers)
    except httpx.HTTPError as error:
        log.warning("helpdesk push of escalation %s failed: %s", escalation_id, type(error).__name__)
        return PushOutcome("retry", backoff_seconds(1, None))
    result = result_from_response(response)
    if result.ok:
        ticket_id = None
        try:
            ticket_id = str(response.json().get("ticket", {}).get("id") or "") or None
        except (ValueError, AttributeError):
            ticket_id = None
        runtime.store.mark_escalation_pushed(escalation_id, ticket_id or message_id, now)
        return PushOutcome("pushed")
    if result.retryable:
        return PushOutcome("retry", backoff_seconds(1, result.retry_after))
    log.warning("helpdesk refused escalation %s: HTTP %s", escalation_id, result.status)
    return PushOutcome("failed")
