"""The service as the integration tests run it: the settings file they write, the real Redis db each suite owns,
CA_CONFIG naming the file while a test runs, what the platform double answers, and Telegram messages posted
through the webhook (and the worker's reply waited for)."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from redis import Redis

from assistant.settings import Settings, load_settings
from assistant.store.db import migrate
from tests.adapters.platform_double import PlatformDouble, ScriptedResponse
from tests.conftest import ROOT
from tests.workers import WorkerWaits

KB_DIR = ROOT / "knowledge_base"
TELEGRAM_SECRET = "tg-secret-token-123"
TELEGRAM_BOT_TOKEN = "123456:TEST-TOKEN"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BOT_TOKEN = "xoxb-test-token"
# What Telegram's sendMessage and Slack's chat.postMessage answer on success.
_PLATFORM_SUCCESS = ScriptedResponse(
    200, {"Content-Type": "application/json"}, b'{"ok": true, "result": {"message_id": 1}, "ts": "1.000100"}'
)

Section = Mapping[str, str | int | float | bool]


def _toml(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # A JSON string is a TOML basic string (the values here are paths, URLs and tokens).
    return json.dumps(value) if isinstance(value, str) else str(value)


def _write_settings(
    path: Path,
    data_dir: Path,
    *,
    kb_dir: Path = KB_DIR,
    platforms: Mapping[str, Section] | None = None,
    **sections: Section,
) -> Path:
    """A settings file on the sample KB (or `kb_dir`) and the shipped NLU data: one [name] table per keyword
    (policy=, service=, security=, live_index=...) and one [platforms.name] table per platform."""
    # An empty editor that never writes into the shipped KB folder, unless a test asks (kb_sync=...).
    sections = {"kb_sync": {"seed_from_yaml": False, "write_back": False}, **sections}
    lines = [f"kb_dir = {_toml(str(kb_dir))}", f"data_dir = {_toml(str(data_dir))}"]
    lines.append(f"nlu_file = {_toml(str(ROOT / 'training' / 'nlu.yml'))}")
    tables = {**sections, **{f"platforms.{name}": values for name, values in (platforms or {}).items()}}
    for name, values in tables.items():
        lines += ["", f"[{name}]", *(f"{key} = {_toml(value)}" for key, value in values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _telegram_platform(api_url: str, secret: str = TELEGRAM_SECRET, bot_token: str = TELEGRAM_BOT_TOKEN) -> Section:
    return _platform(api_url, bot_token, secret_token=secret)


def _slack_platform(
    api_url: str, bot_token: str = SLACK_BOT_TOKEN, signing_secret: str = SLACK_SIGNING_SECRET
) -> Section:
    return _platform(api_url, bot_token, signing_secret=signing_secret)


def _platform(api_url: str, bot_token: str, **secret: str) -> Section:
    # 50 sends a second per chat: the tests' bursts to one chat are never throttled.
    return {"enabled": True, "api_base_url": api_url, **secret, "bot_token": bot_token, "per_chat_per_second": 50}


@contextmanager
def flushed_redis(url: str) -> Iterator[Redis]:
    """The real Redis db at `url`, empty before and after (a real Redis is required: fail, never skip)."""
    redis = Redis.from_url(url)
    redis.ping()
    redis.flushdb()
    try:
        yield redis
    finally:
        redis.flushdb()


@contextmanager
def _settings_in_env(config: Path) -> Iterator[None]:
    """CA_CONFIG names `config` (for load_settings() here and the app's Celery client), then is what it was."""
    previous = os.environ.get("CA_CONFIG")
    os.environ["CA_CONFIG"] = str(config)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CA_CONFIG", None)
        else:
            os.environ["CA_CONFIG"] = previous


@dataclass(frozen=True)
class Configured:
    settings: Settings
    api: PlatformDouble
    redis: Redis


@contextmanager
def configured_service(
    config: Path,
    data_dir: Path,
    redis_url: str,
    database_url: str,
    *,
    telegram: tuple[str, str] | None = None,
    slack_bot_token: str | None = None,
    service: Callable[[str], Section] | Section | None = None,
    **tables: Any,
) -> Iterator[Configured]:
    """A test's service up to its processes: its Redis db flushed; a platform double answering every send with
    success; the settings file (that Redis and database, Telegram (secret, bot token) and Slack (bot token) on the
    double, the `service` table's other keys, a function of the double's URL where they need it, and the other
    tables as _write_settings takes them) named by CA_CONFIG and loaded; the database migrated."""
    with flushed_redis(redis_url) as redis, PlatformDouble(default=_PLATFORM_SUCCESS) as api:
        platforms = {"telegram": _telegram_platform(api.url, *telegram)} if telegram else {}
        if slack_bot_token:
            platforms["slack"] = _slack_platform(api.url, slack_bot_token)
        keys = service(api.url) if callable(service) else service or {}
        service_table = {"redis_url": redis_url, "database_url": database_url, **keys}
        _write_settings(config, data_dir, platforms=platforms, service=service_table, **tables)
        with _settings_in_env(config):
            settings = load_settings()
            migrate(database_url)
            yield Configured(settings, api, redis)


# Unique within a process: update, message and chat ids of the Telegram updates the tests post.
_update_ids = itertools.count(int(time.time()) % 1_000_000 * 1000 + 700_000)


def telegram_update(text: str, chat_id: int, update_id: int | None = None) -> dict[str, object]:
    return {
        "update_id": update_id if update_id is not None else next(_update_ids),
        "message": {
            "message_id": next(_update_ids) % 100000,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Anna", "language_code": "en"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Anna"},
            "date": int(time.time()),
            "text": text,
        },
    }


def post_telegram(client: FlaskClient, update: dict[str, object], secret: str = TELEGRAM_SECRET) -> int:
    response = client.post(
        "/webhooks/telegram",
        data=json.dumps(update),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    return response.status_code


def ask_over_telegram(
    service: WorkerWaits, client: FlaskClient, api: PlatformDouble, text: str, secret: str, bot_token: str
) -> str:
    """`text` from a new Telegram chat through the webhook; the worker's first reply to that chat."""
    chat = next(_update_ids)
    assert post_telegram(client, telegram_update(text, chat), secret) == 200
    send_path = f"/bot{bot_token}/sendMessage"

    def replies() -> list[str]:
        sends = [r.json() for r in api.requests if r.path.endswith(send_path)]
        return [str(body["text"]) for body in sends if body.get("chat_id") == chat]

    service.wait_for(replies, f"a reply to chat {chat}")
    return replies()[0]
