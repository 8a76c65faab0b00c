"""One source of truth, in the store (SQLite and PostgreSQL): a fresh install's first start imports the KB folder
once, also when several processes start at once; an import adds drafts (or publishes, when asked) and never replaces
a published answer: such a row becomes a draft revision and is reported as a conflict."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.store import EntryContent, ImportResult, KbStore, Store, make_engine

ROOT = Path(__file__).resolve().parents[2]
KB_DIR = ROOT / "knowledge_base"
HEADER = "entry_id,question,answer,lang\n"


@pytest.fixture
def kb(store: Store) -> KbStore:
    return KbStore(store.engine)


def live_answer(kb: KbStore, entry_id: str, lang: str = "en") -> str:
    entry = kb.published_kb().get(entry_id)
    assert entry is not None
    return entry.answers[lang]


def test_first_start_imports_the_kb_folder_once_and_never_after_the_editor_published(kb: KbStore) -> None:
    source = load_knowledge_base(KB_DIR)
    first = kb.seed_yaml(KB_DIR)
    assert first is not None and first.created == len(source)
    assert first.published == len(source.published())
    assert kb.published_kb().version == source.version  # customers are answered from the same content
    assert {e.id for e in kb.published_kb()} == {e.id for e in source.published()}
    assert kb.seed_yaml(KB_DIR) is None  # the editor now holds published entries: the database is the live KB
    assert kb.search()[1] == len(source)


def test_a_database_with_only_drafts_gets_the_folder_and_keeps_its_drafts(kb: KbStore) -> None:
    kb.save(EntryContent("gina-draft", {"en": ["Gift wrap?"]}, {"en": "Soon."}), None, "gina")
    seeded = kb.seed_yaml(KB_DIR)
    assert seeded is not None and seeded.kept == 0 and seeded.created == len(load_knowledge_base(KB_DIR))
    assert kb.get("gina-draft").status == "draft" and kb.get("gina-draft").version == 1


def test_several_processes_starting_at_once_seed_it_once(database_url: str, kb: KbStore) -> None:
    engines: list[Engine] = [make_engine(database_url) for _ in range(4)]  # one pool per "process"
    barrier = threading.Barrier(len(engines))
    results: list[ImportResult | None] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        results.append(KbStore(engine).seed_yaml(KB_DIR))

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    source = load_knowledge_base(KB_DIR)
    assert len(results) == 4 and sum(r is not None and r.created > 0 for r in results) == 1
    records, total = kb.search(limit=1000)
    assert total == len(source) and {r.version for r in records} == {1}  # no entry written twice


def seeded(kb: KbStore, tmp_path: Path, rows: str) -> Path:
    kb.seed_yaml(KB_DIR)
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_an_import_adds_drafts_and_never_overwrites_a_published_answer(kb: KbStore, tmp_path: Path) -> None:
    rows = seeded(
        kb,
        tmp_path,
        'gift-vouchers,Do you sell gift vouchers?,"Yes, {brand} sells them.",en\n'
        "store-opening-hours,When are you open?,We are open 7-21 every day.,en\n"
        "store-location,is the showroom in Krakow?,,en\n"
        "store-location,Do you have a physical store?,,en\n",
    )
    live_before, before = kb.published_kb().version, live_answer(kb, "store-opening-hours")
    result = kb.import_rows(rows, "cli")
    assert (result.created, result.updated, result.published) == (1, 1, 0)
    assert result.conflicts == ("store-opening-hours",) and result.live_changed == ()
    assert kb.published_kb().version == live_before  # customers get exactly what they got before
    assert live_answer(kb, "store-opening-hours") == before
    conflict = kb.get("store-opening-hours")
    assert conflict.status == "draft" and conflict.content.answers["en"] == "We are open 7-21 every day."
    assert conflict.is_live and "stays live" in (kb.versions("store-opening-hours")[0].note or "")
    assert kb.get("gift-vouchers").status == "draft" and not kb.get("gift-vouchers").is_live
    assert kb.get("store-location").status == "draft"  # a new phrasing of a live entry: a draft revision
    # The same rows again: nothing new (the drafts already hold them).
    again = kb.import_rows(rows, "cli")
    assert (again.created, again.updated, again.unchanged, again.conflicts) == (0, 0, 3, ())


def test_publish_publishes_what_replaces_no_answer_and_keeps_conflicts_as_drafts(kb: KbStore, tmp_path: Path) -> None:
    rows = seeded(
        kb,
        tmp_path,
        'gift-vouchers,Do you sell gift vouchers?,"Yes, {brand} sells them.",en\n'
        "store-location,is the showroom in Krakow?,,en\n"
        "store-opening-hours,,We are open 7-21 every day.,en\n",
    )
    before = live_answer(kb, "store-opening-hours")
    result = kb.import_rows(rows, "cli", publish=True)
    assert sorted(result.live_changed) == ["gift-vouchers", "store-location"]
    assert result.conflicts == ("store-opening-hours",)
    assert live_answer(kb, "gift-vouchers") == "Yes, {brand} sells them."
    location = kb.published_kb().get("store-location")
    assert location is not None and "is the showroom in Krakow?" in location.questions["en"]
    assert live_answer(kb, "store-opening-hours") == before and kb.get("store-opening-hours").status == "draft"


def test_a_folder_import_of_an_edited_file_is_a_conflict_not_a_new_live_answer(kb: KbStore, tmp_path: Path) -> None:
    kb.seed_yaml(KB_DIR)
    out = tmp_path / "kb"
    kb.export_yaml(out)
    assert kb.import_yaml(out, "cli", publish=True).unchanged == len(load_knowledge_base(KB_DIR))
    path = out / "shipping.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("business days", "working days"), encoding="utf-8")
    result = kb.import_yaml(out, "cli", publish=True)
    assert result.conflicts and result.live_changed == () and result.created == 0
    for entry_id in result.conflicts:
        assert "working days" not in " ".join(kb.published_kb().get(entry_id).answers.values())  # type: ignore[union-attr]
        assert "working days" in " ".join(kb.get(entry_id).content.answers.values())


def test_a_name_that_is_not_an_id_is_kept_as_the_label_in_the_database(kb: KbStore, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(HEADER + "Refund_Not_Showing,Where is my refund?,Refunds take 5 days.,en\n", encoding="utf-8")
    assert kb.import_rows(rows, "cli", publish=True).live_changed == ("refund-not-showing",)
    record = kb.get("refund-not-showing")
    assert record.content.label == "Refund_Not_Showing"
    assert kb.versions("refund-not-showing")[0].content.label == "Refund_Not_Showing"
    (entry,) = kb.file_entries(["refund-not-showing"])
    assert entry.label == "Refund_Not_Showing" and entry.display_name == "Refund_Not_Showing"
    # An editor's save carries no label: the entry keeps its own.
    kb.save(EntryContent("refund-not-showing", {"en": ["Refund?"]}, {"en": "5 days."}), record.version, "ed")
    assert kb.get("refund-not-showing").content.label == "Refund_Not_Showing"


SEED_SCRIPT = """
import sys
from pathlib import Path
from assistant.store import KbStore, make_engine
result = KbStore(make_engine(sys.argv[1])).seed_yaml(Path(sys.argv[2]))
print("seeded" if result is not None and result.created else "skipped")
"""


def test_three_processes_starting_at_once_seed_it_once(database_url: str, kb: KbStore) -> None:
    import subprocess
    import sys

    starts = [
        subprocess.Popen(
            [sys.executable, "-c", SEED_SCRIPT, database_url, str(KB_DIR)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = []
    for process in starts:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["seeded", "skipped", "skipped"]
    records, total = kb.search(limit=1000)
    assert total == len(load_knowledge_base(KB_DIR)) and {r.version for r in records} == {1}
