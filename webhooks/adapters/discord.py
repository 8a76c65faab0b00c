"""Discord HTTP interactions adapter: Ed25519 request signatures, PING/PONG, slash commands answered with a
deferred response and then the edited original; channel messages from the Gateway answered with a bot-token reply."""

# Contracts followed (looked up, not guessed; Discord's own docs, discord/discord-api-docs):
# - Security and authorization (https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-
#   validating-security-request-headers): every interaction carries `X-Signature-Ed25519` (hex) and
#   `X-Signature-Timestamp`; verify `timestamp + raw body` against the application's public key (hex) with Ed25519 and
#   answer 401 on failure — Discord sends deliberately invalid signatures to check. We also refuse timestamps outside
#   `signature_tolerance_seconds` (replay window; the timestamp is signed, so this is safe to check).
# - PING (https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-acknowledging-ping-requests):
#   answer `200` with `{"type": 1}` (PONG) and a JSON Content-Type.
# - Receiving and responding (https://discord.com/developers/docs/interactions/receiving-and-responding): interaction
#   types (PING 1, APPLICATION_COMMAND 2, MESSAGE_COMPONENT 3, AUTOCOMPLETE 4, MODAL_SUBMIT 5), slash-command option
#   values in `data.options[].value`, `member.user` in guilds / `user` in DMs; callback type 5
#   DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("ACK an interaction and edit a response later, the user sees a loading
#   state"); "you must send an initial response within 3 seconds"; interaction tokens are valid for 15 minutes.
# - Follow-ups (same page, "Followup Messages", "Create Followup Message"): POST `/webhooks/{application.id}/{token}`
#   right after a deferred response "will function as Edit Original Interaction Response for backwards compatibility …
#   This behavior is deprecated, and you should use the Edit Original Interaction Response endpoint in this case
#   instead." So the first answer PATCHes `/webhooks/{application.id}/{token}/messages/@original` — which is also
#   idempotent: a retry after a lost answer rewrites the same message instead of posting a duplicate. A later message
#   for the same interaction (reply_target `followup` set) is a real follow-up POST. Neither needs the bot token.
# - Create Message (https://discord.com/developers/docs/resources/message#create-message): POST
#   `/channels/{channel.id}/messages` with `Authorization: Bot <token>`, `message_reference` to reply, `nonce` (≤ 25
#   characters) with `enforce_nonce: true` so a resend within a few minutes returns the first message instead of a
#   second one, and `allowed_mentions` so echoed user text cannot ping @everyone.
# - Message components (https://discord.com/developers/docs/components/reference): `components` on a message (create,
#   edit original, follow-up) is a list of action rows (type 1, up to 5 per message) of up to 5 buttons (type 2);
#   a non-link button has a `style` (2 = secondary), a `label` of up to 80 characters and a `custom_id` of up to 100,
#   unique within the message. A click is an interaction of type MESSAGE_COMPONENT (3) with `data.custom_id`,
#   `data.component_type` and the `message` clicked; it needs an initial response within 3 s like any interaction.
#   One of our choices is answered with DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (5, allowed for components too), so the
#   answer is a new message below the question instead of overwriting it (6, DEFERRED_UPDATE_MESSAGE, would make the
#   later @original edit replace the message that holds the buttons); any other component keeps the silent 6.
# - Rate limits (https://discord.com/developers/docs/topics/rate-limits): HTTP 429 with a JSON body whose
#   `retry_after` is a float number of seconds (and a `Retry-After` header).

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar

import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from webhooks.adapters.base import (
    ConfiguredAdapter,
    PayloadError,
    SignatureError,
    WebhookRequest,
    WebhookResponse,
    refused,
    result_from_response,
)
from webhooks.adapters.choices import Button, ChoiceLimits, buttons, our_choice
from webhooks.adapters.signing import (
    check_timestamp,
    from_epoch,
    id_string,
    json_object,
    json_response,
    parse_json_object,
    posted_json,
    require_secret,
    response_json,
    seconds_or_none,
    send_json,
)

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 1, 5, 6, 8
STRING_OPTION = 3
DISCORD_EPOCH_MS = 1_420_070_400_000
NO_PINGS: dict[str, Any] = {"parse": []}
SNOWFLAKE = re.compile(r"[0-9]{1,20}")
ACTION_ROW, BUTTON, SECONDARY = 1, 2, 2
BUTTONS_PER_ROW = 5
CHOICE_LIMITS = ChoiceLimits(max_choices=5 * BUTTONS_PER_ROW, title_chars=80, payload_chars=100)


class DiscordAdapter(ConfiguredAdapter):
    """Discord interactions over the Interactions Endpoint URL, plus replies to Gateway channel messages."""

    name: ClassVar[str] = "discord"
    choice_limits: ClassVar[ChoiceLimits | None] = CHOICE_LIMITS
    # Create Message: `content` up to 2,000 characters; no reply window.
    rules: ClassVar[PlatformRules] = PlatformRules(max_text_chars=2000)

    # --- inbound ------------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        interaction = posted_json(request)
        if interaction is None or interaction.get("type") != PING:
            return None
        self.verify(request)  # a PONG only for a PING Discord signed, whichever order the view calls us in
        return json_response({"type": PONG})

    def verify(self, request: WebhookRequest) -> None:
        public_key = require_secret(self.config.public_key, "discord public_key")
        signature = request.header("X-Signature-Ed25519")
        raw_timestamp = request.header("X-Signature-Timestamp")
        if not signature:
            raise SignatureError("missing X-Signature-Ed25519")
        check_timestamp(
            raw_timestamp, request.received_at, self.config.signature_tolerance_seconds, "X-Signature-Timestamp"
        )
        try:
            key = VerifyKey(bytes.fromhex(public_key))
        except ValueError:
            raise SignatureError("discord public_key is not a 32-byte hex Ed25519 key") from None
        try:
            key.verify((raw_timestamp or "").encode() + request.body, bytes.fromhex(signature))
        except (BadSignatureError, ValueError):
            raise SignatureError("X-Signature-Ed25519 does not match") from None

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        interaction = parse_json_object(request.body)
        kind = interaction.get("type")
        interaction_id = id_string(interaction.get("id"))
        if kind == PING:
            return []  # answered by handshake
        if not isinstance(kind, int) or isinstance(kind, bool) or not interaction_id:
            raise PayloadError("interaction without an integer type or an id")
        application_id = id_string(interaction.get("application_id")) or self.config.application_id or ""
        token = interaction.get("token")
        if not isinstance(token, str) or not token:
            raise PayloadError("interaction without a token")
        channel_id = (
            id_string(interaction.get("channel_id"))
            or id_string(json_object(interaction.get("channel")).get("id"))
            or ""
        )
        guild_id = id_string(interaction.get("guild_id"))
        user = json_object(json_object(interaction.get("member")).get("user")) or json_object(interaction.get("user"))
        user_id = id_string(user.get("id")) or "unknown"
        key = f"{guild_id or 'dm'}:{channel_id}:{user_id}"
        target = {"application_id": application_id, "interaction_token": token, "channel_id": channel_id}
        sent_at = (
            from_epoch(((int(interaction_id) >> 22) + DISCORD_EPOCH_MS) / 1000)
            if SNOWFLAKE.fullmatch(interaction_id)
            else None
        )
        data = json_object(interaction.get("data"))
        choice = our_choice(data.get("custom_id")) if kind == MESSAGE_COMPONENT else None
        if kind != APPLICATION_COMMAND and choice is None:
            return [
                InboundEvent(
                    platform=self.name,
                    event_id=interaction_id,
                    conversation_key=key,
                    kind="other",
                    message=None,
                    reply_target=target,
                    sent_at=sent_at,
                )
            ]
        is_echo = user.get("bot") is True or user_id in self.config.own_ids
        name = user.get("global_name") if isinstance(user.get("global_name"), str) else user.get("username")
        if choice is not None:
            # A click on one of our buttons: the words are the button's label, from the message clicked.
            text = _button_label(json_object(interaction.get("message")), choice) or choice
        else:
            text = _command_text(data)
        message = InboundMessage(
            text=text,
            sender_id=user_id,
            sender_name=name if isinstance(name, str) else None,
            platform=self.name,
            conversation_id=key,
            message_id=interaction_id,
            is_public=guild_id is not None,
            is_echo=is_echo,
            choice_payload=None if is_echo else choice,
        )
        return [
            InboundEvent(
                platform=self.name,
                event_id=interaction_id,
                conversation_key=key,
                kind="echo" if is_echo else "message",
                message=message,
                reply_target=target,
                sent_at=sent_at,
            )
        ]

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        """Within Discord's 3 s: defer commands (the answer edits it later), acknowledge anything else silently."""
        kind = parse_json_object(request.body).get("type")
        if kind == PING:
            return json_response({"type": PONG})
        if kind == AUTOCOMPLETE:
            return json_response({"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}})
        picked = any(event.message is not None and event.message.choice_payload for event in events)
        if kind in (MESSAGE_COMPONENT, MODAL_SUBMIT) and not picked:
            return json_response({"type": DEFERRED_UPDATE_MESSAGE})
        return json_response({"type": DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE})

    # --- outbound -----------------------------------------------------------------------------------------------

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        target = message.reply_target
        if target.get("interaction_token") and target.get("application_id"):
            result = self._send_interaction(client, message)
            expired = result.status in (401, 404)  # token past its 15 minutes, or unknown webhook
            if expired and self.config.bot_token and target.get("channel_id"):
                return self._send_channel(client, message)
            return result
        if target.get("channel_id"):
            return self._send_channel(client, message)
        return refused("reply_target has neither an interaction token nor a channel_id")

    def _send_interaction(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        target = message.reply_target
        webhook = f"{self._base()}/webhooks/{target['application_id']}/{target['interaction_token']}"
        payload: dict[str, Any] = {"content": message.text, "allowed_mentions": NO_PINGS}
        rows = action_rows(buttons(message.choices, CHOICE_LIMITS))
        if rows:
            payload["components"] = rows
        if target.get("followup"):
            return send_json(client, "POST", webhook, payload, read_result)
        return send_json(client, "PATCH", f"{webhook}/messages/@original", payload, read_result)

    def _send_channel(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        if not self.config.bot_token:
            return refused("discord bot_token is not configured")
        target = message.reply_target
        payload: dict[str, Any] = {
            "content": message.text,
            "allowed_mentions": {"parse": [], "replied_user": True},
            "nonce": hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:25],
            "enforce_nonce": True,
        }
        rows = action_rows(buttons(message.choices, CHOICE_LIMITS))
        if rows:
            payload["components"] = rows
        if target.get("message_id"):
            payload["message_reference"] = {
                "message_id": target["message_id"],
                "channel_id": target["channel_id"],
                "fail_if_not_exists": False,
            }
        return send_json(
            client,
            "POST",
            f"{self._base()}/channels/{target['channel_id']}/messages",
            payload,
            read_result,
            headers={"Authorization": f"Bot {self.config.bot_token}"},
        )

    def _base(self) -> str:
        return self.config.api_base_url.rstrip("/")


def read_result(response: httpx.Response) -> SendResult:
    """2xx with the message object, or the error; a 429 body's float `retry_after` wins over the rounded header."""
    body = response_json(response)
    result = result_from_response(response, id_string(body.get("id")))
    if response.status_code == 429:
        retry_after = seconds_or_none(body.get("retry_after"))
        if retry_after is not None:
            return SendResult(ok=False, status=429, retryable=True, retry_after=retry_after, error=result.error)
    return result


def action_rows(options: list[Button]) -> list[dict[str, Any]]:
    """Secondary buttons, five to an action row."""
    elements = [
        {"type": BUTTON, "style": SECONDARY, "label": option.title, "custom_id": option.payload} for option in options
    ]
    return [
        {"type": ACTION_ROW, "components": elements[start : start + BUTTONS_PER_ROW]}
        for start in range(0, len(elements), BUTTONS_PER_ROW)
    ]


def _button_label(message: dict[str, Any], custom_id: str) -> str | None:
    """The label of the button with `custom_id` in the clicked message's action rows, if it is there."""
    rows = message.get("components")
    for row in rows if isinstance(rows, list) else []:
        items = json_object(row).get("components")
        for item in items if isinstance(items, list) else []:
            item = json_object(item)
            if item.get("custom_id") == custom_id and isinstance(item.get("label"), str):
                return str(item["label"])
    return None


def _command_text(data: dict[str, Any]) -> str:
    """The question of `/ask question:<text>`: the option named "question", else the first string option (also
    inside subcommands), else the command itself."""
    strings: list[tuple[str, str]] = []

    def walk(options: Any) -> None:
        for option in options if isinstance(options, list) else []:
            option = json_object(option)
            if option.get("type") == STRING_OPTION and isinstance(option.get("value"), str):
                strings.append((str(option.get("name")), option["value"]))
            walk(option.get("options"))

    walk(data.get("options"))
    for name, value in strings:
        if name == "question":
            return value
    if strings:
        return strings[0][1]
    return f"/{data.get('name')}" if isinstance(data.get("name"), str) else ""
