"""A running service for integration tests: real Redis (db 15), a SQLite file, a real Celery worker
process and the real Flask app, with a local double standing in for the platforms' APIs."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from celery.signals import after_task_publish
from flask.testing import FlaskClient
from redis import Redis

from assistant.settings import Settings, load_settings
from assistant.store import Store
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

    # Every ca.process_event task published from this process (the webhook views run here): task id and event.
    published: list[tuple[str, str, str]] = field(default_factory=list)

    def sends(self, path_suffix: str) -> list[object]:
        return [r for r in self.api.requests if r.path.endswith(path_suffix)]

    def tasks_for(self, platform: str, event_id: str) -> list[str]:
        """The ids of the process_event tasks queued for one platform event, in the order they were queued."""
        return [task_id for task_id, p, e in self.published if (p, e) == (platform, str(event_id))]

    def task_outcome(self, task_id: str) -> str | None:
        """What the worker's task returned, from Celery's own log line; None while it has not finished."""
        log = self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""
        found = re.search(rf"Task ca\.process_event\[{re.escape(task_id)}\] succeeded in [0-9.e-]+s: '(\w+)'", log)
        return found.group(1) if found else None

    def wait_processed(self, platform: str, event_id: str, queued: int) -> list[str]:
        """Wait until the worker has finished every process_event task queued for the event (there must be
        `queued` of them) and return their outcomes (decided, duplicate, resumed, ...), in queueing order."""
        tasks = self.tasks_for(platform, event_id)
        assert len(tasks) == queued, f"{platform}:{event_id} was queued {len(tasks)} times, expected {queued}"
        self.wait_for(
            lambda: all(self.task_outcome(task) is not None for task in tasks),
            what=f"the worker to finish processing {platform}:{event_id}",
        )
        return [str(self.task_outcome(task)) for task in tasks]

    def reply_status(self, platform: str, event_id: str) -> str | None:
        """The status of the reply reserved for an event (pending, sending, sent, failed, unknown, dead), if any."""
        record = self.store.outbound_by_key(f"reply:{platform}:{event_id}")
        return record.status if record is not None else None


def start_worker(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CA_CONFIG": str(config), "CA_CELERY_VISIBILITY_TIMEOUT": "4"}
    celery = Path(sys.executable).with_name("celery")
    handle = log_path.open("ab")
    process = subprocess.Popen(
        [
            str(celery),
            "-A",
            "webhooks.worker_app:celery_app",
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

        def record_publish(
            sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any
        ) -> None:
            # Protocol 2: the body is (args, kwargs, embed) and the only argument is the event's dict.
            if sender == "ca.process_event" and headers is not None:
                event = body[0][0]
                service.published.append((str(headers["id"]), str(event["platform"]), str(event["event_id"])))

        after_task_publish.connect(record_publish, weak=False)
        try:
            yield service
        finally:
            after_task_publish.disconnect(record_publish)
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
