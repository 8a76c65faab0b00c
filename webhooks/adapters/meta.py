"""Meta's three platforms behind one base: Messenger (DMs, Page comments), Instagram (DMs, comments) and the
WhatsApp Cloud API; the base owns the X-Hub-Signature-256 check, the hub.challenge handshake and the Graph POST."""

# The contracts followed, as published by Meta (developers.facebook.com):
# - Graph API Webhooks, "Getting Started" (/docs/graph-api/webhooks/getting-started): GET verification request
#   (hub.mode=subscribe, hub.verify_token, answer hub.challenge) and signed event notifications
#   (X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw payload keyed by the app secret>).
# - Messenger Platform webhook events (/documentation/business-messaging/messenger-platform/webhooks/webhook-events,
#   .../messages, .../message-echoes, .../message-deliveries, .../message-reads, .../message-reactions): `entry` is an
#   array that may hold many objects, each with a `messaging` array; timestamps in milliseconds; `seq` is gone, the
#   `mid` is the dedupe key; deliveries and reads carry no mid of their own.
# - Webhooks for Pages and the Page webhook reference (/docs/pages-api/webhooks-for-pages,
#   /docs/graph-api/webhooks/reference/page): `feed` changes with item, verb, comment_id, post_id, from{id,name},
#   message, created_time (seconds).
# - Instagram Messaging webhooks (/documentation/business-messaging/instagram-messaging/webhooks), Instagram Platform
#   webhook examples (/documentation/instagram-platform/webhooks/examples) and the Instagram webhook reference
#   (/docs/graph-api/webhooks/reference/instagram): object "instagram", DMs in `messaging` with echoes flagged
#   is_echo, comments as `changes` field "comments" with value.id, text, from{id,username}, media{id}.
# - WhatsApp "messages webhook reference" and "Status messages webhook reference"
#   (/documentation/business-messaging/whatsapp/webhooks/reference/messages[/status]): object
#   "whatsapp_business_account", value.metadata.phone_number_id, contacts[].profile.name by wa_id, messages[] with
#   timestamps in seconds, statuses[] whose id is the id of *our* message (sent, delivered, read, failed).
# - Send API reference (/docs/messenger-platform/reference/send-api), "Send a Message" and Message Tags
#   (/docs/messenger-platform/send-messages, .../message-tags: HUMAN_AGENT answers within 7 days of the person's last
#   message; ordinary replies within 24 h), Private Replies (/docs/messenger-platform/discovery/private-replies and
#   /docs/instagram-platform/private-replies: recipient {"comment_id"}, one message, within 7 days).
# - Graph API /{object-id}/comments (publish a reply to a Page comment) and IG Comment Replies
#   (/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies: POST /{ig-comment-id}/replies).
# - WhatsApp "Text messages" (/documentation/business-messaging/whatsapp/messages/text-messages): POST
#   /{phone-number-id}/messages with `Authorization: Bearer`, messaging_product, recipient_type, to, type, text;
#   `context.message_id` quotes the message answered.
# - Graph API "Handling Errors" (/docs/graph-api/guides/error-handling) and "Rate Limits"
#   (/docs/graph-api/overview/rate-limiting): throttling comes back as error.code 4, 17, 32 or 613 ("wait and retry"),
#   often with HTTP 400/403 rather than 429; WhatsApp "Error codes" (/documentation/business-messaging/whatsapp/support/
#   error-codes) adds 80007 (account rate limit), 130429 (throughput) and 131056 (pair rate limit).

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from assistant.settings import PlatformConfig
from webhooks.adapters.base import (
    PayloadError,
    SignatureError,
    WebhookRequest,
    WebhookResponse,
    constant_time_equal,
    result_from_response,
)
from webhooks.adapters.choices import ChoiceLimits, our_choice
from webhooks.adapters.meta_choices import (
    QUICK_REPLY_LIMITS,
    WHATSAPP_LIST_LIMITS,
    quick_replies,
    quick_reply_payload,
    whatsapp_interactive,
    whatsapp_payload,
)
from webhooks.adapters.signing import id_string, request_json, response_json

__all__ = ["HUMAN_AGENT_WINDOW", "REPLY_WINDOW", "InstagramAdapter", "MessengerAdapter", "WhatsAppAdapter"]

# Messenger, Instagram and WhatsApp accept a free-form reply within 24 h of the person's last message; Messenger and
# Instagram allow a HUMAN_AGENT-tagged answer up to 7 days (WhatsApp needs an approved template instead).
REPLY_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# Send API text up to 2,000 characters (Messenger and Instagram); a WhatsApp text body up to 4,096.
PAGE_MESSAGING_RULES = PlatformRules(
    reply_window=REPLY_WINDOW, tagged_reply_window=HUMAN_AGENT_WINDOW, max_text_chars=2000
)
WHATSAPP_RULES = PlatformRules(reply_window=REPLY_WINDOW, max_text_chars=4096)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
_HEX = frozenset("0123456789abcdef")
# Graph throttling (4 app, 17 user, 32 page, 613 custom) and WhatsApp throughput limits: the message was refused
# before delivery, so a later retry cannot duplicate it.
_THROTTLING_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131056})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

JsonObject = dict[str, Any]
MessageIdReader = Callable[[JsonObject], str | None]


class _MetaAdapter:
    """What every Meta product shares: the verification handshake, the signature, the envelope and the POST."""

    name: ClassVar[str]
    object_type: ClassVar[str]  # the envelope's `object`

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self._own_ids = frozenset(config.own_ids)

    # -- inbound ---------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        if request.method.upper() != "GET":
            return None
        if request.query.get("hub.mode") != "subscribe":
            raise PayloadError("a GET must be a verification request (hub.mode=subscribe)")
        expected = self.config.verify_token
        if not expected:
            # An empty token on both sides would compare equal and let anyone claim the endpoint.
            raise SignatureError("verify_token is not configured; subscription refused", status=403)
        if not constant_time_equal(request.query.get("hub.verify_token", ""), expected):
            raise SignatureError("hub.verify_token does not match", status=403)
        challenge = request.query.get("hub.challenge")
        if not challenge:
            raise PayloadError("verification request without hub.challenge")
        return WebhookResponse(status=200, body=challenge, content_type="text/plain")

    def verify(self, request: WebhookRequest) -> None:
        secret = self.config.app_secret
        if not secret:
            # Never fall back to accepting unsigned bodies: a missing secret is a deployment error.
            raise SignatureError("app_secret is not configured; unsigned deliveries are refused")
        header = request.header(SIGNATURE_HEADER)
        if header is None:
            raise SignatureError(f"missing {SIGNATURE_HEADER}")
        header = header.strip()
        if not header.startswith(_SIGNATURE_PREFIX):
            raise SignatureError(f"{SIGNATURE_HEADER} is not of the form sha256=<hex>")
        offered = header[len(_SIGNATURE_PREFIX) :].lower()
        if len(offered) != 64 or not set(offered) <= _HEX:
            raise SignatureError(f"{SIGNATURE_HEADER} is not of the form sha256=<hex>")
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not constant_time_equal(expected, offered):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        payload = _load_object(request.body)
        if payload.get("object") != self.object_type:
            raise PayloadError(f"`object` is not {self.object_type!r}")
        if "entry" not in payload:
            raise PayloadError("payload has no `entry` array")
        events: list[InboundEvent] = []
        # Meta batches: several entries per POST and several events per entry; every one is returned, in order.
        for index, entry in enumerate(_objects(payload, "entry", "payload")):
            where = f"entry[{index}]"
            account_id = id_string(entry.get("id"))
            if account_id is None:
                raise PayloadError(f"{where} has no id")
            events.extend(self._entry_events(account_id, entry, where))
        return events

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        # Meta only needs a fast 200; the body is the one its own samples answer.
        return WebhookResponse(status=200, body="EVENT_RECEIVED", content_type="text/plain")

    def _entry_events(self, account_id: str, entry: JsonObject, where: str) -> list[InboundEvent]:
        raise NotImplementedError

    def _other(
        self,
        account_id: str,
        raw: JsonObject,
        kind: str = "other",
        conversation_key: str | None = None,
        sent_at: datetime | None = None,
    ) -> InboundEvent:
        """An event we only acknowledge; its id is a digest of its content, stable across Meta's redeliveries."""
        return InboundEvent(
            platform=self.name,
            event_id=_digest(kind, account_id, raw),
            conversation_key=conversation_key or account_id,
            kind=kind,
            message=None,
            sent_at=sent_at,
        )

    # -- outbound --------------------------------------------------------------------------------------------

    def _post(
        self, client: httpx.Client, path: tuple[str, ...], payload: JsonObject, read_id: MessageIdReader
    ) -> SendResult:
        """POST JSON to the Graph API with the token in the Authorization header, never in the URL (which httpx
        and proxies log), and read Meta's throttling codes, which often come with HTTP 400 or 403, as retryable."""
        token = self.config.access_token
        if not token:
            return _refused(f"{self.name}: access_token is not configured")
        if not self.config.api_base_url:
            return _refused(f"{self.name}: api_base_url is not configured")
        # Ids come from webhook payloads: quote them so none can rewrite the path.
        url = "/".join([self.config.api_base_url.rstrip("/"), *(quote(part, safe="") for part in path)])
        # The shared call tells "never left" (retryable) from "may have reached Meta" (outcome unknown).
        outcome = request_json(client, "POST", url, payload, headers={"Authorization": f"Bearer {token}"})
        if isinstance(outcome, SendResult):
            return outcome
        response = outcome
        message_id = read_id(response_json(response)) if response.is_success else None
        result = result_from_response(response, message_id)
        if not result.ok and not result.retryable and _graph_error_code(response) in _THROTTLING_CODES:
            result = replace(result, retryable=True)
        return result


class _PageMessagingAdapter(_MetaAdapter):
    """Messenger and Instagram share the Messenger Platform: the same `messaging` events and the same Send API."""

    public_reply_edge: ClassVar[str]  # Facebook comments answer on /comments, Instagram comments on /replies

    def _entry_events(self, account_id: str, entry: JsonObject, where: str) -> list[InboundEvent]:
        events = [
            self._messaging_event(account_id, event, standby=False) for event in _objects(entry, "messaging", where)
        ]
        # Standby: another app owns the thread (handover protocol); keep the record, never answer it.
        events += [
            self._messaging_event(account_id, event, standby=True) for event in _objects(entry, "standby", where)
        ]
        events += [self._change_event(account_id, change) for change in _objects(entry, "changes", where)]
        return events

    def _change_event(self, account_id: str, change: JsonObject) -> InboundEvent:
        raise NotImplementedError

    def _messaging_event(self, account_id: str, event: JsonObject, *, standby: bool) -> InboundEvent:
        sender_id = _id_of(event.get("sender"))
        recipient_id = _id_of(event.get("recipient"))
        message = event.get("message")
        is_echo = (
            (isinstance(message, dict) and message.get("is_echo") is True)
            or sender_id == account_id
            or sender_id in self._own_ids
        )
        # Our own messages belong to the conversation with the person they went to.
        person = recipient_id if is_echo else sender_id
        if person is None:
            return self._other(account_id, event)
        key = f"{account_id}:{person}"
        sent_at = _epoch(event.get("timestamp"), per_second=1000)
        target = {"recipient_id": person, "account_id": account_id}

        if isinstance(message, dict):
            mid = id_string(message.get("mid"))
            if mid is None:
                return self._other(account_id, event, conversation_key=key, sent_at=sent_at)
            if message.get("is_deleted") is True:
                # An unsent message reuses the original mid: a distinct id keeps it from being deduped away.
                return InboundEvent(
                    platform=self.name,
                    event_id=f"{mid}:deleted",
                    conversation_key=key,
                    kind="other",
                    message=None,
                    reply_target=target,
                    sent_at=sent_at,
                )
            text = message.get("text")
            kind = "echo" if is_echo else ("other" if standby else "message")
            # Attachments without text keep kind "message" with empty text: recorded, and ignored by the engine.
            # A tapped quick reply is a message too: its text is the title, `quick_reply.payload` the option.
            return self._event(
                mid,
                key,
                kind,
                text if isinstance(text, str) else "",
                sender_id or person,
                {**target, "message_id": mid},
                sent_at,
                is_echo=is_echo,
                choice_payload=quick_reply_payload(message),
            )
        if "delivery" in event:
            return self._other(account_id, event, kind="delivery", conversation_key=key, sent_at=sent_at)
        if "read" in event:
            return self._other(account_id, event, kind="read", conversation_key=key, sent_at=sent_at)
        postback = event.get("postback")
        if isinstance(postback, dict):
            title = postback.get("title")
            event_id = id_string(postback.get("mid")) or _digest("postback", account_id, event)
            # A postback button carrying one of our choices is a pick; any other postback (Get Started, a
            # persistent menu) is recorded only.
            payload = None if standby else our_choice(postback.get("payload"))
            text = title if isinstance(title, str) and title.strip() else (payload or "")
            return self._event(
                event_id,
                key,
                "message" if payload else "other",
                text,
                sender_id or person,
                target,
                sent_at,
                choice_payload=payload,
            )
        # Reactions, edits, referrals, opt-ins…: acknowledged and recorded, never answered.
        return self._other(account_id, event, conversation_key=key, sent_at=sent_at)

    def _comment_event(
        self,
        account_id: str,
        *,
        comment_id: str,
        thread_id: str,
        author_id: str,
        author_name: str | None,
        text: Any,
        sent_at: datetime | None,
        reply_target: dict[str, str],
    ) -> InboundEvent:
        # Our own public replies come back as comments too: they are echoes, never questions.
        is_echo = author_id == account_id or author_id in self._own_ids
        # One conversation per commenter per post, apart from their DMs: a human who takes over one public
        # thread does not silence the bot elsewhere.
        key = f"{account_id}:{thread_id}:{author_id}"
        message = InboundMessage(
            text=text if isinstance(text, str) else "",
            sender_id=author_id,
            sender_name=author_name,
            platform=self.name,
            conversation_id=key,
            message_id=comment_id,
            is_public=True,
            is_echo=is_echo,
        )
        return InboundEvent(
            platform=self.name,
            event_id=comment_id,
            conversation_key=key,
            kind="echo" if is_echo else "comment",
            message=message,
            reply_target=reply_target,
            sent_at=sent_at,
        )

    def _event(
        self,
        event_id: str,
        key: str,
        kind: str,
        text: str,
        sender_id: str,
        target: dict[str, str],
        sent_at: datetime | None,
        *,
        is_echo: bool = False,
        choice_payload: str | None = None,
    ) -> InboundEvent:
        message = InboundMessage(
            text=text,
            sender_id=sender_id,
            platform=self.name,
            conversation_id=key,
            message_id=event_id,
            is_echo=is_echo,
            choice_payload=None if is_echo else choice_payload,
        )
        return InboundEvent(
            platform=self.name,
            event_id=event_id,
            conversation_key=key,
            kind=kind,
            message=message,
            reply_target=target,
            sent_at=sent_at,
        )

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        target = message.reply_target
        mode = message.mode
        if mode == "reply" and "recipient_id" not in target and "comment_id" in target:
            # A plain reply to a comment answers where it was asked: in public, under the comment.
            mode = "public_reply"
        if mode == "public_reply":
            comment_id = target.get("comment_id")
            if not comment_id:
                return _refused("public_reply needs reply_target['comment_id']")
            return self._post(client, (comment_id, self.public_reply_edge), {"message": message.text}, _top_level("id"))
        if mode == "private_reply":
            comment_id = target.get("comment_id")
            if not comment_id:
                return _refused("private_reply needs reply_target['comment_id']")
            recipient = {"comment_id": comment_id}
        elif mode in ("reply", "human_agent"):
            recipient_id = target.get("recipient_id")
            if not recipient_id:
                return _refused(f"{mode} needs reply_target['recipient_id']")
            recipient = {"id": recipient_id}
        else:
            return _refused(f"{self.name} cannot send in mode {mode!r}")
        body: JsonObject = {"text": message.text}
        options = quick_replies(message.choices) if mode in ("reply", "human_agent") else []
        if options:
            # Only in the DM thread: a private reply to a comment is a one-off message outside the comment's
            # conversation, so it keeps the numbered list in its text.
            body["quick_replies"] = options
        payload: JsonObject = {"recipient": recipient, "messaging_type": "RESPONSE", "message": body}
        if mode == "human_agent":
            # The only tag that allows an answer after 24 h (and within 7 days) of the person's last message.
            payload["messaging_type"] = "MESSAGE_TAG"
            payload["tag"] = "HUMAN_AGENT"
        # With a Page access token `me` is the Page (for Instagram, the Page linked to the account).
        return self._post(client, ("me", "messages"), payload, _top_level("message_id"))


class MessengerAdapter(_PageMessagingAdapter):
    """Facebook Page DMs (`messaging`) and new comments on the Page's posts (`changes`, field `feed`)."""

    name: ClassVar[str] = "messenger"
    choice_limits: ClassVar[ChoiceLimits | None] = QUICK_REPLY_LIMITS
    rules: ClassVar[PlatformRules] = PAGE_MESSAGING_RULES
    object_type: ClassVar[str] = "page"
    public_reply_edge: ClassVar[str] = "comments"

    def _change_event(self, account_id: str, change: JsonObject) -> InboundEvent:
        value = change.get("value")
        # Only new comments are questions; edits, removals, reactions and posts are acknowledged only.
        if (
            change.get("field") == "feed"
            and isinstance(value, dict)
            and value.get("item") == "comment"
            and value.get("verb") == "add"
        ):
            comment_id = id_string(value.get("comment_id"))
            post_id = id_string(value.get("post_id"))
            author = value.get("from")
            author_id = _id_of(author)
            if comment_id and post_id and author_id:
                name = author.get("name") if isinstance(author, dict) else None
                return self._comment_event(
                    account_id,
                    comment_id=comment_id,
                    thread_id=post_id,
                    author_id=author_id,
                    author_name=name if isinstance(name, str) else None,
                    text=value.get("message"),
                    sent_at=_epoch(value.get("created_time"), per_second=1),
                    reply_target={"comment_id": comment_id, "post_id": post_id, "account_id": account_id},
                )
        return self._other(account_id, change)


class InstagramAdapter(_PageMessagingAdapter):
    """Instagram professional-account DMs (`messaging`) and comments on its media (`changes`, field `comments`)."""

    name: ClassVar[str] = "instagram"
    choice_limits: ClassVar[ChoiceLimits | None] = QUICK_REPLY_LIMITS
    rules: ClassVar[PlatformRules] = PAGE_MESSAGING_RULES
    object_type: ClassVar[str] = "instagram"
    public_reply_edge: ClassVar[str] = "replies"

    def _change_event(self, account_id: str, change: JsonObject) -> InboundEvent:
        value = change.get("value")
        # `live_comments` stay acknowledged-only: a live broadcast is no place for automatic answers.
        if change.get("field") == "comments" and isinstance(value, dict):
            comment_id = id_string(value.get("id"))
            author = value.get("from")
            author_id = _id_of(author)
            if comment_id and author_id:
                media_id = _id_of(value.get("media"))
                username = author.get("username") if isinstance(author, dict) else None
                target = {"comment_id": comment_id, "account_id": account_id}
                if media_id:
                    target["media_id"] = media_id
                # The comments webhook carries no creation time (entry.time is when Meta sent it).
                return self._comment_event(
                    account_id,
                    comment_id=comment_id,
                    thread_id=media_id or comment_id,
                    author_id=author_id,
                    author_name=username if isinstance(username, str) else None,
                    text=value.get("text"),
                    sent_at=None,
                    reply_target=target,
                )
        return self._other(account_id, change)


class WhatsAppAdapter(_MetaAdapter):
    """WhatsApp Cloud API: `changes[].value.messages[]` from people and `statuses[]` of what we sent."""

    name: ClassVar[str] = "whatsapp"
    # Up to 3 options go out as reply buttons (20-character titles), up to 10 as a list (24): the larger is the limit.
    choice_limits: ClassVar[ChoiceLimits | None] = WHATSAPP_LIST_LIMITS
    rules: ClassVar[PlatformRules] = WHATSAPP_RULES
    object_type: ClassVar[str] = "whatsapp_business_account"

    def _entry_events(self, account_id: str, entry: JsonObject, where: str) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for index, change in enumerate(_objects(entry, "changes", where)):
            value = change.get("value")
            metadata = value.get("metadata") if isinstance(value, dict) else None
            phone_number_id = id_string(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
            if change.get("field") != "messages" or not isinstance(value, dict) or phone_number_id is None:
                # Account, template and quality updates: acknowledged, not conversations.
                events.append(self._other(account_id, change))
                continue
            here = f"{where}.changes[{index}].value"
            names: dict[str, str] = {}
            for contact in _objects(value, "contacts", here):
                profile = contact.get("profile")
                name = profile.get("name") if isinstance(profile, dict) else None
                wa_id = id_string(contact.get("wa_id"))
                if wa_id and isinstance(name, str):
                    names[wa_id] = name
            events += [
                self._message_event(account_id, phone_number_id, message, names)
                for message in _objects(value, "messages", here)
            ]
            events += [
                self._status_event(account_id, phone_number_id, status) for status in _objects(value, "statuses", here)
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
        sent_at = _epoch(message.get("timestamp"), per_second=1)
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
            sent_at=_epoch(status.get("timestamp"), per_second=1),
        )

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        if message.mode != "reply":
            # No HUMAN_AGENT tag and no comments on WhatsApp: past 24 h only approved templates are delivered.
            return _refused(f"whatsapp cannot send in mode {message.mode!r}")
        target = message.reply_target
        to = target.get("to")
        # Answer from the number the person wrote to; the configured sender is the fallback.
        phone_number_id = target.get("phone_number_id") or self.config.phone_number_id
        if not to or not phone_number_id:
            return _refused("reply needs reply_target['to'] and a phone_number_id")
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


# -- helpers -------------------------------------------------------------------------------------------------


def _load_object(body: bytes) -> JsonObject:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise PayloadError(f"body is not JSON: {type(error).__name__}") from None
    if not isinstance(payload, dict):
        raise PayloadError("body is not a JSON object")
    return payload


def _objects(parent: JsonObject, key: str, where: str) -> list[JsonObject]:
    """The array `parent[key]` of objects; absent means empty, anything else is a broken envelope."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where}.{key} is not an array")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise PayloadError(f"{where}.{key}[{index}] is not an object")
    return value


def _id_of(value: Any) -> str | None:
    return id_string(value.get("id")) if isinstance(value, dict) else None


def _epoch(value: Any, *, per_second: int) -> datetime | None:
    """A Unix timestamp (milliseconds on Messenger, seconds elsewhere); a bad one must not sink the batch."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            value = int(value)  # WhatsApp sends digit strings
        if isinstance(value, int):
            return _EPOCH + timedelta(microseconds=value * (1_000_000 // per_second))
        if isinstance(value, float):
            return _EPOCH + timedelta(seconds=value / per_second)
    except (ValueError, OverflowError):
        return None
    return None


def _digest(kind: str, account_id: str, raw: JsonObject) -> str:
    """A stable id for events that carry none (deliveries, reads, reactions): Meta redelivers identical bodies."""
    canonical = json.dumps([kind, account_id, raw], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{kind}:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


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


def _refused(reason: str) -> SendResult:
    """Nothing was sent and retrying cannot help."""
    return SendResult(ok=False, error=reason)


def _top_level(field: str) -> MessageIdReader:
    def read(body: JsonObject) -> str | None:
        return id_string(body.get(field))

    return read


def _whatsapp_message_id(body: JsonObject) -> str | None:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return id_string(messages[0].get("id"))
    return None


def _graph_error_code(response: httpx.Response) -> int | None:
    error = response_json(response).get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None
