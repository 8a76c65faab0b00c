"""/readyz on a data folder where no index version was ever published: not ready, saying what to run (the one
index layout has nothing to fall back to)."""

from __future__ import annotations

from pathlib import Path

from assistant.settings import load_settings
from assistant.store.db import migrate
from tests.conftest import ROOT, TEST_REDIS_URL
from webhooks.app import create_app


def test_readyz_is_not_ready_until_an_index_version_is_published(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'ready.db'}"
    migrate(database_url)
    settings = load_settings(
        kb_dir=ROOT / "knowledge_base",
        data_dir=tmp_path / "empty-data",
        service={"database_url": database_url, "redis_url": TEST_REDIS_URL},
    )
    app = create_app(settings, enqueue=lambda event: None)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["ready"] is False
    index = body["checks"]["index"]
    assert index["ok"] is False and index["published"] is None
    assert "run `assistant train`" in index["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
