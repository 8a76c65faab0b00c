"""Telegram Bot API adapter: the webhook secret-token header, Update objects (message, edited_message, channel_post)
and replies through sendMessage with reply_parameters; `set_webhook` registers the URL once, from the CLI."""

# Contracts followed (looked up, not guessed), all from the Bot API reference https://core.telegram.org/bots/api:
# - setWebhook (#setwebhook; mirrored in https://docs.safew.org/setwebhook and the R/aiogram docs): `url`,
#   `allowed_updates` (JSON list), `drop_pending_updates`, `secret_token` — "1-256 characters. Only characters A-Z, a-z,
#   0-9, _ and - are allowed"; when set, every webhook request carries it in `X-Telegram-Bot-Api-Secret-Token`.
#   Telegram repeats a delivery that did not get a 2XX "a reasonable amount of attempts".
# - Update (#update, https://docs.python-telegram-bot.org/en/stable/telegram.update.html): `update_id` is the unique id
#   ("especially handy if you're using Webhooks, since it allows you to ignore repeated updates"); at most one of
#   `message`, `edited_message`, `channel_post`, … is present.
# - User (#user): `is_bot`, `first_name`, `language_code` ("IETF language tag of the user's language").
# - sendMessage (#sendmessage) with ReplyParameters (#replyparameters, https://docs.aiogram.dev/en/v3.28.2/api/types/
#   reply_parameters.html): `message_id`, `allow_sending_without_reply`.
# - Inline keyboards (#inlinekeyboardmarkup, #inlinekeyboardbutton): `reply_markup: {"inline_keyboard": [[…], …]}`,
#   each button `text` plus `callback_data` ("Data to be sent in a callback query to the bot when the button is pressed,
#   1-64 bytes"). A tap arrives as Update.callback_query (#callbackquery: `id`, `from`, `message` — the message with the
#   keyboard — and `data`); "Telegram clients will display a progress bar until you call answerCallbackQuery"
#   (#answercallbackquery, `callback_query_id`). We answer it in the webhook's own response ("Making requests when
#   getting updates", #making-requests-when-getting-updates: a JSON body with `method` and the parameters), so the
#   spinner stops without a second HTTP call from the web process; Telegram gives no result for it, and none is needed.
#   A redelivered update repeats the same callback query id: that id is the dedupe key.
# - Making requests / errors (#making-requests, #responseparameters): every answer is `{"ok": …}`; failures carry
#   `error_code`, `description` and optionally `parameters.retry_after` ("In case of exceeding flood control, the number
#   of seconds left to wait before the request can be repeated").
#
# There is no handshake on Telegram: `handshake` always answers None.

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx

from assistant.domain.channels import InboundEvent, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import InboundMessage
from assistant.settings import PlatformConfig
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
from webhooks.adapters.choices import ChoiceLimits, buttons, our_choice
from webhooks.adapters.signing import (
    from_epoch,
    id_string,
    json_object,
    json_response,
    language_hint,
    parse_json_object,
    request_json,
    require_secret,
    response_json,
    seconds_or_none,
    send_json,
)

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "callback_query"]
# callback_data is 1-64 bytes. Telegram documents no length for a button's text (clients cut it with an ellipsis);
# 40 characters keep one button per row readable on a phone. Ten buttons: ours, a clarification is a short list.
CHOICE_LIMITS = ChoiceLimits(max_choices=10, title_chars=40, payload_bytes=64)
SECRET_TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Update fields that hold a Message, and the kind each one becomes.
MESSAGE_FIELDS = {
    "message": "message",
    "channel_post": "message",
    "edited_message": "other",
    "edited_channel_post": "other",
}
PUBLIC_CHAT_TYPES = ("group", "supergroup", "channel")  # a tuple: JSON values may be unhashable


class TelegramAdapter(ConfiguredAdapter):
    """Telegram bots over an HTTPS webhook."""

    name: ClassVar[str] = "telegram"
    choice_limits: ClassVar[ChoiceLimits | None] = CHOICE_LIMITS
    # sendMessage: `text` of 1-4,096 characters; a bot may answer a chat any time.
    rules: ClassVar[PlatformRules] = PlatformRules(max_text_chars=4096)

    def _api(self, method: str) -> str:
        return f"{self.config.api_base_url.rstrip('/')}/bot{self.config.bot_token}/{method}"

    # --- inbound ------------------------------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> WebhookResponse | None:
        return None

    def verify(self, request: WebhookRequest) -> None:
        secret = require_secret(self.config.secret_token, "telegram secret_token")
        header = request.header("X-Telegram-Bot-Api-Secret-Token")
        if not header:
            raise SignatureError("missing X-Telegram-Bot-Api-Secret-Token")
        if not constant_time_equal(header, secret):
            raise SignatureError("X-Telegram-Bot-Api-Secret-Token does not match")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        update = parse_json_object(request.body)
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise PayloadError("Update without an integer update_id")
        event_id = str(update_id)
        for field, kind in MESSAGE_FIELDS.items():
            if field in update:
                message = update[field]
                if not isinstance(message, dict) or id_string(json_object(message.get("chat")).get("id")) is None:
                    raise PayloadError(f"{field} is not a Message with a chat id")
                return [self._message_event(event_id, kind, message)]
        query = update.get("callback_query")
        if isinstance(query, dict) and id_string(query.get("id")):
            return [self._callback_event(query)]
        # Any other update type (allowed_updates should keep them away): acknowledge, never answer.
        chat_id = _find_chat_id(update)
        return [
            InboundEvent(
                platform=self.name,
                event_id=event_id,
                conversation_key=chat_id or f"update:{event_id}",
                kind="other",
                message=None,
            )
        ]

    def acknowledge(self, request: WebhookRequest, events: list[InboundEvent]) -> WebhookResponse:
        # A tapped button spins until answered: answer it in this response (also a tap on a button not ours).
        query = json_object(parse_json_object(request.body).get("callback_query"))
        query_id = id_string(query.get("id"))
        if query_id is None:
            return WebhookResponse(status=200)
        return json_response({"method": "answerCallbackQuery", "callback_query_id": query_id})

    def _callback_event(self, query: dict[str, Any]) -> InboundEvent:
        """A tap on an inline-keyboard button: one of our choices becomes a message carrying its payload, with the
        button's own text (from the keyboard of the message tapped) as the words; any other tap is only answered."""
        query_id = str(id_string(query.get("id")))
        event_id = f"callback:{query_id}"
        message = json_object(query.get("message"))
        chat = json_object(message.get("chat"))
        chat_id = id_string(chat.get("id"))
        sender = json_object(query.get("from"))
        sender_id = id_string(sender.get("id"))
        payload = our_choice(query.get("data"))
        if chat_id is None or sender_id is None:
            # A button under an inline-mode message has no chat to answer in.
            return InboundEvent(
                platform=self.name, event_id=event_id, conversation_key=chat_id or event_id, kind="other", message=None
            )
        target = {"chat_id": chat_id}
        thread_id = id_string(message.get("message_thread_id"))
        if thread_id and message.get("is_topic_message") is True:
            target["message_thread_id"] = thread_id
        is_echo = sender.get("is_bot") is True or sender_id in self.config.own_ids
        kind = "echo" if is_echo else ("message" if payload is not None else "other")
        inbound = InboundMessage(
            text=(_button_text(message, payload) or payload) if payload is not None else "",
            sender_id=sender_id,
            sender_name=sender.get("first_name") if isinstance(sender.get("first_name"), str) else None,
            platform=self.name,
            conversation_id=chat_id,
            language=language_hint(sender.get("language_code")),
            is_public=chat.get("type") in PUBLIC_CHAT_TYPES,
            is_echo=is_echo,
            choice_payload=payload,
        )
        return InboundEvent(
            platform=self.name,
            event_id=event_id,
            conversation_key=chat_id,
            kind=kind,
            message=inbound if kind != "other" else None,
            reply_target=target,
        )

    def _message_event(self, event_id: str, kind: str, message: dict[str, Any]) -> InboundEvent:
        chat = json_object(message.get("chat"))
        chat_id = str(id_string(chat.get("id")))
        sender = json_object(message.get("from"))
        sender_chat = json_object(message.get("sender_chat"))  # channel posts speak as the channel
        sender_id = id_string(sender.get("id")) or id_string(sender_chat.get("id")) or chat_id
        sender_name = sender.get("first_name") if isinstance(sender.get("first_name"), str) else None
        if sender_name is None and isinstance(sender_chat.get("title"), str):
            sender_name = sender_chat["title"]
        message_id = id_string(message.get("message_id"))
        text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
        is_echo = sender.get("is_bot") is True or sender_id in self.config.own_ids
        target = {"chat_id": chat_id}
        if message_id:
            target["message_id"] = message_id
        thread_id = id_string(message.get("message_thread_id"))
        if thread_id and message.get("is_topic_message") is True:
            target["message_thread_id"] = thread_id  # answer inside the same forum topic
        if is_echo:
            kind = "echo"
        elif not isinstance(text, str) or not text.strip():
            kind = "other"  # stickers, photos without caption, service messages: nothing to answer
        inbound = InboundMessage(
            text=text if isinstance(text, str) else "",
            sender_id=sender_id,
            sender_name=sender_name,
            platform=self.name,
            conversation_id=chat_id,
            message_id=message_id,
            language=language_hint(sender.get("language_code")),
            is_public=chat.get("type") in PUBLIC_CHAT_TYPES,
            is_echo=is_echo,
        )
        return InboundEvent(
            platform=self.name,
            event_id=event_id,
            conversation_key=chat_id,
            kind=kind,
            message=inbound,
            reply_target=target,
            sent_at=from_epoch(message.get("date")),
        )

    # --- outbound -----------------------------------------------------------------------------------------------

    def send(self, client: httpx.Client, message: OutboundMessage) -> SendResult:
        if not self.config.bot_token:
            return refused("telegram bot_token is not configured")
        chat_id = message.reply_target.get("chat_id")
        if not chat_id:
            return refused("reply_target has no chat_id")
        payload: dict[str, Any] = {"chat_id": _chat_id(chat_id), "text": message.text}
        try:
            if message.reply_target.get("message_id"):
                payload["reply_parameters"] = {
                    "message_id": int(message.reply_target["message_id"]),
                    "allow_sending_without_reply": True,
                }
            if message.reply_target.get("message_thread_id"):
                payload["message_thread_id"] = int(message.reply_target["message_thread_id"])
        except ValueError:
            return refused("reply_target message_id / message_thread_id must be integers")
        keyboard = [[{"text": b.title, "callback_data": b.payload}] for b in buttons(message.choices, CHOICE_LIMITS)]
        if keyboard:
            payload["reply_markup"] = {"inline_keyboard": keyboard}  # one option per row: titles stay readable
        return send_json(client, "POST", self._api("sendMessage"), payload, read_result)


def read_result(response: httpx.Response) -> SendResult:
    """A Bot API answer: `ok: true` with the sent Message, or an error (`parameters.retry_after` on flood control)."""
    body = response_json(response)
    if response.is_success and body.get("ok") is True:
        return result_from_response(response, id_string(json_object(body.get("result")).get("message_id")))
    result = result_from_response(response)
    retry_after = seconds_or_none(json_object(body.get("parameters")).get("retry_after"))
    status = response.status_code
    retryable = status == 429 or status >= 500 or retry_after is not None
    description = body.get("description") if isinstance(body.get("description"), str) else result.error
    return SendResult(
        ok=False,
        status=status,
        retryable=retryable,
        retry_after=retry_after if retry_after is not None else result.retry_after,
        error=description,
    )


def set_webhook(client: httpx.Client, config: PlatformConfig, url: str) -> dict[str, Any]:
    """Register `url` as the bot's webhook with our secret token and update types; returns Telegram's answer.

    Called once by a CLI command, never on start (each call resets Telegram's delivery state for the bot)."""
    if not config.bot_token:
        raise ValueError("telegram bot_token is not configured")
    if not config.secret_token or not SECRET_TOKEN_FORMAT.fullmatch(config.secret_token):
        raise ValueError("telegram secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    payload = {
        "url": url,
        "secret_token": config.secret_token,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": False,
    }
    endpoint = f"{config.api_base_url.rstrip('/')}/bot{config.bot_token}/setWebhook"
    outcome = request_json(client, "POST", endpoint, payload)
    if isinstance(outcome, SendResult):
        return {"ok": False, "description": outcome.error}
    body = response_json(outcome)
    return body or {"ok": False, "error_code": outcome.status_code, "description": "answer was not JSON"}


def _button_text(message: dict[str, Any], callback_data: str | None) -> str | None:
    """The text of the button carrying `callback_data` in the tapped message's inline keyboard, if it is there."""
    keyboard = json_object(message.get("reply_markup")).get("inline_keyboard")
    for row in keyboard if isinstance(keyboard, list) else []:
        for button in row if isinstance(row, list) else []:
            button = json_object(button)
            if button.get("callback_data") == callback_data and isinstance(button.get("text"), str):
                return str(button["text"])
    return None


def _chat_id(value: str) -> int | str:
    """Chat ids are integers; keep `@channelusername` strings as they are."""
    try:
        return int(value)
    except ValueError:
        return value


def _find_chat_id(update: dict[str, Any], depth: int = 3) -> str | None:
    """The chat an unfamiliar update belongs to (e.g. callback_query.message.chat), searched a few levels deep."""
    for value in update.values():
        if isinstance(value, dict):
            chat_id = id_string(json_object(value.get("chat")).get("id"))
            if chat_id is None and depth > 1:
                chat_id = _find_chat_id(value, depth - 1)
            if chat_id:
                return chat_id
    return None
