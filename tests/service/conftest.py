"""A running service for integration tests: real Redis (db 15), a SQLite file, a real Celery worker
process and the real Flask app, with a local double standing in for the platforms' APIs."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis

from assistant.settings import Settings, load_settings
from assistant.store.repository import Store
from tests.adapters.platform_double import PlatformDouble, ScriptedResponse
from tests.conftest import ROOT, TEST_REDIS_URL

TELEGRAM_SECRET = "tg-secret-token-123"
TELEGRAM_BOT_TOKEN = "123456:TEST-TOKEN"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BOT_TOKEN = "xoxb-test-token"


def write_config(path: Path, data_dir: Path, database: Path, api_url: str, helpdesk_url: str) -> None:
    path.write_text(
        f"""
kb_dir = "{ROOT / "knowledge_base"}"
data_dir = "{data_dir}"
nlu_file = "{ROOT / "training" / "nlu.yml"}"

[policy]
answer_in_business_hours = true

[service]
redis_url = "{TEST_REDIS_URL}"
database_url = "sqlite:///{database}"
send_timeout_seconds = 1.5
send_max_retries = 3
helpdesk_url = "{helpdesk_url}"
helpdesk_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

[platforms.telegram]
enabled = true
api_base_url = "{api_url}"
secret_token = "{TELEGRAM_SECRET}"
bot_token = "{TELEGRAM_BOT_TOKEN}"
per_chat_per_second = 50

[platforms.slack]
enabled = true
api_base_url = "{api_url}"
signing_secret = "{SLACK_SIGNING_SECRET}"
bot_token = "{SLACK_BOT_TOKEN}"
per_chat_per_second = 50
""",
        encoding="utf-8",
    )


@dataclass
class Service:
    settings: Settings
    config: Path
    api: PlatformDouble
    store: Store
    redis: Redis
    worker: subprocess.Popen[bytes] | None
    worker_log: Path

    def wait_for(self, predicate: object, timeout: float = 30.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return
            time.sleep(0.1)
        log = self.worker_log.read_text(errors="replace")[-3000:] if self.worker_log.exists() else ""
        raise AssertionError(f"timed out waiting for {what}; worker log tail:\n{log}")

    def sends(self, path_suffix: str) -> list[object]:
        return [r for r in self.api.requests if r.path.endswith(path_suffix)]


def start_worker(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CA_CONFIG": str(config), "CA_CELERY_VISIBILITY_TIMEOUT": "4"}
    celery = Path(sys.executable).with_name("celery")
    handle = log_path.open("ab")
    process = subprocess.Popen(
        [
            str(celery),
            "-A",
            "webhooks.celery_app:celery_app",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "-Q",
            "community-assistant",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if b" ready." in log_path.read_bytes():
            return process
        if process.poll() is not None:
            raise AssertionError(f"celery worker exited: {log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"celery worker did not start: {log_path.read_text()[-3000:]}")


def stop_worker(process: subprocess.Popen[bytes] | None, kill: bool = False) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def service(trained_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("service")
    redis = Redis.from_url(TEST_REDIS_URL)
    redis.ping()  # a real Redis is required: fail, never skip
    redis.flushdb()
    # What Telegram's sendMessage and Slack's chat.postMessage answer on success.
    success = ScriptedResponse(
        200, {"Content-Type": "application/json"}, b'{"ok": true, "result": {"message_id": 1}, "ts": "1.000100"}'
    )
    with PlatformDouble(default=success) as api:
        config = tmp / "service.toml"
        write_config(config, trained_data_dir, tmp / "service.db", api.url, f"{api.url}/helpdesk/tickets")
        os.environ["CA_CONFIG"] = str(config)
        settings = load_settings()
        from assistant.store.db import migrate

        migrate(settings.service.database_url)
        store = Store.from_url(settings.service.database_url)
        log_path = tmp / "worker.log"
        worker = start_worker(config, log_path)
        service = Service(settings, config, api, store, redis, worker, log_path)
        try:
            yield service
        finally:
            stop_worker(service.worker)
            os.environ.pop("CA_CONFIG", None)
            redis.flushdb()


@pytest.fixture()
def client(service: Service) -> FlaskClient:
    from webhooks.app import create_app

    app = create_app(service.settings)
    return app.test_client()


# Unique within a process: update and message ids of the Telegram updates the tests post.
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
