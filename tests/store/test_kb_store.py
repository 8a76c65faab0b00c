"""KbStore on SQLite and PostgreSQL: versions and the workflow, stale saves refused with the diff, validation at
save, restore/rollback, and the YAML round trip with knowledge_base/ (broken files and rows import nothing)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.store import EntryContent, KbConflictError, KbStore, KbStoreError, KbValidationError, Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kb(store: Store) -> KbStore:
    return KbStore(store.engine)


def hours(answer: str = "We are open 9-17.") -> EntryContent:
    return EntryContent(
        "opening-hours",
        {"en": ["When are you open?", "opening hours"], "de": ["Wann habt ihr offen?"]},
        {"en": answer},
        tags=["store"],
    )


def publish(kb: KbStore, entry_id: str, author: str = "ed") -> None:
    record = kb.get(entry_id)
    review = kb.transition(entry_id, "review", record.version, author)
    kb.transition(entry_id, "published", review.record.version, author)


def test_workflow_versions_and_what_is_live(kb: KbStore) -> None:
    created = kb.save(hours(), None, "ed")
    assert (created.status, created.version, created.is_live) == ("draft", 1, False)
    assert len(kb.published_kb()) == 0  # drafts are never answered
    with pytest.raises(KbStoreError, match="draft can move to review, archived"):
        kb.transition("opening-hours", "published", 1, "ed")
    review = kb.transition("opening-hours", "review", 1, "rev")
    assert not review.live_changed
    live = kb.transition("opening-hours", "published", review.record.version, "rev")
    assert live.live_changed and live.record.published_version == 3
    assert kb.published_kb().get("opening-hours").answers == {"en": "We are open 9-17."}  # type: ignore[union-attr]

    # Editing a live entry makes a draft; customers keep the published answer until it is published.
    edited = kb.save(hours("We are open 8-20."), 3, "ed")
    assert (edited.status, edited.version, edited.published_version) == ("draft", 4, 3)
    assert kb.published_kb().get("opening-hours").answers["en"] == "We are open 9-17."  # type: ignore[union-attr]
    publish(kb, "opening-hours")
    assert kb.published_kb().get("opening-hours").answers["en"] == "We are open 8-20."  # type: ignore[union-attr]

    history = kb.versions("opening-hours")
    assert [v.version for v in history] == [6, 5, 4, 3, 2, 1]
    assert [v.status for v in history] == ["published", "review", "draft", "published", "review", "draft"]
    assert {v.author for v in history} == {"ed", "rev"}
    diff = kb.diff("opening-hours", 1, 6)
    assert "-    en: We are open 9-17." in diff and "+    en: We are open 8-20." in diff

    archived = kb.transition("opening-hours", "archived", 6, "ed")
    assert archived.live_changed and not archived.record.is_live
    assert kb.published_kb().get("opening-hours") is None


def test_second_concurrent_save_is_refused_with_the_diff(kb: KbStore) -> None:
    kb.save(hours(), None, "ed")
    kb.save(hours("Open 10-18 (Ann)."), 1, "ann")
    with pytest.raises(KbConflictError) as caught:
        kb.save(hours("Open 9-21 (Bob)."), 1, "bob")
    conflict = caught.value
    assert conflict.current.version == 2 and conflict.current.content.answers["en"] == "Open 10-18 (Ann)."
    assert conflict.submitted is not None and conflict.submitted.answers["en"] == "Open 9-21 (Bob)."
    assert "-    en: Open 10-18 (Ann)." in conflict.diff and "+    en: Open 9-21 (Bob)." in conflict.diff
    assert "saved by ann" in conflict.diff
    # Nothing lost: Ann's version stands, and Bob saves again on top of it.
    assert kb.get("opening-hours").content.answers["en"] == "Open 10-18 (Ann)."
    merged = kb.save(hours("Open 10-21."), conflict.current.version, "bob")
    assert merged.version == 3 and [v.version for v in kb.versions("opening-hours")] == [3, 2, 1]


def test_racing_saves_one_wins(kb: KbStore) -> None:
    kb.save(hours(), None, "ed")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def editor(n: int) -> None:
        barrier.wait()
        try:
            kb.save(hours(f"Version from editor {n}."), 1, f"e{n}")
            outcomes.append("saved")
        except KbConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    assert [v.version for v in kb.versions("opening-hours")] == [2, 1]


def test_validation_at_save(kb: KbStore) -> None:
    with pytest.raises(KbValidationError, match=r"unknown placeholder\(s\) \{coupon\}"):
        kb.save(hours("Use {coupon} at checkout."), None, "ed")
    with pytest.raises(KbValidationError, match="malformed placeholder"):
        kb.save(hours("Broken {brand"), None, "ed")
    with pytest.raises(KbValidationError, match="needs at least one question"):
        kb.save(EntryContent("x", {"en": []}, {"en": "a"}), None, "ed")
    with pytest.raises(KbValidationError, match="`id` must be"):
        kb.save(EntryContent("Bad Id", {"en": ["q"]}, {"en": "a"}), None, "ed")
    with pytest.raises(KbValidationError, match="source_file"):
        kb.save(EntryContent("x", {"en": ["q"]}, {"en": "a"}, source_file="../etc/passwd.yml"), None, "ed")
    assert kb.search()[1] == 0  # nothing of the refused saves was stored
    # HTML is text: stored as written (escaping happens where it is rendered).
    html = kb.save(hours('<script>alert("x")</script> Open {brand}.'), None, "ed")
    assert html.content.answers["en"] == '<script>alert("x")</script> Open {brand}.'


def test_search_and_filter(kb: KbStore) -> None:
    kb.save(hours(), None, "ed")
    kb.save(EntryContent("refunds", {"en": ["Can I get my money back?"]}, {"en": "Refunds take 5 days."}), None, "ed")
    publish(kb, "refunds")
    assert [r.entry_id for r in kb.search("money")[0]] == ["refunds"]
    assert [r.entry_id for r in kb.search("REFUNDS days")[0]] == ["refunds"]
    assert [r.entry_id for r in kb.search("wann")[0]] == ["opening-hours"]  # phrasings of every language
    assert [r.entry_id for r in kb.search(status="published")[0]] == ["refunds"]
    assert kb.search("nothing-like-this")[1] == 0
    assert kb.get("opening-hours").missing_languages(["en", "de", "fr"]) == {
        "de": ["answer"],
        "fr": ["questions", "answer"],
    }


def test_restore_as_draft_and_rollback(kb: KbStore) -> None:
    kb.save(hours("Old answer."), None, "ed")
    publish(kb, "opening-hours")  # v3 live
    kb.save(hours("New answer."), 3, "ed")
    publish(kb, "opening-hours")  # v6 live
    draft = kb.restore("opening-hours", 1, "ed")
    assert not draft.live_changed and draft.record.status == "draft"
    assert kb.published_kb().get("opening-hours").answers["en"] == "New answer."  # type: ignore[union-attr]
    rollback = kb.restore("opening-hours", 3, "ed", expected_version=7, publish=True)
    assert rollback.live_changed and rollback.record.published_version == 8
    assert kb.published_kb().get("opening-hours").answers["en"] == "Old answer."  # type: ignore[union-attr]
    assert kb.versions("opening-hours")[0].note == "restored v3 and published"
    with pytest.raises(KbConflictError):
        kb.restore("opening-hours", 1, "ed", expected_version=2)
    with pytest.raises(KbStoreError, match="never published"):
        kb.restore("opening-hours", 1, "ed", publish=True)  # a draft cannot skip review


def test_yaml_round_trip_with_the_repository_kb(kb: KbStore, tmp_path: Path) -> None:
    source = load_knowledge_base(ROOT / "knowledge_base")
    result = kb.seed_yaml(ROOT / "knowledge_base")  # a fresh install's first start: statuses kept
    assert result is not None and result.created == len(source) and result.updated == 0
    assert kb.published_kb().version == source.version  # the same content is answered
    out = tmp_path / "exported"
    kb.export_yaml(out)
    again = load_knowledge_base(out)
    assert [e.to_yaml_dict() for e in again] == [e.to_yaml_dict() for e in source]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (ROOT / "knowledge_base").iterdir() if p.suffix == ".yml"
    )
    # Importing what was exported changes nothing.
    assert kb.import_yaml(out).unchanged == len(source)


def test_export_writes_the_live_version_of_an_entry_with_a_draft(kb: KbStore, tmp_path: Path) -> None:
    kb.save(hours("Live."), None, "ed")
    publish(kb, "opening-hours")
    kb.save(hours("Draft only."), 3, "ed")
    kb.save(EntryContent("new-one", {"en": ["new?"]}, {"en": "new."}, source_file="extra/new.yml"), None, "ed")
    kb.export_yaml(tmp_path)
    exported = load_knowledge_base(tmp_path)
    assert exported.get("opening-hours").answers["en"] == "Live."  # type: ignore[union-attr]
    assert exported.get("opening-hours").status == "published"  # type: ignore[union-attr]
    assert exported.get("new-one").status == "draft"  # type: ignore[union-attr]
    assert (tmp_path / "extra" / "new.yml").is_file()


def test_a_broken_yaml_file_imports_nothing(kb: KbStore, tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "entries:\n- id: good\n  questions: {en: [hi]}\n  answers: {en: Hello}\n", encoding="utf-8"
    )
    (tmp_path / "b.yml").write_text(
        "entries:\n- id: ok-too\n  questions: {en: [q]}\n  answers: {en: a}\n"
        "- id: bad\n  questions: {en: [q]}\n  answers: {en: 'Hi {nickname}'}\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError) as caught:
        kb.import_yaml(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'b.yml'}:5:") and "answer [en]" in message and "{nickname}" in message
    assert kb.search()[1] == 0


def test_import_rows_all_or_nothing(kb: KbStore, tmp_path: Path) -> None:
    kb.save(hours(), None, "ed")
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "entry_id,question,answer,lang\n"
        "opening-hours,Quand êtes-vous ouverts ?,Ouvert de 9 h à 17 h.,fr\n"
        'gift-cards,Do you sell gift cards?,"Yes, {brand} sells them.",en\n',
        encoding="utf-8",
    )
    result = kb.import_rows(rows, "ed")
    assert (result.created, result.updated) == (1, 1)
    assert kb.get("opening-hours").content.answers["fr"] == "Ouvert de 9 h à 17 h."
    assert kb.get("gift-cards").status == "draft"

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"entry_id": "returns", "question": "Can I return?", "answer": "Yes.", "lang": "en"}\n'
        '{"entry_id": "coupons", "question": "Coupon?", "answer": "Use {code}", "lang": "en"}\n',
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError, match=r"bad.jsonl:2: row 2: field `answer`: unknown placeholder"):
        kb.import_rows(bad, "ed")
    assert kb.search()[1] == 2  # neither row of the broken batch was imported


def test_cli_round_trip_through_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from assistant.cli import main

    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    monkeypatch.setenv("CA_KB_DIR", str(ROOT / "knowledge_base"))
    result = runner.invoke(main, ["kb", "import", str(ROOT / "knowledge_base")])
    assert result.exit_code == 0, result.output
    source = load_knowledge_base(ROOT / "knowledge_base")
    # The command's own first start imported the folder; importing it again finds every entry unchanged.
    assert f"added 0 drafts, 0 updated (drafts), {len(source)} unchanged, 0 conflicts" in result.output
    result = runner.invoke(main, ["kb", "export", "--from-db", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert load_knowledge_base(tmp_path / "out").version == source.version
    bad = tmp_path / "bad.csv"
    bad.write_text("entry_id,question,answer,lang\nnew-entry,Hello?,Hi,xx-123\n", encoding="utf-8")
    result = runner.invoke(main, ["kb", "import", str(bad)])
    assert result.exit_code == 2 and "bad.csv:2: row 2: field `lang`" in result.output
