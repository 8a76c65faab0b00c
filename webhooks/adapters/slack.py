"""Slack Events API adapter: v0 request signatures, url_verification, message and app_mention events, and replies
in the thread through chat.postMessage with the bot token."""

# Contracts followed (looked up, not guessed):
# - Request signing: https://api.slack.com/authentication/verifying-requests-from-slack (also
#   https://api.slack.com/docs/verifying-requests-from-slack). Base string `v0:{X-Slack-Request-Timestamp}:{raw body}`,
#   HMAC-SHA256 keyed with the signing secret, sent as `X-Slack-Signature: v0=<hex>`; refuse timestamps more than five
#   minutes away (our `signature_tolerance_seconds`, default 300) to stop replays; compare in constant time.
# - url_verification: https://api.slack.com/events/url_verification — "verify the request's authenticity and then
#   respond in plaintext with the challenge attribute value".
# - Envelope and events: https://api.slack.com/apis/http (one Request URL, JSON `event_callback` wrapper with
#   `team_id`, `api_app_id`, `event`, `event_id`, `authorizations`), https://docs.slack.dev/reference/events/message
#   (message event, `channel_type`), subtypes `bot_message` / `message_changed` as in the Slack SDK types
#   (https://docs.slack.dev/tools/node-slack-sdk/reference/types/interfaces/BotMessageEvent, …/MessageChangedEvent).
# - Retries: Slack redelivers an event it did not see acknowledged within 3 s (up to 3 times, with `X-Slack-Retry-Num`
#   and `X-Slack-Retry-Reason`, same `event_id`); https://api.slack.com/apis/events-api (error handling, graceful
#   retries). A retry parses to the same event_id, so the view's dedupe drops it; we still answer 200 at once.
# - chat.postMessage: https://docs.slack.dev/reference/methods/chat.postMessage — POST JSON with
#   `Authorization: Bearer <bot token>`, `channel`, `text`, `thread_ts` (reply to the parent's ts). Errors come back as
#   HTTP 200 with `{"ok": false, "error": ...}`; rate limits as HTTP 429 with `Retry-After` (and `error: ratelimited`),
#   https://docs.slack.dev/apis/web-api/rate-limits.
# - Block Kit buttons (https://docs.slack.dev/reference/block-kit/blocks/actions-block, …/block-elements/button-element,
#   …/blocks/section-block): an `actions` block holds up to 25 elements; a `button` has `text` (plain_text, up to 75
#   characters), `action_id` (up to 255, unique within the message) and `value` (up to 2,000, sent back on a click); a
#   section's text holds up to 3,000 characters. With `blocks`, the top-level `text` becomes the notification fallback.
# - Interactivity (https://docs.slack.dev/interactivity/handling-user-interaction, https://docs.slack.dev/reference/
#   interaction-payloads/block_actions-payload): a click is POSTed to the app's Interactivity Request URL as
#   `application/x-www-form-urlencoded` with one field, `payload`, a JSON `block_actions` object (`team`, `user`,
#   `channel`, `container.message_ts` / `thread_ts`, `message`, `actions[]` with `action_id`, `value`, `text`,
#   `action_ts`); it is signed exactly like events (the same v0 signature over the raw body) and must be acknowledged
#   with a 200 within 3 seconds. Point the Interactivity Request URL at the same /webhooks/slack endpoint: the body's
#   content type tells the two apart. A click's dedupe key is its `action_ts` in its channel.
#
# Mapping choices: conversation_key "<team_id>:<channel>:<thread_ts or ts>" and replies go into that thread (also in
# DMs); `is_public` is true everywhere except DMs (`channel_type: im`; app_mention events carry no channel_type and only
# happen in channels); echoes are messages from our bot user (`authorizations[].user_id` with `is_bot`), our app
# (`app_id == api_app_id`) or `own_ids`; other bots (`bot_id`, subtype `bot_message`) and edits/deletions are "other".
# Mentions of our bot are stripped from the text. A mention in a channel where the app also receives `message.channels`
# arrives twice (a `message` and an `app_mention`, two event_ids, same channel and ts): a person's message therefore
# takes "msg:<team>:<channel>:<ts>" as its event id, so the two (and Slack's retries) dedupe to one.
#
# Handshake order: the view verifies first, then asks for the handshake; `handshake` verifies the signature again
# itself before echoing a challenge, so it is safe in either order (an unsigned url_verification never gets an answer).

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from webhooks.adapters.base import (
    ConfiguredAdapter,
    PayloadError,
    SignatureError,
    WebhookRequest,
    WebhookResponse,
    constant_time_equal,
    refused,
    result_from_response,
)
from webhooks.adapters.choices import Button, ChoiceLimits, buttons, our_choice
from webhooks.adapters.signing import (
    check_timestamp,
    from_epoch,
    hmac_sha256,
    id_string,
    json_object,
    parse_json_object,
    posted_json,
    require_secret,
    response_json,
    retry_after_header,
    send_json,
)

# Slack errors that say "try again later" rather than "this request is wrong".
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Message subtypes that are still a person writing something we may answer.
USER_SUBTYPES = (None, "thread_broadcast", "file_share")  # a tuple: JSON values may be unhashable
MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
CHOICE_LIMITS = ChoiceLimits(max_choices=25, title_chars=75, payload_chars=2000)
SECTION_TEXT_CHARS = 3000
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class SlackAdapter(ConfiguredAdapter):
    """Slack Events API over HTTP (not Socket Mode)."""

    name: ClassVar[str] = "slack"
    choice_limits: ClassVar[ChoiceLimits | None] = CHOICE_LIMITS
    # chat.postMessage: a message `text` of up to 40,000 characters; no reply window.
    rules: ClassVar[PlatformRules] = PlatformRules(max_text_chars=40_000)

    # --- inbound ------------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        payload = posted_json(request)
        if payload is None or payload.get("type") != "url_verification":
            return None
        self.verify(request)  # never echo a challenge that Slack did not sign, whatever order the view uses
        challenge = payload.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise PayloadError("url_verification without a challenge")
        return WebhookResponse(status=200, body=challenge, content_type="text/plain")

    def verify(self, request: WebhookRequest) -> None:
        secret = require_secret(self.config.signing_secret, "slack signing_secret")
        signature = request.header("X-Slack-Signature")
        if not signature:
            raise SignatureError("missing X-Slack-Signature")
        timestamp = request.header("X-Slack-Request-Timestamp")
        check_timestamp(
            timestamp, request.received_at, self.config.signature_tolerance_seconds, "X-Slack-Request-Timestamp"
        )
        base_string = b"v0:" + (timestamp or "").encode() + b":" + request.body  # the header exactly as signed
        expected = "v0=" + hmac_sha256(secret, base_string).hex()
        if not constant_time_equal(expected, signature.strip()):
            raise SignatureError("X-Slack-Signature does not match the body")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        if (request.header("Content-Type") or "").split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
            return self._interaction_events(_form_payload(request.body))
        payload = parse_json_object(request.body)
        kind = payload.get("type")
        if kind in ("url_verification", "app_rate_limited"):
            return []  # answered by handshake / informational: no event to queue
        if kind != "event_callback":
            raise PayloadError(f"unknown Slack envelope type {kind!r}")
        event_id = payload.get("event_id")
        event = payload.get("event")
        if not isinstance(event_id, str) or not event_id or not isinstance(event, dict):
            raise PayloadError("event_callback without event_id or event")
        return [self._event(payload, event_id, event)]

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        # Retries (X-Slack-Retry-Num) get the same quick empty 200: dedupe already dropped them.
        return WebhookResponse(status=200)

    def _interaction_events(self, payload: dict[str, Any]) -> list[InboundEvent]:
        """A click on one of our buttons (block_actions) becomes a message carrying the option's payload; shortcuts,
        modals and other apps' buttons are acknowledged only."""
        if payload.get("type") != "block_actions":
            return []
        team = id_string(json_object(payload.get("team")).get("id")) or ""
        container = json_object(payload.get("container"))
        channel = id_string(json_object(payload.get("channel")).get("id")) or id_string(container.get("channel_id"))
        user = id_string(json_object(payload.get("user")).get("id"))
        clicked = json_object(payload.get("message"))
        message_ts = id_string(container.get("message_ts")) or id_string(clicked.get("ts")) or ""
        # Our replies go into a thread, so the clicked message's thread is the conversation's.
        thread_ts = id_string(clicked.get("thread_ts")) or id_string(container.get("thread_ts")) or message_ts
        actions = payload.get("actions")
        if channel is None or user is None or not isinstance(actions, list):
            raise PayloadError("block_actions without channel, user or actions")
        key = f"{team}:{channel}:{thread_ts}"
        target = {"channel": channel, "thread_ts": thread_ts}
        events = []
        for index, action in enumerate(actions):
            action = json_object(action)
            action_ts = id_string(action.get("action_ts")) or f"{message_ts}:{index}"
            choice = our_choice(action.get("value"))
            label = json_object(action.get("text")).get("text")
            words = "" if choice is None else (label if isinstance(label, str) and label.strip() else choice)
            is_echo = user in self.config.own_ids
            message = InboundMessage(
                text=words,
                sender_id=user,
                platform=self.name,
                conversation_id=key,
                is_public=not channel.startswith("D"),  # D…: a direct-message channel
                is_echo=is_echo,
                choice_payload=choice,
            )
            events.append(
                InboundEvent(
                    platform=self.name,
                    event_id=f"action:{team}:{channel}:{action_ts}:{id_string(action.get('action_id')) or index}",
                    conversation_key=key,
                    kind="echo" if is_echo else ("message" if choice else "other"),
                    message=message if choice or is_echo else None,
                    reply_target=target,
                    sent_at=from_epoch(action_ts),
                )
            )
        return events

    def _own_ids(self, payload: dict[str, Any]) -> set[str]:
        own = set(self.config.own_ids)
        authorizations = payload.get("authorizations")
        for authorization in authorizations if isinstance(authorizations, list) else []:
            auth = json_object(authorization)
            user_id = id_string(auth.get("user_id"))
            if auth.get("is_bot") is True and user_id:
                own.add(user_id)  # the installation's bot user: Slack's own marker for "us"
        return own

    def _event(self, payload: dict[str, Any], event_id: str, event: dict[str, Any]) -> InboundEvent:
        event_type = event.get("type")
        subtype = event.get("subtype")
        channel = id_string(event.get("channel")) or ""
        # The receiving workspace, not the author's (they differ in Slack Connect channels): one key per thread.
        team = id_string(payload.get("team_id")) or id_string(event.get("team")) or ""
        # message_changed carries the edited message inside; everything else is flat.
        body = json_object(event.get("message")) if subtype == "message_changed" else event
        ts = id_string(body.get("ts")) or id_string(event.get("ts")) or id_string(event.get("event_ts")) or ""
        thread_ts = id_string(body.get("thread_ts")) or ts
        key = f"{team}:{channel}:{thread_ts}"
        target = {"channel": channel, "thread_ts": thread_ts}
        sent_at = from_epoch(ts)
        if event_type not in ("message", "app_mention"):
            return InboundEvent(
                platform=self.name,
                event_id=event_id,
                conversation_key=key,
                kind="other",
                message=None,
                reply_target=target,
                sent_at=sent_at,
            )

        own = self._own_ids(payload)
        user = id_string(body.get("user")) or id_string(body.get("bot_id")) or "unknown"
        bot_id = id_string(body.get("bot_id"))
        is_ours = (
            user in own
            or (bot_id is not None and bot_id in own)
            or (body.get("app_id") is not None and body.get("app_id") == payload.get("api_app_id"))
        )
        text = body.get("text") if isinstance(body.get("text"), str) else ""
        message = InboundMessage(
            text=_strip_mentions(str(text), own, leading=event_type == "app_mention"),
            sender_id=user,
            platform=self.name,
            conversation_id=key,
            message_id=ts or None,
            is_public=event.get("channel_type") != "im",
            is_echo=is_ours,
        )
        if is_ours:
            kind = "echo"
        elif bot_id is not None or subtype == "bot_message":
            kind = "other"  # another bot or integration: never answer bots
        elif subtype not in USER_SUBTYPES:
            kind = "other"  # edits (message_changed), deletions, joins, topic changes…
        else:
            kind = "message"
            if ts:
                # A mention where the app also gets message.channels arrives twice, as `message` and `app_mention`
                # with two event_ids: the message's own identity makes them one event (retries keep it too).
                event_id = f"msg:{key.rsplit(':', 1)[0]}:{ts}"
        return InboundEvent(
            platform=self.name,
            event_id=event_id,
            conversation_key=key,
            kind=kind,
            message=message,
            reply_target=target,
            sent_at=sent_at,
        )

    # --- outbound -----------------------------------------------------------------------------------------------

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        token = self.config.bot_token
        if not token:
            return refused("slack bot_token is not configured")
        channel = message.reply_target.get("channel")
        if not channel:
            return refused("reply_target has no channel")
        payload: dict[str, Any] = {"channel": channel, "text": message.text}
        options = buttons(message.choices, CHOICE_LIMITS)
        if options and message.text.strip() and len(message.text) <= SECTION_TEXT_CHARS:
            # Blocks replace the text on screen (it stays the notification): the text goes in a section above.
            payload["blocks"] = choice_blocks(message.text, options)
        if message.reply_target.get("thread_ts"):
            payload["thread_ts"] = message.reply_target["thread_ts"]
        return send_json(
            client,
            "POST",
            f"{self.config.api_base_url.rstrip('/')}/chat.postMessage",
            payload,
            read_result,
            headers={"Authorization": f"Bearer {token}"},
        )


def choice_blocks(text: str, options: list[Button]) -> list[dict[str, Any]]:
    """The reply's text in a section and one button per option in an actions block (action ids unique per message)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "ca_choices",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"ca_choice_{number}",
                    "text": {"type": "plain_text", "text": option.title, "emoji": True},
                    "value": option.payload,
                }
                for number, option in enumerate(options, 1)
            ],
        },
    ]


def _form_payload(body: bytes) -> dict[str, Any]:
    """The JSON object in the `payload` field of an interactivity request, read by the one JSON reader."""
    try:
        # errors="strict": percent-encoded bytes that are not UTF-8 are bad input, not text with U+FFFD in it.
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("interactivity body is not a UTF-8 form") from None
    fields = form.get("payload")
    if not fields or len(fields) != 1:
        raise PayloadError("interactivity body without one `payload` field")
    return parse_json_object(fields[0].encode("utf-8"))


def read_result(response: httpx.Response) -> SendResult:
    """Slack's answer: HTTP 429 and 5xx as usual, and HTTP 200 with `ok: false` as the error it names."""
    body = response_json(response)
    if not response.is_success:
        return result_from_response(response)
    if body.get("ok") is True:
        return result_from_response(response, id_string(body.get("ts")))
    error = str(body.get("error") or "ok=false")
    retryable = error in RETRYABLE_ERRORS
    return SendResult(
        ok=False,
        status=response.status_code,
        retryable=retryable,
        retry_after=retry_after_header(response) if retryable else None,
        error=error,
    )


def _strip_mentions(text: str, own: set[str], leading: bool) -> str:
    """Drop mentions of our bot (and, for app_mention, the mention that triggered it) so the question stands alone."""
    if leading:
        text = MENTION.sub(lambda m: "" if m.start() == 0 or m.group(1) in own else m.group(0), text.lstrip())
    else:
        text = MENTION.sub(lambda m: "" if m.group(1) in own else m.group(0), text)
    return " ".join(text.split())
