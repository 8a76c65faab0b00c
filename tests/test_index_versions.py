"""Versioned index builds with the real model: incremental encoding, model reuse for answer-only edits, atomic
pointer, rollback, pruning, near-duplicate warnings, the runtime swapping engines without a gap, and the one-time
migration of a data folder in the legacy layout."""

from __future__ import annotations

import copy
import logging
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.domain.kb_entries import KBEntry, KnowledgeBase
from assistant.domain.messages import Action, InboundMessage
from assistant.knowledge.index_builds import build_version
from assistant.knowledge.index_versions import load_version, prune, read_pointer, rollback, versions
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.knowledge.near_duplicates import find_near_duplicates, near_duplicates_of
from assistant.knowledge.retrieval import phrasings_of
from assistant.nlu.embeddings import shared_encoder
from assistant.settings import Settings, load_settings
from assistant.store import EntryContent, KbStore
from tests.conftest import ROOT, engine_settings, write_legacy_layout
from webhooks.runtime import Runtime


@pytest.fixture(scope="module")
def sample_kb() -> KnowledgeBase:
    return load_knowledge_base(ROOT / "knowledge_base")


@pytest.fixture()
def data_dir(trained_data_dir: Path, tmp_path: Path) -> Path:
    """The trained index and models in the legacy layout: the first version seeds itself from it."""
    return write_legacy_layout(trained_data_dir, tmp_path / "data")


def edited(kb: KnowledgeBase, entry_id: str, answer: str | None = None, question: str | None = None) -> KnowledgeBase:
    entries = copy.deepcopy(kb.entries)
    for entry in entries:
        if entry.id == entry_id:
            if answer is not None:
                entry.answers["en"] = answer
            if question is not None:
                entry.questions["en"].append(question)
    return KnowledgeBase(entries)


def test_versions_are_incremental_and_answer_edits_reuse_the_model(data_dir: Path, sample_kb: KnowledgeBase) -> None:
    settings = engine_settings(data_dir)
    root = settings.index_dir
    assert read_pointer(root) is None
    first = build_version(settings, sample_kb, shared_encoder(), "first")
    # Seeded from the legacy index and model: nothing encoded, nothing trained.
    assert (first.version, first.encoded, first.retrained) == (1, 0, False)
    assert first.reused >= first.phrasings
    assert read_pointer(root) is not None and read_pointer(root).version == 1  # type: ignore[union-attr]

    answer_only = build_version(
        settings, edited(sample_kb, "store-opening-hours", answer="We open at 7."), shared_encoder()
    )
    assert (answer_only.version, answer_only.encoded, answer_only.retrained) == (2, 0, False)
    assets = load_version(root, 2, shared_encoder().name)
    entry = assets.kb.get("store-opening-hours")
    assert entry is not None and entry.answers["en"] == "We open at 7."
    assert assets.intents.report.kb_version == assets.kb.version == answer_only.kb_version

    new_question = "what time does the Krakow showroom open on a Sunday morning"
    phrasing = build_version(
        settings, edited(sample_kb, "store-opening-hours", question=new_question), shared_encoder(), "question"
    )
    # The first retraining encodes the NLU examples once (the legacy layout has no vectors of them) ...
    assert (phrasing.version, phrasing.retrained) == (3, True) and phrasing.encoded > 1
    assert new_question in [p.text for p in load_version(root, 3, shared_encoder().name).index.phrasings]
    # ... and from then on only the new phrasing is encoded.
    two = edited(edited(sample_kb, "store-opening-hours", question=new_question), "store-location", question="hi shop?")
    again = build_version(settings, two, shared_encoder(), "another question")
    assert (again.version, again.encoded, again.retrained) == (4, 1, True)

    assert rollback(root).version == 3
    assert rollback(root, 1).version == 1
    assert [v.version for v in versions(root)] == [1, 2, 3, 4]
    assert prune(root, keep=1) == [2, 3]  # 4 is the newest, 1 is current: both stay
    assert [v.version for v in versions(root)] == [1, 4]


def test_a_draft_is_not_in_the_version(data_dir: Path, sample_kb: KnowledgeBase) -> None:
    settings = engine_settings(data_dir)
    info = build_version(settings, sample_kb, shared_encoder())
    ids = {e.id for e in load_version(settings.index_dir, info.version, shared_encoder().name).kb}
    assert ids == {e.id for e in sample_kb.published()}
    assert len(ids) < len(sample_kb)


def test_near_duplicates_across_entries_are_listed(sample_kb: KnowledgeBase) -> None:
    hours = sample_kb.get("store-opening-hours")
    assert hours is not None
    # The same question with other case and punctuation, filed under another entry.
    copied = hours.questions["en"][0].lower().rstrip("?!. ")
    kb = edited(sample_kb, "store-location", question=copied)
    phrasings = phrasings_of(kb)
    vectors = shared_encoder().encode([p.text for p in phrasings])
    found = find_near_duplicates(phrasings, vectors, threshold=0.92)
    pairs = {(d.entry_id, d.other_entry_id) for d in found} | {(d.other_entry_id, d.entry_id) for d in found}
    assert ("store-location", "store-opening-hours") in pairs
    assert any(copied in (d.text, d.other_text) and d.similarity == 1.0 for d in found)
    # A paraphrase close in meaning AND wording is caught by the embedding threshold.
    near = hours.questions["en"][0].rstrip("?") + " please?"
    vectors2 = shared_encoder().encode([hours.questions["en"][0], near])
    similarity = float(vectors2[0] @ vectors2[1])
    kb2 = edited(sample_kb, "store-location", question=near)
    found2 = find_near_duplicates(phrasings_of(kb2), shared_encoder().encode([p.text for p in phrasings_of(kb2)]), 0.9)
    assert (any(near in (d.text, d.other_text) for d in found2)) == (similarity >= 0.9)
    assert all(d.entry_id != d.other_entry_id and d.similarity >= 0.92 for d in found)


def test_near_duplicates_of_a_draft_against_the_served_index(engine: object, sample_kb: KnowledgeBase) -> None:
    index = engine.index  # type: ignore[attr-defined]
    hours = sample_kb.get("store-opening-hours")
    assert hours is not None
    warned = near_duplicates_of("new-entry", {"en": [hours.questions["en"][0]]}, index, shared_encoder(), 0.92)
    assert warned and warned[0].other_entry_id == "store-opening-hours" and warned[0].similarity > 0.99
    # An entry's own phrasings never warn about itself.
    own = near_duplicates_of("store-opening-hours", hours.questions, index, shared_encoder(), 0.5)
    assert all(d.other_entry_id != "store-opening-hours" for d in own)


def ask(runtime: Runtime, text: str) -> tuple[Action, str | None, str | None]:
    decision = runtime.engine.decide(InboundMessage(text=text, platform="test", conversation_id="c", language="en"))
    return decision.action, decision.entry_id, decision.reply


def test_the_runtime_swaps_to_a_published_version_and_back(data_dir: Path, sample_kb: KnowledgeBase) -> None:
    settings: Settings = engine_settings(
        data_dir, live_index={"check_seconds": 0}, policy={"answer_in_business_hours": True}
    )
    runtime = Runtime(settings)
    question = "What are your opening hours?"
    action, entry_id, before = ask(runtime, question)
    # The first load migrated the legacy layout to version 1.
    assert (action, entry_id, runtime.served_version) == (Action.ANSWER, "store-opening-hours", 1)
    old_engine = runtime.engine
    build_version(settings, sample_kb, shared_encoder())
    build_version(
        settings, edited(sample_kb, "store-opening-hours", answer="Brand new hours: 7 to 7."), shared_encoder()
    )
    # Threads asking while the swap happens always get an engine (the old one until the new one is in).
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(20):
                assert runtime.engine is not None
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    during = ask(runtime, question)  # old or new engine, whichever this thread got: never none
    for thread in threads:
        thread.join()
    assert errors == []
    assert during[0] == Action.ANSWER
    action, entry_id, after = ask(runtime, question)
    assert runtime.served_version == 3
    assert runtime.engine is not old_engine
    assert action == Action.ANSWER and entry_id == "store-opening-hours"
    assert after is not None and "Brand new hours: 7 to 7." in after
    assert before is not None and "Brand new hours" not in before
    rollback(settings.index_dir)
    action, entry_id, again = ask(runtime, question)
    assert runtime.served_version == 2
    assert again is not None and "Brand new hours" not in again


def test_a_neighbours_matcher_takes_a_new_entry_without_training(data_dir: Path, sample_kb: KnowledgeBase) -> None:
    """The large-KB path: a new entry is answered from the next version at once, under the old calibration."""
    settings: Settings = engine_settings(
        data_dir,
        live_index={"check_seconds": 0},
        policy={"answer_in_business_hours": True},
        models={"matcher": "neighbours", "recalibrate_share": 0.5},
    )
    runtime = Runtime(settings)
    first = build_version(settings, sample_kb, shared_encoder(), "first")
    # The legacy model is a logistic one: a neighbours setting trains and calibrates a new matcher.
    assert (first.matcher_update, first.retrained, first.recalibrate_due) == ("trained", True, False)
    assert load_version(settings.index_dir, 1, shared_encoder().name).intents.report.matcher == "neighbours"
    question = "Can you engrave my initials on the titanium camping mug?"
    action, entry_id, _ = ask(runtime, question)
    assert entry_id != "mug-engraving"

    entries = copy.deepcopy(sample_kb.entries)
    entries.append(
        KBEntry(
            "mug-engraving",
            {"en": ["Can you engrave my initials on the titanium camping mug?", "Do you engrave mugs?"]},
            {"en": "Yes: engraving of up to 3 initials is free on every titanium mug."},
            [],
            "published",
        )
    )
    second = build_version(settings, KnowledgeBase(entries), shared_encoder(), "new entry")
    assert (second.matcher_update, second.retrained, second.encoded) == ("extended", False, 2)
    assert second.recalibrate_due is False
    action, entry_id, reply = ask(runtime, question)
    assert (runtime.served_version, action, entry_id) == (2, Action.ANSWER, "mug-engraving")
    assert reply is not None and "engraving of up to 3 initials" in reply

    # Past recalibrate_share (here 1% of the calibrated examples) the build says so; a forced build recalibrates.
    strict = settings.model_copy(update={"models": settings.models.model_copy(update={"recalibrate_share": 0.01})})
    grown = copy.deepcopy(entries)
    for n in range(40):
        grown.append(KBEntry(f"extra-{n}", {"en": [f"Question {n} about item {n * 7}"]}, {"en": "A."}, [], "published"))
    third = build_version(strict, KnowledgeBase(grown), shared_encoder(), "grown")
    assert (third.matcher_update, third.recalibrate_due) == ("extended", True)
    fourth = build_version(strict, KnowledgeBase(grown), shared_encoder(), "recalibration", recalibrate=True)
    assert (fourth.matcher_update, fourth.retrained, fourth.recalibrate_due) == ("trained", True, False)
    calibrated = [load_version(strict.index_dir, n, shared_encoder().name).intents.report for n in (1, 3, 4)]
    assert calibrated[1].calibrated_examples == calibrated[0].calibrated_examples  # extended: same calibration
    assert calibrated[2].calibrated_examples == calibrated[0].examples + 2 + 40


def test_the_cli_publishes_lists_and_rolls_back(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    # ready-or-train opens the editor's database (a fresh install's first start imports the KB folder into it).
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{data_dir / 'cli.db'}")

    from assistant.cli import main

    runner = CliRunner()
    common = ["--data-dir", str(data_dir)]
    kb_dir = ["--kb-dir", str(ROOT / "knowledge_base")]
    first = runner.invoke(main, ["live-index", "publish", "--source", "yaml", *kb_dir, *common])
    assert first.exit_code == 0, first.output
    assert "version 1 is live" in first.output and "matcher reused" in first.output
    second = runner.invoke(main, ["live-index", "publish", "--source", "yaml", "--reason", "again", *kb_dir, *common])
    assert "version 2 is live: " in second.output and "0 encoded" in second.output
    listing = runner.invoke(main, ["live-index", "list", *common])
    assert listing.exit_code == 0 and "*    2" in listing.output and "again" in listing.output
    back = runner.invoke(main, ["live-index", "rollback", *common])
    assert back.exit_code == 0 and "version 1 is live again" in back.output
    assert read_pointer(data_dir / "index") is not None and read_pointer(data_dir / "index").version == 1  # type: ignore[union-attr]
    ready = runner.invoke(main, ["ready-or-train", *kb_dir, *common])
    assert ready.exit_code == 0 and "index version 1 is ready" in ready.output
    from assistant.store import KbStore, make_engine

    seeded = KbStore(make_engine(f"sqlite:///{data_dir / 'cli.db'}"))
    assert seeded.search()[1] == len(load_knowledge_base(ROOT / "knowledge_base"))  # the editor is not empty
    missing = runner.invoke(main, ["live-index", "rollback", "9", *common])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_a_broken_version_or_pointer_leaves_the_old_engine_serving(data_dir: Path, sample_kb: KnowledgeBase) -> None:
    from assistant.knowledge.index_versions import POINTER_FILE, version_dir

    settings: Settings = engine_settings(
        data_dir, live_index={"check_seconds": 0}, policy={"answer_in_business_hours": True}
    )
    root = settings.index_dir
    build_version(settings, sample_kb, shared_encoder())
    runtime = Runtime(settings)
    serving = runtime.engine
    assert runtime.served_version == 1
    build_version(settings, edited(sample_kb, "store-opening-hours", answer="Version two."), shared_encoder())
    (version_dir(root, 2) / "faq.faiss").write_bytes(b"not an index")
    assert runtime.engine is serving and runtime.served_version == 1  # logged, not raised, not retried per message
    (root / POINTER_FILE).write_text("{not json", encoding="utf-8")
    assert runtime.engine is serving
    build_version(settings, edited(sample_kb, "store-opening-hours", answer="Version three."), shared_encoder())
    assert ask(runtime, "What are your opening hours?")[2] is not None
    assert runtime.served_version == 3
    assert "Version three." in (ask(runtime, "What are your opening hours?")[2] or "")


def test_a_publish_reports_the_near_duplicates_it_adds(data_dir: Path, sample_kb: KnowledgeBase) -> None:
    settings = engine_settings(data_dir)
    first = build_version(settings, sample_kb, shared_encoder())
    hours = sample_kb.get("store-opening-hours")
    assert hours is not None
    copied = hours.questions["en"][0].upper()
    second = build_version(settings, edited(sample_kb, "store-location", question=copied), shared_encoder())
    assert second.near_duplicates, "the copied question must be reported"
    assert all(copied in (d["text"], d["other_text"]) for d in second.near_duplicates)
    assert {d["other_entry_id"] for d in second.near_duplicates} | {d["entry_id"] for d in second.near_duplicates} == {
        "store-location",
        "store-opening-hours",
    }
    # The first build checked every pair; the second only the pairs with what it added.
    assert first.version == 1 and second.version == 2


def test_the_kb_source_is_the_database_seeded_from_the_folder_at_first_use(tmp_path: Path) -> None:
    from assistant.services.publishing import published_kb
    from assistant.store.db import make_engine, migrate

    settings = engine_settings(tmp_path / "data", service={"database_url": f"sqlite:///{tmp_path / 'kb.db'}"})
    migrate(settings.service.database_url)
    database = make_engine(settings.service.database_url)
    folder = load_knowledge_base(ROOT / "knowledge_base")
    # A fresh install: the first re-index imports the folder, and from then on builds from the database.
    first = published_kb(settings, "auto", database)
    assert {e.id for e in first} == {e.id for e in folder.published()} and first.version == folder.version
    assert len(KbStore(database).search()[0]) == len(folder)


def test_without_seeding_the_kb_source_is_the_database_once_something_was_published_there(tmp_path: Path) -> None:
    from assistant.services.publishing import published_kb
    from assistant.store.db import make_engine, migrate

    settings = engine_settings(
        tmp_path / "data",
        service={"database_url": f"sqlite:///{tmp_path / 'kb.db'}"},
        kb_sync={"seed_from_yaml": False},
    )
    migrate(settings.service.database_url)
    database = make_engine(settings.service.database_url)
    store = KbStore(database)
    yaml_ids = {e.id for e in load_knowledge_base(ROOT / "knowledge_base")}
    assert {e.id for e in published_kb(settings, "auto", database)} == yaml_ids  # empty database: the YAML
    draft = store.save(EntryContent("gap-draft", {"en": ["q?"]}, {"en": "a"}), None, "gina")
    assert {e.id for e in published_kb(settings, "auto", database)} == yaml_ids  # only a draft: still the YAML
    assert len(published_kb(settings, "db", database)) == 0
    store.transition("gap-draft", "review", draft.version, "gina")
    store.transition("gap-draft", "published", draft.version + 1, "gina")
    assert [e.id for e in published_kb(settings, "auto", database)] == ["gap-draft"]
    assert {e.id for e in published_kb(settings, "yaml", database)} == yaml_ids


def test_a_vector_cache_with_nothing_to_keep_round_trips(tmp_path: Path) -> None:
    from assistant.knowledge.vector_cache import VectorCache

    empty = VectorCache(shared_encoder().name)
    empty.save(tmp_path, ["never encoded"])
    again = VectorCache(shared_encoder().name)
    again.load_version(tmp_path)
    assert again.rows == {}
    vectors = again.encode(["hello there"], shared_encoder())
    assert vectors.shape == (1, shared_encoder().dim) and again.encoded == 1
    again.save(tmp_path, ["hello there"])
    third = VectorCache(shared_encoder().name)
    third.load_version(tmp_path)
    assert list(third.encode(["hello there"], shared_encoder())[0]) == list(vectors[0]) and third.encoded == 0


def test_the_approximate_all_pairs_check_of_a_large_first_build_finds_planted_duplicates() -> None:
    from assistant.knowledge.near_duplicates import EXACT_DUPLICATE_SEARCH
    from assistant.knowledge.retrieval import Phrasing

    rng = np.random.default_rng(5)
    n = EXACT_DUPLICATE_SEARCH + 500  # past the exact limit: the inverted-file path
    vectors = rng.normal(size=(n, 32)).astype(np.float32)
    planted = [(10, 9000), (123, 20400), (5000, 5001)]
    for a, b in planted:
        vectors[b] = vectors[a] + 0.02 * rng.normal(size=32).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    phrasings = [Phrasing(f"entry-{i}", "en", f"question {i}") for i in range(n)]
    found = find_near_duplicates(phrasings, vectors, threshold=0.95)
    pairs = {(d.entry_id, d.other_entry_id) for d in found}
    assert {(f"entry-{a}", f"entry-{b}") for a, b in planted} <= pairs
    assert all(d.similarity >= 0.95 for d in found)


def test_the_reindex_task_follows_a_drifted_quick_build_with_a_recalibrated_one(data_dir: Path, tmp_path: Path) -> None:
    from assistant.services.publishing import reindex

    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    settings = load_settings(
        kb_dir=kb_dir,
        data_dir=data_dir,
        nlu_file=ROOT / "training" / "nlu.yml",
        service={"database_url": f"sqlite:///{tmp_path / 'store.db'}"},
        live_index={"check_seconds": 0},
        models={"matcher": "neighbours", "recalibrate_share": 0.001},
    )
    runtime = Runtime(settings)

    def published(reason: str) -> object:
        return reindex(settings, shared_encoder(), reason, lambda _: runtime.refresh(), runtime.store.engine)

    first = published("first")
    assert (first.version, first.matcher_update) == (1, "trained")
    # The first re-index imported the KB folder into the editor's database: an entry is published there.
    store = KbStore(runtime.store.engine)
    mug = store.save(
        EntryContent(
            "mug-engraving",
            {
                "en": [
                    "Do you engrave titanium mugs?",
                    "Can I get my initials on a mug?",
                    "Is mug engraving free?",
                    "How long does engraving a mug take?",
                ]
            },
            {"en": "Engraving of up to 3 initials is free."},
        ),
        None,
        "ed",
    )
    store.transition("mug-engraving", "review", mug.version, "ed")
    store.transition("mug-engraving", "published", mug.version + 1, "ed")
    last = published("mugs")
    quick, recalibrated = versions(settings.index_dir)[-2:]
    assert (quick.version, quick.matcher_update, quick.recalibrate_due) == (2, "extended", True)
    assert (recalibrated.version, recalibrated.matcher_update, recalibrated.reason) == (
        3,
        "trained",
        "mugs (recalibration)",
    )
    assert last.version == runtime.served_version == 3


def test_a_legacy_data_folder_becomes_version_1_on_its_first_load(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from assistant.pipeline import Engine

    settings = engine_settings(data_dir)
    legacy = [data_dir / "index" / "faq.faiss", data_dir / "index" / "faq.json"]
    legacy += [data_dir / "models" / "intent_model.pkl", data_dir / "models" / "intent_model.json"]
    assert all(path.exists() for path in legacy) and read_pointer(settings.index_dir) is None
    with caplog.at_level(logging.INFO, logger="community_assistant.index_versions"):
        engine = Engine.load(settings)
    migrated = [r.getMessage() for r in caplog.records if "legacy" in r.getMessage()]
    assert len(migrated) == 1 and "to version 1" in migrated[0]
    # Seeded from the legacy files (nothing encoded, the model reused), which are gone: never read again.
    (info,) = versions(settings.index_dir)
    assert (info.version, info.encoded, info.matcher_update, info.kb_source) == (1, 0, "reused", "yaml")
    assert not any(path.exists() for path in legacy) and (data_dir / "models" / "signals.pkl").exists()
    assert engine.kb.version == info.kb_version == load_knowledge_base(ROOT / "knowledge_base").version
    decision = engine.decide(InboundMessage(text="What are your opening hours?", language="en"))
    assert decision.entry_id == "store-opening-hours"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="community_assistant.index_versions"):
        Engine.load(settings)  # the next load serves version 1 as it is
    assert [v.version for v in versions(settings.index_dir)] == [1] and not caplog.records


def test_index_publishes_a_version_that_ask_serves(data_dir: Path) -> None:
    from click.testing import CliRunner

    from assistant.cli import main

    runner = CliRunner()
    common = ["--kb-dir", str(ROOT / "knowledge_base"), "--data-dir", str(data_dir)]
    indexed = runner.invoke(main, ["index", *common])
    assert indexed.exit_code == 0, indexed.output
    assert "version 1 is live" in indexed.output and "0 encoded" in indexed.output
    assert f"→ {data_dir / 'index' / 'versions' / '1'}" in indexed.output
    assert [(v.version, v.reason, v.matcher_update) for v in versions(data_dir / "index")] == [
        (1, "assistant index", "reused")
    ]
    asked = runner.invoke(main, ["ask", "What are your opening hours?", "--json", *common])
    assert asked.exit_code == 0 and "store-opening-hours" in asked.output
