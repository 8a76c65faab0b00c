"""One source of truth through the real app: a fresh install's editor opens on the shipped KB (imported at first
use), a publish in the editor writes only the changed answer back into the team's YAML file (comments kept), and
an import, running or done, never makes /readyz fail while a good version is served."""

from __future__ import annotations

import difflib
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from redis import Redis

from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.settings import Settings
from assistant.store import KbStore, make_engine
from tests.conftest import REDIS_SERVER, ROOT
from tests.console.conftest import ClientFor, console_test_settings
from tests.console.support import ConsoleClient, MakeUser
from webhooks.console.kb.context import REINDEX_EXTENSION

# Redis db 9: this suite's own (10 is the KB editor's, 11 live re-indexing's, 12-15 other suites').
KB_SOURCE_REDIS_URL = f"{REDIS_SERVER}/9"
NEW_ANSWER = "From today the showroom is open every day from 7:00 to 21:00."


@pytest.fixture()
def console_redis_url() -> str:
    return KB_SOURCE_REDIS_URL


@pytest.fixture()
def kb_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", copy)
    return copy


@pytest.fixture()
def console_settings(tmp_path: Path, console_redis: Redis, trained_data_dir: Path, kb_dir: Path) -> Settings:
    # The defaults of a real install: seed at first start, write publishes back (into a copy of the sample KB).
    settings = console_test_settings(
        tmp_path, redis_url=KB_SOURCE_REDIS_URL, kb_sync={"seed_from_yaml": True, "write_back": True}
    )
    return settings.model_copy(update={"kb_dir": kb_dir, "data_dir": trained_data_dir})


@pytest.fixture()
def reindexed(console_app: Flask) -> list[str]:
    requests: list[str] = []
    console_app.extensions[REINDEX_EXTENSION] = requests.append
    return requests


@pytest.fixture()
def editor_api(make_user: MakeUser, api_client: ClientFor, reindexed: list[str]) -> ConsoleClient:
    return api_client(make_user("editor", username="edna"))


def test_a_fresh_install_opens_the_editor_on_the_shipped_kb(editor_api: ConsoleClient, kb_dir: Path) -> None:
    listed = editor_api.get("/api/v1/kb/entries?per_page=100").get_json()
    source = load_knowledge_base(kb_dir)
    assert listed["total"] == len(source)
    hours = editor_api.get("/api/v1/kb/entries/store-opening-hours").get_json()
    assert hours["status"] == "published" and hours["published_version"] == 1


def test_a_publish_writes_only_the_changed_answer_back_into_its_yaml_file(
    editor_api: ConsoleClient, kb_dir: Path, reindexed: list[str]
) -> None:
    path = kb_dir / "store-and-hours.yml"
    before = path.read_text(encoding="utf-8")
    entry: dict[str, Any] = editor_api.get("/api/v1/kb/entries/store-opening-hours").get_json()
    old_answer = entry["answers"]["en"]
    edit = {
        "questions": entry["questions"],
        "answers": {**entry["answers"], "en": NEW_ANSWER},
        "tags": entry["tags"],
        "expected_version": entry["version"],
    }
    saved = editor_api.put("/api/v1/kb/entries/store-opening-hours", json=edit)
    assert saved.status_code == 200, saved.get_json()
    assert path.read_text(encoding="utf-8") == before  # a draft stays in the database
    version = saved.get_json()["version"]
    for status in ("review", "published"):
        moved = editor_api.post(
            "/api/v1/kb/entries/store-opening-hours/transition", json={"status": status, "expected_version": version}
        )
        assert moved.status_code == 200, moved.get_json()
        version = moved.get_json()["version"]
    assert reindexed == [f"published store-opening-hours v{version} by edna"]

    after = path.read_text(encoding="utf-8")
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert " ".join(line[1:].strip() for line in diff if line.startswith("-")) == old_answer
    assert " ".join(line[1:].strip() for line in diff if line.startswith("+")) == NEW_ANSWER
    assert after.startswith("# knowledge_base/store-and-hours.yml")

    # Archiving takes it off the air: in the file, one line says so.
    archived = editor_api.post(
        "/api/v1/kb/entries/store-opening-hours/transition", json={"status": "archived", "expected_version": version}
    )
    assert archived.status_code == 200, archived.get_json()
    gone = [
        line
        for line in difflib.unified_diff(after.splitlines(), path.read_text("utf-8").splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert gone == ["-    status: published", "+    status: archived"]
    assert load_knowledge_base(kb_dir).get("store-opening-hours").status == "archived"  # type: ignore[union-attr]

    # A rollback to the first version puts it back on the air, in the file too.
    rolled = editor_api.post("/api/v1/kb/entries/store-opening-hours/restore", json={"version": 1, "publish": True})
    assert rolled.status_code == 200, rolled.get_json()
    back = load_knowledge_base(kb_dir).get("store-opening-hours")
    assert back is not None and back.status == "published" and back.answers["en"] == old_answer
    for other in (ROOT / "knowledge_base").glob("*.yml"):
        if other.name != path.name:
            assert (kb_dir / other.name).read_bytes() == other.read_bytes()


def test_readyz_stays_ready_while_an_import_runs_and_after_it(
    console_app: Flask, console_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = console_app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    served = ready.get_json()["checks"]["index"]["published"]["version"]
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "entry_id,question,answer,lang\n"
        "gift-vouchers,Do you sell gift vouchers?,Yes.,en\n"
        "store-location,is the showroom in Krakow?,,en\n",
        encoding="utf-8",
    )

    # An import holds the database's write lock for its whole batch: readiness is asked in the middle of one.
    importing, probed = threading.Event(), threading.Event()
    engine = make_engine(console_settings.service.database_url)
    store = KbStore(engine)
    store.seed_yaml(console_settings.kb_dir)

    def run_import() -> None:
        with store.unit_of_work():
            store.import_rows(rows, "cli")
            importing.set()
            probed.wait(30)

    worker = threading.Thread(target=run_import)
    worker.start()
    assert importing.wait(30)
    during = client.get("/readyz")
    probed.set()
    worker.join()
    engine.dispose()
    assert during.status_code == 200, during.get_json()

    # The command a team runs, publishing: the YAML folder is written back, the served version stays good.
    from assistant.cli import main

    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", console_settings.service.database_url)
    monkeypatch.setenv("CA_KB_DIR", str(console_settings.kb_dir))
    monkeypatch.setenv("CA_DATA_DIR", str(console_settings.data_dir))
    more = tmp_path / "more.csv"
    more.write_text(
        "entry_id,question,answer,lang\ngift-wrapping,Can you gift-wrap my order?,Yes: 5 PLN.,en\n", encoding="utf-8"
    )
    imported = CliRunner().invoke(main, ["kb", "import", str(more), "--publish"])
    assert imported.exit_code == 0, imported.output
    assert "added 1 entries published" in imported.output
    assert f"1 published (YAML written: {console_settings.kb_dir / 'imported.yml'})" in imported.output
    after = client.get("/readyz")
    assert after.status_code == 200, after.get_json()
    assert after.get_json()["checks"]["index"]["published"]["version"] == served


def test_a_configured_export_dir_gets_the_publish_and_the_kb_folder_stays(tmp_path: Path, kb_dir: Path) -> None:
    from assistant.services.kb_source import editor_store, write_back

    export = tmp_path / "git-export"
    shutil.copytree(ROOT / "knowledge_base", export)
    settings = console_test_settings(
        tmp_path, kb_sync={"seed_from_yaml": True, "write_back": True, "export_dir": str(export)}
    )
    settings = settings.model_copy(update={"kb_dir": kb_dir})
    store = editor_store(settings)  # a fresh database: seeded from the KB folder
    record = store.get("store-opening-hours")
    edited = record.content.answers | {"en": NEW_ANSWER}
    saved = store.save(
        type(record.content)(record.entry_id, record.content.questions, edited, record.content.tags),
        record.version,
        "ed",
    )
    review = store.transition("store-opening-hours", "review", saved.version, "ed")
    store.transition("store-opening-hours", "published", review.record.version, "ed")
    assert write_back(settings, store, ["store-opening-hours"]) == [export / "store-and-hours.yml"]
    assert NEW_ANSWER in (export / "store-and-hours.yml").read_text(encoding="utf-8")
    assert (kb_dir / "store-and-hours.yml").read_bytes() == (
        ROOT / "knowledge_base" / "store-and-hours.yml"
    ).read_bytes()
    store.engine.dispose()


def test_publishes_written_back_at_the_same_moment_all_reach_the_file(tmp_path: Path, kb_dir: Path) -> None:
    from assistant.services.kb_source import editor_store, write_back

    settings = console_test_settings(tmp_path, kb_sync={"seed_from_yaml": True, "write_back": True})
    settings = settings.model_copy(update={"kb_dir": kb_dir, "data_dir": tmp_path / "data"})
    store = editor_store(settings)
    ids = [e.id for e in load_knowledge_base(kb_dir) if e.source_file == "products.yml" and e.status == "published"]
    assert len(ids) >= 4
    for entry_id in ids:
        record = store.get(entry_id)
        content = record.content
        answers = content.answers | {"en": f"New answer of {entry_id}."}
        saved = store.save(type(content)(entry_id, content.questions, answers, content.tags), record.version, "ed")
        review = store.transition(entry_id, "review", saved.version, "ed")
        store.transition(entry_id, "published", review.record.version, "ed")
    barrier = threading.Barrier(len(ids))

    def publish(entry_id: str) -> None:
        barrier.wait()
        write_back(settings, KbStore(store.engine), [entry_id])

    threads = [threading.Thread(target=publish, args=(entry_id,)) for entry_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = load_knowledge_base(kb_dir)
    assert [written.get(i).answers["en"] for i in ids] == [f"New answer of {i}." for i in ids]  # type: ignore[union-attr]
    store.engine.dispose()


def test_a_write_back_that_fails_is_logged_and_the_publish_stands(
    tmp_path: Path, kb_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from assistant.services.kb_source import editor_store, write_back

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export folder should be", encoding="utf-8")
    settings = console_test_settings(
        tmp_path, kb_sync={"seed_from_yaml": True, "write_back": True, "export_dir": str(blocked)}
    )
    store = editor_store(settings.model_copy(update={"kb_dir": kb_dir}))
    with caplog.at_level("ERROR", logger="community_assistant.kb_source"):
        assert write_back(settings, store, ["store-opening-hours"]) == []
    assert "could not write store-opening-hours back" in caplog.text
    assert store.get("store-opening-hours").is_live
    store.engine.dispose()
