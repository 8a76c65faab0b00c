"""The HTTP side of the helpdesk push: each ticket goes to `service.helpdesk_url` as a webhook signed with the
Standard Webhooks headers. What is pushed and what the answer means is `assistant.services.helpdesk`."""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from standardwebhooks.webhooks import Webhook

from assistant.domain.channels import SendResult
from assistant.services.helpdesk import HelpdeskAnswer, HelpdeskPost
from assistant.settings import ServiceConfig
from webhooks.adapters.base import result_from_response

log = logging.getLogger("community_assistant.helpdesk")


def helpdesk_post(service: ServiceConfig, http: httpx.Client) -> HelpdeskPost | None:
    """The configured helpdesk's ticket webhook, or None when there is none."""
    url = service.helpdesk_url
    if not url:
        return None
    secret = service.helpdesk_secret

    def post(message_id: str, body: str, now: datetime) -> HelpdeskAnswer:
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if secret:
            headers["webhook-signature"] = Webhook(secret).sign(message_id, now, body)
        try:
            response = http.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as error:
            log.warning("helpdesk push of %s failed: %s", message_id, type(error).__name__)
            return HelpdeskAnswer(SendResult(ok=False, retryable=True, error=type(error).__name__))
        result = result_from_response(response)
        return HelpdeskAnswer(result, _ticket_id(response) if result.ok else None)

    return post


def _ticket_id(response: httpx.Response) -> str | None:
    try:
        return str(response.json().get("ticket", {}).get("id") or "") or None
    except (ValueError, AttributeError):
        return None
