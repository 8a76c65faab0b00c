"""Live re-indexing end to end with a real Celery worker: the KB changes, `request_reindex` queues `ca.reindex_kb`,
the worker builds and publishes a new version and answers the next message with the new answer without a
restart; rolling the pointer back brings the old answer back; /readyz reports the served version. The data folder
starts in the legacy layout, which the worker's first load migrates to version 1."""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from redis import Redis

from assistant.knowledge.index_versions import read_pointer
from assistant.settings import Settings, load_settings
from tests.adapters.platform_double import PlatformDouble, ScriptedResponse
from tests.conftest import REDIS_SERVER, ROOT, write_legacy_layout
from tests.service.conftest import post_telegram, start_worker, stop_worker, telegram_update

REDIS_URL = f"{REDIS_SERVER}/11"  # LIVEINDEX's test database
SECRET = "live-reindex-secret"
BOT_TOKEN = "654321:LIVE-TOKEN"
SEND_PATH = f"/bot{BOT_TOKEN}/sendMessage"
QUESTION = "What are your opening hours?"
NEW_ANSWER = "From today the showroom is open every day from 7:00 to 21:00."
_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)


@dataclass
class Live:
    settings: Settings
    api: PlatformDouble
    client: FlaskClient
    kb_dir: Path
    worker_log: Path

    def ask(self, text: str) -> str:
        """Send a Telegram message through the webhook and wait for the worker's reply to that chat."""
        chat = next(_ids)
        assert post_telegram(self.client, telegram_update(text, chat), SECRET) == 200
        replies: list[str] = []
        self.wait_for(lambda: bool(replies.extend(self._replies(chat)) or replies), f"a reply to chat {chat}")
        return replies[0]

    def _replies(self, chat: int) -> list[str]:
        sends = [r.json() for r in self.api.requests if r.path.endswith(SEND_PATH)]
        return [str(s["text"]) for s in sends if s.get("chat_id") == chat]

    def wait_for(self, predicate: object, what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; worker log:\n{self.worker_log.read_text()[-3000:]}")


@pytest.fixture()
def live(trained_data_dir: Path, tmp_path: Path) -> Iterator[Live]:
    redis = Redis.from_url(REDIS_URL)
    redis.ping()  # a real Redis is required: fail, never skip
    redis.flushdb()
    kb_dir, data_dir = tmp_path / "kb", tmp_path / "data"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    write_legacy_layout(trained_data_dir, data_dir)
    success = ScriptedResponse(200, {"Content-Type": "application/json"}, b'{"ok": true, "result": {"message_id": 1}}')
    with PlatformDouble(default=success) as api:
        config = tmp_path / "live.toml"
        config.write_text(
            f"""
kb_dir = "{kb_dir}"
data_dir = "{data_dir}"
nlu_file = "{ROOT / "training" / "nlu.yml"}"

[policy]
answer_in_business_hours = true

[live_index]
check_seconds = 0

[service]
redis_url = "{REDIS_URL}"
database_url = "sqlite:///{tmp_path / "live.db"}"

[security]
secret_key = "live-reindex-test-key-0123456789abcdef"

[platforms.telegram]
enabled = true
api_base_url = "{api.url}"
secret_token = "{SECRET}"
bot_token = "{BOT_TOKEN}"
per_chat_per_second = 50
""",
            encoding="utf-8",
        )
        previous = os.environ.get("CA_CONFIG")
        os.environ["CA_CONFIG"] = str(config)
        worker = None
        try:
            settings = load_settings()
            from assistant.store.db import migrate
            from webhooks.app import create_app

            migrate(settings.service.database_url)
            worker = start_worker(config, tmp_path / "worker.log")
            client = create_app(settings).test_client()
            yield Live(settings, api, client, kb_dir, tmp_path / "worker.log")
        finally:
            stop_worker(worker)
            if previous is None:
                os.environ.pop("CA_CONFIG", None)
            else:
                os.environ["CA_CONFIG"] = previous
            redis.flushdb()


def edit_answer(kb_dir: Path, entry_id: str, lang: str, answer: str) -> None:
    """Edit the YAML as an editor would (the database path, EDITOR's KbStore, is used when it holds entries)."""
    path = kb_dir / "store-and-hours.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in document["entries"]:
        if entry["id"] == entry_id:
            entry["answers"][lang] = answer
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_publish_reindexes_in_the_worker_and_rollback_restores_the_old_answer(live: Live) -> None:
    from assistant.services.publishing import roll_back
    from webhooks.kb_publish import request_reindex
    from webhooks.runtime import RUNTIME_EXTENSION, Runtime

    runtime: Runtime = live.client.application.extensions[RUNTIME_EXTENSION]  # the app's runtime
    old = live.ask(QUESTION)
    assert NEW_ANSWER not in old and "showroom" in old
    ready = live.client.get("/readyz").get_json()
    # The worker's first load migrated the legacy layout to version 1, and its files are gone.
    assert ready["checks"]["index"]["ok"] and ready["checks"]["index"]["published"]["version"] == 1
    assert not (live.settings.index_dir / "faq.json").exists()

    request_reindex(runtime, "baseline")
    live.wait_for(lambda: (p := read_pointer(live.settings.index_dir)) is not None and p.version == 2, "version 2")
    edit_answer(live.kb_dir, "store-opening-hours", "en", NEW_ANSWER)
    request_reindex(runtime, "store-opening-hours published")
    live.wait_for(lambda: (p := read_pointer(live.settings.index_dir)) is not None and p.version == 3, "version 3")

    # The worker swapped engines without a restart: the next message gets the new answer.
    assert NEW_ANSWER in live.ask(QUESTION)
    index = live.client.get("/readyz").get_json()["checks"]["index"]
    assert index["ok"] and index["published"]["version"] == 3

    roll_back(runtime.settings, runtime.refresh)  # back to version 2, the old answer
    assert read_pointer(live.settings.index_dir).version == 2  # type: ignore[union-attr]
    again = live.ask(QUESTION)
    assert NEW_ANSWER not in again and "showroom" in again
    assert runtime.served_version == 2
    assert live.client.get("/readyz").get_json()["checks"]["index"]["served_version"] == 2
