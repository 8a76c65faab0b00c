"""Messenger and Instagram, which share the Messenger Platform: `messaging` and `standby` DMs, comments under Page
posts and Instagram media, and answers through the Send API, Private Replies and the comment reply edges."""

# The contracts followed, as published by Meta (developers.facebook.com):
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
# - Send API reference (/docs/messenger-platform/reference/send-api), "Send a Message" and Message Tags
#   (/docs/messenger-platform/send-messages, .../message-tags: HUMAN_AGENT answers within 7 days of the person's last
#   message; ordinary replies within 24 h), Private Replies (/docs/messenger-platform/discovery/private-replies and
#   /docs/instagram-platform/private-replies: recipient {"comment_id"}, one message, within 7 days).
# - Graph API /{object-id}/comments (publish a reply to a Page comment) and IG Comment Replies
#   (/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies: POST /{ig-comment-id}/replies).

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import httpx

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from webhooks.adapters.base import refused
from webhooks.adapters.choices import ChoiceLimits, our_choice
from webhooks.adapters.meta.choices import QUICK_REPLY_LIMITS, quick_replies, quick_reply_payload
from webhooks.adapters.meta.graph import (
    HUMAN_AGENT_WINDOW,
    REPLY_WINDOW,
    GraphAdapter,
    JsonObject,
    digest,
    epoch,
    id_of,
    objects,
    top_level,
)
from webhooks.adapters.signing import id_string

__all__ = ["PAGE_MESSAGING_RULES", "InstagramAdapter", "MessengerAdapter"]

# Send API text up to 2,000 characters; free-form for 24 h after the person's last message, HUMAN_AGENT up to 7 days.
PAGE_MESSAGING_RULES = PlatformRules(
    reply_window=REPLY_WINDOW, tagged_reply_window=HUMAN_AGENT_WINDOW, max_text_chars=2000
)


class PageMessagingAdapter(GraphAdapter):
    """Messenger and Instagram share the Messenger Platform: the same `messaging` events and the same Send API."""

    # Both take the same quick replies and follow the same Send API rules.
    choice_limits: ClassVar[ChoiceLimits | None] = QUICK_REPLY_LIMITS
    rules: ClassVar[PlatformRules] = PAGE_MESSAGING_RULES
    public_reply_edge: ClassVar[str]  # Facebook comments answer on /comments, Instagram comments on /replies
    comment_field: ClassVar[str]  # the `changes` field that carries comments
    author_name_field: ClassVar[str]  # the commenter's name in `from`

    def _entry_events(self, account_id: str, entry: JsonObject, where: str) -> list[InboundEvent]:
        events = [
            self._messaging_event(account_id, event, standby=False) for event in objects(entry, "messaging", where)
        ]
        # Standby: another app owns the thread (handover protocol); keep the record, never answer it.
        events += [self._messaging_event(account_id, event, standby=True) for event in objects(entry, "standby", where)]
        events += [self._change_event(account_id, change) for change in objects(entry, "changes", where)]
        return events

    def _change_event(self, account_id: str, change: JsonObject) -> InboundEvent:
        value = change.get("value")
        if change.get("field") == self.comment_field and isinstance(value, dict):
            author = value.get("from")
            author_id = id_of(author)
            name = author.get(self.author_name_field) if isinstance(author, dict) else None
            comment = self._comment(account_id, value, author_id, name if isinstance(name, str) else None)
            if comment is not None:
                return comment
        return self._other(account_id, change)

    def _comment(
        self, account_id: str, value: JsonObject, author_id: str | None, author_name: str | None
    ) -> InboundEvent | None:
        """The comment a change's value announces, or None when it is no question for us (acknowledged only)."""
        raise NotImplementedError

    def _messaging_event(self, account_id: str, event: JsonObject, *, standby: bool) -> InboundEvent:
        sender_id = id_of(event.get("sender"))
        recipient_id = id_of(event.get("recipient"))
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
        sent_at = epoch(event.get("timestamp"), per_second=1000)
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
            event_id = id_string(postback.get("mid")) or digest("postback", account_id, event)
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
                return refused("public_reply needs reply_target['comment_id']")
            return self._post(client, (comment_id, self.public_reply_edge), {"message": message.text}, top_level("id"))
        if mode == "private_reply":
            comment_id = target.get("comment_id")
            if not comment_id:
                return refused("private_reply needs reply_target['comment_id']")
            recipient = {"comment_id": comment_id}
        elif mode in ("reply", "human_agent"):
            recipient_id = target.get("recipient_id")
            if not recipient_id:
                return refused(f"{mode} needs reply_target['recipient_id']")
            recipient = {"id": recipient_id}
        else:
            return refused(f"{self.name} cannot send in mode {mode!r}")
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
        return self._post(client, ("me", "messages"), payload, top_level("message_id"))


class MessengerAdapter(PageMessagingAdapter):
    """Facebook Page DMs (`messaging`) and new comments on the Page's posts (`changes`, field `feed`)."""

    name: ClassVar[str] = "messenger"
    object_type: ClassVar[str] = "page"
    public_reply_edge: ClassVar[str] = "comments"
    comment_field: ClassVar[str] = "feed"
    author_name_field: ClassVar[str] = "name"

    def _comment(
        self, account_id: str, value: JsonObject, author_id: str | None, author_name: str | None
    ) -> InboundEvent | None:
        # Only new comments are questions; edits, removals, reactions and posts are acknowledged only.
        comment_id = id_string(value.get("comment_id"))
        post_id = id_string(value.get("post_id"))
        if value.get("item") != "comment" or value.get("verb") != "add" or not (comment_id and post_id and author_id):
            return None
        return self._comment_event(
            account_id,
            comment_id=comment_id,
            thread_id=post_id,
            author_id=author_id,
            author_name=author_name,
            text=value.get("message"),
            sent_at=epoch(value.get("created_time"), per_second=1),
            reply_target={"comment_id": comment_id, "post_id": post_id, "account_id": account_id},
        )


class InstagramAdapter(PageMessagingAdapter):
    """Instagram professional-account DMs (`messaging`) and comments on its media (`changes`, field `comments`)."""

    name: ClassVar[str] = "instagram"
    object_type: ClassVar[str] = "instagram"
    public_reply_edge: ClassVar[str] = "replies"
    # `live_comments` stay acknowledged-only: a live broadcast is no place for automatic answers.
    comment_field: ClassVar[str] = "comments"
    author_name_field: ClassVar[str] = "username"

    def _comment(
        self, account_id: str, value: JsonObject, author_id: str | None, author_name: str | None
    ) -> InboundEvent | None:
        comment_id = id_string(value.get("id"))
        if not (comment_id and author_id):
            return None
        media_id = id_of(value.get("media"))
        target = {"comment_id": comment_id, "account_id": account_id}
        if media_id:
            target["media_id"] = media_id
        # The comments webhook carries no creation time (entry.time is when Meta sent it).
        return self._comment_event(
            account_id,
            comment_id=comment_id,
            thread_id=media_id or comment_id,
            author_id=author_id,
            author_name=author_name,
            text=value.get("text"),
            sent_at=None,
            reply_target=target,
        )
