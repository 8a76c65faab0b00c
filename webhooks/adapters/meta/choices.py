"""Choices on Meta's platforms: Messenger and Instagram quick replies, WhatsApp reply buttons and list messages, and
the payload of a tapped one read back from the webhook."""

# Contracts followed (developers.facebook.com):
# - Messenger quick replies (/docs/messenger-platform/send-messages/quick-replies, reference
#   /docs/messenger-platform/reference/buttons/quick-replies): `message.quick_replies`, at most 13, each
#   `{"content_type": "text", "title", "payload"}`; the title is cut by Meta past 20 characters, the payload holds up to
#   1,000. A tap posts the title as an ordinary `message` whose `quick_reply.payload` is ours.
# - Instagram quick replies (/docs/messenger-platform/instagram/features/quick-replies): the same shape, plain text
#   only, 13 at most, 20 characters per title; the webhook's `message.text` is the title, `message.quick_reply.payload`
#   the payload.
# - WhatsApp interactive reply buttons (/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-
#   messages): `type: interactive`, `interactive: {"type": "button", "body": {"text"}, "action": {"buttons": [{"type":
#   "reply", "reply": {"id", "title"}}]}}`, at most 3 buttons, titles up to 20 characters and unique within the
#   message, ids up to 256; body text up to 1,024 characters.
# - WhatsApp interactive list messages (/documentation/business-messaging/whatsapp/messages/interactive-list-messages):
#   `interactive: {"type": "list", "body", "action": {"button", "sections": [{"rows": [{"id", "title",
#   "description"}]}]}}`, up to 10 rows over all sections, `button` (the label that opens the list) up to 20
#   characters, row titles up to 24, descriptions up to 72, row ids up to 200.
# - WhatsApp messages webhook: a tap arrives as `type: interactive` with `interactive.button_reply {id, title}` or
#   `interactive.list_reply {id, title, description}`; a template's quick-reply button as `type: button` with
#   `button {text, payload}`.

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.domain.messages import Choice
from webhooks.adapters.choices import ChoiceLimits, buttons, our_choice, shorten

QUICK_REPLY_LIMITS = ChoiceLimits(max_choices=13, title_chars=20, payload_chars=1000)
WHATSAPP_BUTTON_LIMITS = ChoiceLimits(max_choices=3, title_chars=20, payload_chars=256)
WHATSAPP_LIST_LIMITS = ChoiceLimits(max_choices=10, title_chars=24, payload_chars=200)
WHATSAPP_INTERACTIVE_BODY_CHARS = 1024
WHATSAPP_ROW_DESCRIPTION_CHARS = 72
WHATSAPP_LIST_BUTTON_CHARS = 20

JsonObject = dict[str, Any]


def quick_replies(choices: Sequence[Choice]) -> list[JsonObject]:
    """Messenger / Instagram `quick_replies` for the options (empty when none fits)."""
    return [
        {"content_type": "text", "title": b.title, "payload": b.payload} for b in buttons(choices, QUICK_REPLY_LIMITS)
    ]


def whatsapp_interactive(text: str, choices: Sequence[Choice]) -> JsonObject | None:
    """The `interactive` object for a WhatsApp reply with options: reply buttons for up to three, a list beyond; None
    when the text is too long for an interactive body or nothing fits (the plain text lists the options anyway)."""
    if not choices or not text.strip() or len(text) > WHATSAPP_INTERACTIVE_BODY_CHARS:
        return None
    if len(buttons(choices, WHATSAPP_LIST_LIMITS)) <= WHATSAPP_BUTTON_LIMITS.max_choices:
        replies = buttons(choices, WHATSAPP_BUTTON_LIMITS)
        if not replies:
            return None
        return {
            "type": "button",
            "body": {"text": text},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b.payload, "title": b.title}} for b in replies]},
        }
    rows = buttons(choices, WHATSAPP_LIST_LIMITS)
    labels = {choice.payload: choice.label for choice in choices}
    listed: list[JsonObject] = []
    for row in rows:
        item: JsonObject = {"id": row.payload, "title": row.title}
        label = " ".join(labels[row.payload].split())
        if row.title != label:
            # A title cut to 24 characters keeps the whole label readable underneath.
            item["description"] = shorten(label, WHATSAPP_ROW_DESCRIPTION_CHARS)
        listed.append(item)
    # The list's opening button needs a label in no particular language: the option numbers the text lists.
    opener = shorten(f"1–{len(choices)}", WHATSAPP_LIST_BUTTON_CHARS)
    return {"type": "list", "body": {"text": text}, "action": {"button": opener, "sections": [{"rows": listed}]}}


def quick_reply_payload(message: JsonObject) -> str | None:
    """Our payload from a Messenger / Instagram message sent by tapping a quick reply."""
    quick_reply = message.get("quick_reply")
    return our_choice(quick_reply.get("payload")) if isinstance(quick_reply, dict) else None


def whatsapp_payload(message: JsonObject) -> str | None:
    """Our payload from a WhatsApp button or list reply (or a template's quick-reply button)."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, dict):
        return None
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        return our_choice(reply.get("id")) if isinstance(reply, dict) else None
    if kind == "button":
        return our_choice(body.get("payload"))
    return None
