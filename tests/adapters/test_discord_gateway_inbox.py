"""The Discord Gateway accepts as the webhooks do: a message from discord.py's receive path is cleaned, stored in the
durable inbox (a replayed one once) and queued; a database that refuses is tried again, since Discord does not
deliver a Gateway message twice; the start command refuses settings without a bot."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from assistant.domain.channels import InboundEvent
from assistant.domain.messages import InboxStatus
from assistant.services.intake import Intake
from assistant.settings import ReliabilityConfig, Settings
from assistant.store import Store, migrate
from tests.adapters.test_discord import (
    BOT_ID,
    GATEWAY_CUSTOMER,
    GATEWAY_ME,
    config,
    gateway_frame,
    message_create,
    ready_and_guild_frames,
    run_gateway_frames,
)
from webhooks.discord_gateway import inbox_acceptor, main


class Queue:
    def __init__(self) -> None:
        self.events: list[InboundEvent] = []
        self.batches: list[Sequence[int]] = []


@pytest.fixture
def database(tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    url = f"sqlite:///{database}"
    migrate(url)
    instance = Store.from_url(url)
    yield instance
    instance.close()


def intake(store: Store, queue: Queue) -> Intake:
    return Intake(store, queue.events.append, queue.batches.append, ReliabilityConfig())


def question(sequence: int, message_id: int, text: str) -> str:
    return gateway_frame(
        sequence, "MESSAGE_CREATE", message_create(message_id, f"<@{BOT_ID}> {text}", GATEWAY_CUSTOMER, [GATEWAY_ME])
    )


def test_a_gateway_message_is_cleaned_stored_in_the_inbox_and_queued_once(store: Store) -> None:
    queue = Queue()
    accept = inbox_acceptor(intake(store, queue))
    frames = [
        *ready_and_guild_frames(),
        question(3, 1100000000000000001, "where is my order?\x00 \ud800"),
        # A resumed session replays what it missed; the same message a second time is skipped by the inbox.
        question(4, 1100000000000000001, "where is my order?\x00 \ud800"),
    ]
    run_gateway_frames(accept, frames, expected=2)
    [event] = queue.events
    stored = store.inbox_event("discord", "discord-msg:1100000000000000001")
    assert stored is not None and stored.status == InboxStatus.RECEIVED
    assert InboundEvent.from_dict(stored.payload or {}) == event
    assert event.message is not None and event.message.text == "where is my order? \ufffd"


def test_a_database_that_refuses_is_tried_again_until_it_takes_the_message(store: Store, database: str) -> None:
    def rename(old: str, new: str) -> None:
        with sqlite3.connect(database) as connection:
            connection.execute(f"ALTER TABLE {old} RENAME TO {new}")

    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the database comes back during the second wait
        waits.append(seconds)
        if len(waits) == 2:
            rename("inbox_away", "inbox")

    queue = Queue()
    accept = inbox_acceptor(intake(store, queue), attempts=4, first_wait=0.5, sleep=sleep)
    rename("inbox", "inbox_away")
    run_gateway_frames(accept, [*ready_and_guild_frames(), question(3, 1100000000000000002, "refund?")], expected=1)
    assert waits == [0.5, 1.0]
    assert [e.event_id for e in queue.events] == ["discord-msg:1100000000000000002"]
    assert store.inbox_event("discord", "discord-msg:1100000000000000002") is not None


def test_after_every_attempt_the_message_is_logged_by_id_without_its_text(
    store: Store, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("ALTER TABLE inbox RENAME TO inbox_away")
    queue = Queue()
    accept = inbox_acceptor(intake(store, queue), attempts=3, first_wait=0.01, sleep=lambda _: None)
    with caplog.at_level(logging.WARNING, logger="community_assistant.discord_gateway"):
        run_gateway_frames(
            accept, [*ready_and_guild_frames(), question(3, 1100000000000000003, "secret order 4411")], expected=1
        )
    assert not queue.events
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "discord-msg:1100000000000000003" in error.getMessage() and "3 attempts" in error.getMessage()
    assert not any("4411" in r.getMessage() for r in caplog.records)


def test_the_start_command_refuses_settings_without_a_discord_bot() -> None:
    platforms: dict[str, Any] = {"discord": config(bot_token=None)}
    with pytest.raises(SystemExit, match="bot_token"):
        main(Settings(platforms=platforms))
    with pytest.raises(SystemExit, match="enabled = true"):
        main(Settings(platforms={"discord": config(enabled=False)}))


def test_assistant_discord_gateway_runs_the_gateway_module(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("[platforms.discord]\nenabled = false\n", encoding="utf-8")
    assistant = Path(sys.executable).with_name("assistant")
    done = subprocess.run(
        [str(assistant), "discord-gateway"],
        env={**os.environ, "CA_CONFIG": str(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "the Discord Gateway needs platforms.discord with enabled = true" in done.stderr
