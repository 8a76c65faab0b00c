"""Live re-indexing end to end with a real Celery worker: the KB changes, `request_reindex` queues `ca.reindex_kb`,
the worker builds and publishes a new version and answers the next message with the new answer without a
restart; rolling the pointer back brings the old answer back; /readyz reports the served version. The data folder
starts in the legacy layout, which the worker's first load migrates to version 1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from flask.testing import FlaskClient

from assistant.knowledge.index_versions import read_pointer
from assistant.settings import Settings
from tests.adapters.platform_double import PlatformDouble
from tests.conftest import REDIS_SERVER, ROOT, write_legacy_layout
from tests.live_service import ask_over_telegram, configured_service
from tests.workers import WorkerWaits, start_worker, stop_worker

REDIS_URL = f"{REDIS_SERVER}/11"  # LIVEINDEX's test database
SECRET = "live-reindex-secret"
BOT_TOKEN = "654321:LIVE-TOKEN"
QUESTION = "What are your opening hours?"
NEW_ANSWER = "From today the showroom is open every day from 7:00 to 21:00."


@dataclass
class Live(WorkerWaits):
    settings: Settings
    api: PlatformDouble
    client: FlaskClient
    kb_dir: Path
    worker_log: Path
    # A re-index builds a whole version in the worker.
    wait_seconds: ClassVar[float] = 120.0

    def ask(self, text: str) -> str:
        """Send a Telegram message through the webhook and wait for the worker's reply to that chat."""
        return ask_over_telegram(self, self.client, self.api, text, SECRET, BOT_TOKEN)


@pytest.fixture()
def live(trained_data_dir: Path, tmp_path: Path) -> Iterator[Live]:
    kb_dir, data_dir = tmp_path / "kb", tmp_path / "data"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    write_legacy_layout(trained_data_dir, data_dir)
    config = tmp_path / "live.toml"
    with configured_service(
        config,
        data_dir,
        REDIS_URL,
        f"sqlite:///{tmp_path / 'live.db'}",
        telegram=(SECRET, BOT_TOKEN),
        kb_dir=kb_dir,
        policy={"answer_in_business_hours": True},
        live_index={"check_seconds": 0},
        security={"secret_key": "live-reindex-test-key-0123456789abcdef"},
    ) as configured:
        from webhooks.app import create_app

        worker = start_worker(config, tmp_path / "worker.log")
        try:
            client = create_app(configured.settings).test_client()
            yield Live(configured.settings, configured.api, client, kb_dir, tmp_path / "worker.log")
        finally:
            stop_worker(worker)


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

    app = live.client.application
    runtime: Runtime = app.extensions[RUNTIME_EXTENSION]  # the app's runtime
    old = live.ask(QUESTION)
    assert NEW_ANSWER not in old and "showroom" in old
    ready = live.client.get("/readyz").get_json()
    # The worker's first load migrated the legacy layout to version 1, and its files are gone.
    assert ready["checks"]["index"]["ok"] and ready["checks"]["index"]["published"]["version"] == 1
    assert not (live.settings.index_dir / "faq.json").exists()

    request_reindex(app, "baseline")
    live.wait_for(lambda: (p := read_pointer(live.settings.index_dir)) is not None and p.version == 2, "version 2")
    edit_answer(live.kb_dir, "store-opening-hours", "en", NEW_ANSWER)
    request_reindex(app, "store-opening-hours published")
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
