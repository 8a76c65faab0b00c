"""The WhatsApp Cloud API: `changes[].value.messages[]` from people, `statuses[]` of what we sent, and text or
interactive answers POSTed to /{phone-number-id}/messages."""

# The contracts followed, as published by Meta (developers.facebook.com):
# - WhatsApp "messages webhook reference" and "Status messages webhook reference"
#   (/documentation/business-messaging/whatsapp/webhooks/reference/messages[/status]): object
#   "whatsapp_business_account", value.metadata.phone_number_id, contacts[].profile.name by wa_id, messages[] with
#   timestamps in seconds, statuses[] whose id is the id of *our* message (sent, delivered, read, failed).
# - WhatsApp "Text messages" (/documentation/business-messaging/whatsapp/messages/text-messages): POST
#   /{phone-number-id}/messages with `Authorization: Bearer`, messaging_product, recipient_type, to, type, text;
#   `context.message_id` quotes the message answered.

from __future__ import annotations

from typing import ClassVar

import httpx

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from webhooks.adapters.base import refused
from webhooks.adapters.choices import ChoiceLimits
from webhooks.adapters.meta.choices import WHATSAPP_LIST_LIMITS, whatsapp_interactive, whatsapp_payload
from webhooks.adapters.meta.graph import REPLY_WINDOW, GraphAdapter, JsonObject, epoch, objects
from webhooks.adapters.signing import id_string

__all__ = ["WHATSAPP_RULES", "WhatsAppAdapter"]

# A text body up to 4,096 characters; no HUMAN_AGENT tag: past the 24 h only approved templates are delivered.
WHATSAPP_RULES = PlatformRules(reply_window=REPLY_WINDOW, max_text_chars=4096)


class WhatsAppAdapter(GraphAdapter):
    """WhatsApp Cloud API: `changes[].value.messages[]` from people and `statuses[]` of what we sent."""

    name: ClassVar[str] = "whatsapp"
    # Up to 3 options go out as reply buttons (20-character titles), up to 10 as a list (24): the larger is the limit.
    choice_limits: ClassVar[ChoiceLimits | None] = WHATSAPP_LIST_LIMITS
    rules: ClassVar[PlatformRules] = WHATSAPP_RULES
    object_type: ClassVar[str] = "whatsapp_business_account"

    def _entry_events(self, account_id: str, entry: JsonObject, where: str) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for index, change in enumerate(objects(entry, "changes", where)):
            value = change.get("value")
            metadata = value.get("metadata") if isinstance(value, dict) else None
            phone_number_id = id_string(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
            if change.get("field") != "messages" or not isinstance(value, dict) or phone_number_id is None:
                # Account, template and quality updates: acknowledged, not conversations.
                events.append(self._other(account_id, change))
                continue
            here = f"{where}.changes[{index}].value"
            names: dict[str, str] = {}
            for contact in objects(value, "contacts", here):
                profile = contact.get("profile")
                name = profile.get("name") if isinstance(profile, dict) else None
                wa_id = id_string(contact.get("wa_id"))
                if wa_id and isinstance(name, str):
                    names[wa_id] = name
            events += [
                self._message_event(account_id, phone_number_id, message, names)
                for message in objects(value, "messages", here)
            ]
            events += [
                self._status_event(account_id, phone_number_id, status) for status in objects(value, "statuses", here)
            ]
        return events

    def _message_event(
        self, account_id: str, phone_number_id: str, message: JsonObject, names: dict[str, str]
    ) -> InboundEvent:
        sender = id_string(message.get("from"))
        message_id = id_string(message.get("id"))
        if sender is None or message_id is None:
            return self._other(account_id, message)
        key = f"{phone_number_id}:{sender}"
        sent_at = epoch(message.get("timestamp"), per_second=1)
        kind_of = message.get("type")
        if kind_of in ("reaction", "system", "request_welcome"):
            return InboundEvent(
                platform=self.name,
                event_id=message_id,
                conversation_key=key,
                kind="other",
                message=None,
                sent_at=sent_at,
            )
        is_echo = sender in self._own_ids
        inbound = InboundMessage(
            text=_whatsapp_text(message),
            sender_id=sender,
            sender_name=names.get(sender),
            platform=self.name,
            conversation_id=key,
            message_id=message_id,
            is_echo=is_echo,
            choice_payload=None if is_echo else whatsapp_payload(message),
        )
        return InboundEvent(
            platform=self.name,
            event_id=message_id,
            conversation_key=key,
            kind="echo" if is_echo else "message",
            message=inbound,
            reply_target={"to": sender, "phone_number_id": phone_number_id, "message_id": message_id},
            sent_at=sent_at,
        )

    def _status_event(self, account_id: str, phone_number_id: str, status: JsonObject) -> InboundEvent:
        message_id = id_string(status.get("id"))
        state = status.get("status")
        recipient = id_string(status.get("recipient_id"))
        if message_id is None or not isinstance(state, str):
            return self._other(account_id, status, kind="delivery")
        # One message id reports sent, delivered and read in turn: the state is part of the dedupe key.
        return InboundEvent(
            platform=self.name,
            event_id=f"{message_id}:{state}",
            conversation_key=f"{phone_number_id}:{recipient}" if recipient else phone_number_id,
            kind="read" if state == "read" else "delivery",
            message=None,
            sent_at=epoch(status.get("timestamp"), per_second=1),
        )

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        if message.mode != "reply":
            # No HUMAN_AGENT tag and no comments on WhatsApp: past 24 h only approved templates are delivered.
            return refused(f"whatsapp cannot send in mode {message.mode!r}")
        target = message.reply_target
        to = target.get("to")
        # Answer from the number the person wrote to; the configured sender is the fallback.
        phone_number_id = target.get("phone_number_id") or self.config.phone_number_id
        if not to or not phone_number_id:
            return refused("reply needs reply_target['to'] and a phone_number_id")
        payload: JsonObject = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"body": message.text, "preview_url": False},
        }
        interactive = whatsapp_interactive(message.text, message.choices)
        if interactive is not None:
            del payload["text"]
            payload.update(type="interactive", interactive=interactive)
        if target.get("message_id"):
            # Answers arrive after queueing: quoting the question keeps them readable when several are pending.
            payload["context"] = {"message_id": target["message_id"]}
        return self._post(client, (phone_number_id, "messages"), payload, _whatsapp_message_id)


def _whatsapp_text(message: JsonObject) -> str:
    """The words a person typed: text, a button or list choice, or a media caption; otherwise empty."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, dict):
        return ""
    if kind == "text":
        text = body.get("body")
    elif kind == "button":
        text = body.get("text")
    elif kind == "interactive":
        choice = body.get("button_reply") or body.get("list_reply")
        text = choice.get("title") if isinstance(choice, dict) else None
    else:
        text = body.get("caption")  # image, video, document
    return text if isinstance(text, str) else ""


def _whatsapp_message_id(body: JsonObject) -> str | None:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return id_string(messages[0].get("id"))
    return None
