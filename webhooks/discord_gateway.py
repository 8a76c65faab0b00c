"""Discord Gateway bot for questions posted in channels (slash commands arrive over HTTP instead): each message
that mentions the bot, sits in a configured channel, or is a DM to the bot becomes an InboundEvent, accepted as a
webhook's are (cleaned, stored in the durable inbox, queued). `assistant discord-gateway` runs it
(`python -m webhooks.discord_gateway`)."""

# Contracts followed: discord.py 2.7.1 as installed (`discord.Client(intents=...)`, `Intents.default()` leaves the
# privileged `message_content` off so we switch it on, the `on_message` event, `Message.author.bot`, `mentions`,
# `raw_mentions`, `webhook_id`, `created_at`; the quick-start pattern in https://skills.sh/frizzle-chan/mudd/discord-py),
# and Discord's privileged-intent rules: Message Content must also be enabled for the bot in the Developer Portal
# (https://docs.discord.com/developers/gateway/you-might-not-need-a-privileged-intent,
# https://support-dev.discord.com/hc/en-us/articles/4404772028055), else message content arrives empty.
# Answers go out through
# `DiscordAdapter.send` (POST /channels/{id}/messages with the bot token), never over the Gateway.
# The Gateway itself cannot be reached from the test machines: only the pure function is tested.

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import discord

from assistant.domain.channels import InboundEvent
from assistant.domain.messages import InboundMessage
from assistant.services import intake
from assistant.settings import PlatformConfig, Settings, load_settings
from assistant.store import StoreUnavailableError
from webhooks.adapters.signing import id_string, utc

PLATFORM = "discord"
# Discord does not deliver a Gateway message again: a database that refuses it is tried again for about a minute.
STORE_ATTEMPTS = 7
STORE_FIRST_WAIT_SECONDS = 1.0

log = logging.getLogger("community_assistant.discord_gateway")


def event_from_discord_message(
    message: Any,
    bot_user_id: int | str | None,
    channel_ids: Collection[int | str] = (),
    *,
    own_ids: Collection[str] = (),
    accept_direct_messages: bool = True,
) -> InboundEvent | None:
    """The event for one Gateway message, or None when it is not for us.

    Ignored: bots (ours included), webhooks, authors in `own_ids`, and messages that neither mention the bot nor sit
    in `channel_ids` (a thread counts as its parent channel) nor are a DM to the bot (when `accept_direct_messages`).
    `message` is a `discord.Message` or anything with the same attributes (tests use plain stand-ins)."""
    author = getattr(message, "author", None)
    author_id = id_string(getattr(author, "id", None))
    bot_id = id_string(bot_user_id)
    if author is None or author_id is None or getattr(author, "bot", False) is True:
        return None
    if author_id == bot_id or author_id in own_ids or getattr(message, "webhook_id", None) is not None:
        return None
    channel = getattr(message, "channel", None)
    channel_id = id_string(getattr(channel, "id", None))
    if channel_id is None:
        return None
    guild = getattr(message, "guild", None)
    guild_id = id_string(getattr(guild, "id", None))
    mentioned_ids = {id_string(getattr(user, "id", None)) for user in getattr(message, "mentions", None) or []}
    mentioned_ids |= {id_string(raw) for raw in getattr(message, "raw_mentions", None) or []}
    wanted = {str(value) for value in channel_ids}
    parent_id = id_string(getattr(channel, "parent_id", None))
    addressed = (
        (bot_id is not None and bot_id in mentioned_ids)
        or channel_id in wanted
        or (parent_id is not None and parent_id in wanted)
        or (guild_id is None and accept_direct_messages)
    )
    if not addressed:
        return None
    text = _without_mention(str(getattr(message, "content", "") or ""), bot_id)
    if not text:
        return None  # a bare mention, or content hidden because the Message Content intent is off
    message_id = id_string(getattr(message, "id", None))
    if message_id is None:
        return None
    key = f"{guild_id or 'dm'}:{channel_id}"
    name = (
        getattr(author, "display_name", None) or getattr(author, "global_name", None) or getattr(author, "name", None)
    )
    created = getattr(message, "created_at", None)
    inbound = InboundMessage(
        text=text,
        sender_id=author_id,
        sender_name=name if isinstance(name, str) else None,
        platform=PLATFORM,
        conversation_id=key,
        message_id=message_id,
        is_public=guild_id is not None,
    )
    return InboundEvent(
        platform=PLATFORM,
        event_id=f"discord-msg:{message_id}",
        conversation_key=key,
        kind="message",
        message=inbound,
        reply_target={"channel_id": channel_id, "message_id": message_id},
        sent_at=utc(created) if created is not None else None,
    )


def build_client(
    config: PlatformConfig,
    enqueue: Callable[[InboundEvent], None],
    channel_ids: Collection[int | str],
    *,
    accept_direct_messages: bool = True,
) -> discord.Client:
    """A discord.py client with the message-content intent whose on_message hands our events to `enqueue`."""
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents)
    wanted = frozenset(str(value) for value in channel_ids)

    @client.event
    async def on_message(message: discord.Message) -> None:
        me = client.user
        event = event_from_discord_message(
            message,
            me.id if me else None,
            wanted,
            own_ids=config.own_ids,
            accept_direct_messages=accept_direct_messages,
        )
        if event is not None:
            # enqueue talks to the database and the broker (blocking I/O): keep it off the event loop and heartbeat.
            await asyncio.to_thread(enqueue, event)

    return client


def run_gateway(
    config: PlatformConfig,
    enqueue: Callable[[InboundEvent], None],
    channel_ids: Collection[int | str],
    *,
    accept_direct_messages: bool = True,
) -> None:
    """Connect to the Gateway with the bot token and run until stopped (blocking; one process per bot token)."""
    if not config.bot_token:
        raise ValueError("discord bot_token is not configured")
    client = build_client(config, enqueue, channel_ids, accept_direct_messages=accept_direct_messages)
    client.run(config.bot_token, log_handler=None)


def inbox_acceptor(
    deps: intake.Intake,
    attempts: int = STORE_ATTEMPTS,
    first_wait: float = STORE_FIRST_WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[InboundEvent], None]:
    """The Gateway's callback: the event accepted as a webhook's (cleaned, stored in the inbox, then queued; a queue
    that is down leaves it to the inbox sweeper). The Gateway cannot be asked to deliver again, so a database that
    refuses is tried again, waiting `first_wait` seconds and doubling; after `attempts` the event is logged (its
    ids, not its text) as not stored. Runs off the event loop (blocking I/O)."""

    def accept(event: InboundEvent) -> None:
        wait = first_wait
        for attempt in range(1, attempts + 1):
            try:
                intake.accept(deps, [event], datetime.now(UTC))
                return
            except StoreUnavailableError as error:
                if attempt == attempts:
                    log.error("Gateway message %s not stored after %d attempts (%s)", event.event_id, attempts, error)
                    return
                log.warning("Gateway message %s: %s; trying again in %.0f s", event.event_id, error, wait)
                sleep(wait)
                wait *= 2

    return accept


def main(settings: Settings | None = None) -> None:
    """Run the Gateway bot on the settings' Discord platform, accepting through the inbox (blocking)."""
    from webhooks.app import create_app
    from webhooks.celery_app import CELERY_EXTENSION, intake_for
    from webhooks.runtime import RUNTIME_EXTENSION

    settings = settings or load_settings()
    config = settings.platforms.get(PLATFORM)
    if config is None or not config.enabled or not config.bot_token:
        raise SystemExit("error: the Discord Gateway needs platforms.discord with enabled = true and a bot_token")
    app = create_app(settings)  # the web process's runtime and Celery app
    runtime, celery = app.extensions[RUNTIME_EXTENSION], app.extensions[CELERY_EXTENSION]
    run_gateway(
        config,
        inbox_acceptor(intake_for(runtime, celery)),
        config.gateway_channel_ids,
        accept_direct_messages=config.gateway_direct_messages,
    )


def _without_mention(content: str, bot_id: str | None) -> str:
    if bot_id:
        content = re.sub(rf"<@!?{re.escape(bot_id)}>", " ", content)
    return " ".join(content.split())


if __name__ == "__main__":
    main()
