"""Issue 5's end-to-end promise through the editor's API: an edit published with /api/v1/kb is answered by the real
Celery worker after the re-index it triggers (no restart); rolling the entry back through the API brings the old
answer back. Real Redis (db 10), SQLite, Flask app, worker, and the platform double for Telegram."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from flask.testing import FlaskClient

from assistant.knowledge.index_versions import read_pointer
from assistant.settings import Settings
from assistant.store import AccountStore, KbStore
from assistant.store.db import make_engine
from tests.adapters.platform_double import PlatformDouble
from tests.conftest import REDIS_SERVER, ROOT, write_legacy_layout
from tests.live_service import ask_over_telegram, configured_service
from tests.workers import WorkerWaits, start_worker, stop_worker

REDIS_URL = f"{REDIS_SERVER}/10"  # the KB editor's test database
SECRET = "kb-e2e-secret"
BOT_TOKEN = "777777:KB-E2E"
QUESTION = "What are your opening hours?"
ENTRY = "store-opening-hours"
NEW_ANSWER = "Edited in the console: the showroom is open every day from 6:00 to 23:00."


@dataclass
class Service(WorkerWaits):
    settings: Settings
    api: PlatformDouble
    client: FlaskClient
    editor_token: str
    worker_log: Path
    # Re-indexing the whole KB in the worker takes a while on two cores.
    wait_seconds: ClassVar[float] = 180.0

    def call(self, method: str, path: str, body: object = None) -> dict[str, object]:
        response = self.client.open(
            path, method=method, json=body, headers={"Authorization": f"Bearer {self.editor_token}"}
        )
        assert response.status_code < 300, (path, response.status_code, response.get_json())
        result: dict[str, object] = response.get_json()
        return result

    def ask(self, text: str) -> str:
        return ask_over_telegram(self, self.client, self.api, text, SECRET, BOT_TOKEN)

    def index_version(self) -> int | None:
        pointer = read_pointer(self.settings.index_dir)
        return pointer.version if pointer is not None else None


@pytest.fixture()
def service(trained_data_dir: Path, tmp_path: Path) -> Iterator[Service]:
    data_dir = write_legacy_layout(trained_data_dir, tmp_path / "data")
    database_url = f"sqlite:///{tmp_path / 'kb-e2e.db'}"
    config = tmp_path / "kb-e2e.toml"
    with configured_service(
        config,
        data_dir,
        REDIS_URL,
        database_url,
        telegram=(SECRET, BOT_TOKEN),
        policy={"answer_in_business_hours": True},
        live_index={"check_seconds": 0},
        security={"secret_key": "kb-e2e-test-key-0123456789abcdef0123"},
    ) as configured:
        worker = None
        engine = make_engine(database_url)
        try:
            # A fresh install's first start: the team's YAML goes into the editor's database (statuses kept), and
            # from now on the database is what gets indexed.
            KbStore(engine).seed_yaml(ROOT / "knowledge_base")
            accounts = AccountStore(engine)
            editor = accounts.create_user("edna", "correct-horse-battery-staple", "editor")
            token = accounts.issue_token(editor.id, "e2e")
            worker = start_worker(config, tmp_path / "worker.log")
            from webhooks.app import create_app

            client = create_app(configured.settings).test_client()
            yield Service(configured.settings, configured.api, client, token, tmp_path / "worker.log")
        finally:
            stop_worker(worker)
            engine.dispose()


def test_publish_through_the_api_then_roll_back(service: Service) -> None:
    old = service.ask(QUESTION)
    assert NEW_ANSWER not in old and "showroom" in old
    assert service.index_version() == 1  # the worker's first load migrated the legacy layout

    entry = service.call("GET", f"/api/v1/kb/entries/{ENTRY}")
    start = int(entry["version"])  # type: ignore[call-overload]
    answers = dict(entry["answers"])  # type: ignore[call-overload]
    saved = service.call(
        "PUT",
        f"/api/v1/kb/entries/{ENTRY}",
        {
            **{k: entry[k] for k in ("questions", "tags")},
            "answers": {**answers, "en": NEW_ANSWER},
            "expected_version": start,
        },
    )
    # A saved edit is a draft: customers still get the old answer (nothing was re-indexed).
    assert saved["status"] == "draft" and service.index_version() == 1
    review = service.call(
        "POST", f"/api/v1/kb/entries/{ENTRY}/transition", {"status": "review", "expected_version": start + 1}
    )
    service.call(
        "POST", f"/api/v1/kb/entries/{ENTRY}/transition", {"status": "published", "expected_version": review["version"]}
    )
    service.wait_for(lambda: service.index_version() == 2, "index version 2 after publishing")
    assert NEW_ANSWER in service.ask(QUESTION)

    # Roll back through the API: the original version is live again, re-indexed, and answered.
    service.call("POST", f"/api/v1/kb/entries/{ENTRY}/restore", {"version": start, "publish": True})
    service.wait_for(lambda: service.index_version() == 3, "index version 3 after the rollback")
    again = service.ask(QUESTION)
    assert NEW_ANSWER not in again and "showroom" in again
