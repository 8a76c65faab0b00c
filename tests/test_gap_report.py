"""The content-gap report: unanswered questions clustered by the real embedding model into topics with counts,
languages, examples and the agents' replies; never-matched and often-wrong entries; read from a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain.kb_entries import ENTRY_ID_PATTERN, KnowledgeBase
from assistant.domain.messages import Action, Decision, DecisionKind, EscalationReason, Priority
from assistant.knowledge.entry_ids import derive_entry_id
from assistant.knowledge.gap_report import (
    GapQuestion,
    build_gap_report,
    cluster_vectors,
    report_to_dict,
    suggest_entry_id,
)
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.nlu.embeddings import Encoder, shared_encoder
from assistant.settings import LiveIndexConfig
from assistant.store import ConsoleStore, Store
from assistant.store.db import make_engine, migrate
from assistant.store.gap_queries import entry_feedback, entry_match_counts, gap_questions, load_gap_report
from tests.console.seeding import seed_escalation

REFUND = [
    ("Can I get my money back for a broken gift card?", "en"),
    ("How do I get a refund on a gift card?", "en"),
    ("gift card refund please", "en"),
    ("Kann ich eine Geschenkkarte zurückgeben und mein Geld zurückbekommen?", "de"),
]
PARKING = [
    ("Is there parking at your store in Berlin?", "en"),
    ("where can I park my car near the shop", "en"),
    ("Y a-t-il un parking près du magasin ?", "fr"),
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return shared_encoder()


def questions() -> list[GapQuestion]:
    found = [GapQuestion(t, lang, "out_of_scope") for t, lang in REFUND]
    found += [GapQuestion(t, lang, "low_confidence") for t, lang in PARKING]
    found.append(GapQuestion("gift card refund please", "en", "out_of_scope", reply="Gift cards are refundable."))
    return found


def test_questions_on_one_topic_form_one_cluster_across_languages(encoder: Encoder) -> None:
    report = build_gap_report(questions(), encoder, distance=0.6)
    assert [c.count for c in report.clusters] == [5, 3]
    refund, parking = report.clusters
    assert refund.languages == {"en": 4, "de": 1}
    assert refund.reasons == {"out_of_scope": 5}
    assert parking.languages == {"en": 2, "fr": 1}
    assert parking.reasons == {"low_confidence": 3}
    # The repeated question is one example (distinct texts), the reply is kept as the starting answer.
    assert len(refund.examples) == 4
    assert refund.replies == ["Gift cards are refundable."]
    assert {t for t, _ in PARKING} == set(parking.examples)
    assert report.questions == 8


def test_a_tight_threshold_keeps_unrelated_questions_apart(encoder: Encoder) -> None:
    report = build_gap_report(questions(), encoder, distance=0.05)
    assert len(report.clusters) >= 6  # nothing but the exact repeat merges
    assert max(c.count for c in report.clusters) == 2


def test_a_cluster_becomes_a_valid_draft_entry(encoder: Encoder, tmp_path: Path) -> None:
    refund = build_gap_report(questions(), encoder, distance=0.6).clusters[0]
    draft = refund.draft("en")
    assert draft["status"] == "draft"
    assert ENTRY_ID_PATTERN.match(draft["id"])
    assert draft["answers"] == {"en": "Gift cards are refundable."}
    assert set(draft["questions"]) == {"en", "de"}
    assert "gift card refund please" in draft["questions"]["en"]
    # The draft loads as a KB entry (the loader validates ids, languages, placeholders) and is not answered.
    (tmp_path / "drafts.yml").write_text(yaml.safe_dump({"entries": [draft]}, allow_unicode=True), encoding="utf-8")
    kb = load_knowledge_base(tmp_path)
    loaded = kb.get(draft["id"])
    assert loaded is not None and not loaded.is_published


def test_a_cluster_without_replies_gets_a_marked_placeholder_answer(encoder: Encoder) -> None:
    parking = build_gap_report(questions(), encoder, distance=0.6).clusters[1]
    assert parking.draft("en")["answers"]["en"].startswith("TODO")


def test_suggested_ids_are_valid_and_unique() -> None:
    taken = {"gift-card-refund"}
    first = suggest_entry_id("Gift card refund?", taken)
    second = suggest_entry_id("Gift card refund!", taken)
    assert first == "gift-card-refund-2" and second == "gift-card-refund-3"
    assert ENTRY_ID_PATTERN.match(suggest_entry_id("¿¿??", set()))
    assert suggest_entry_id("Czy mogę zwrócić kartę?", set()) == "czy-moge-zwrocic-karte"


def test_a_suggested_id_is_the_id_kb_import_would_derive() -> None:
    """One derivation of ids from text: Russian is transliterated as `kb import` does, not dropped."""
    assert suggest_entry_id("Где мой заказ?", set()) == derive_entry_id("Где мой заказ").entry_id == "gde-moi-zakaz"


def test_never_matched_and_often_wrong_entries(encoder: Encoder) -> None:
    report = build_gap_report(
        [],
        encoder,
        published_ids=["a", "b", "c"],
        match_counts={"a": 3, "c": 0},
        feedback={"a": {"wrong": 3, "right": 1}, "b": {"wrong": 1, "right": 9}, "c": {"wrong": 2, "right": 10}},
        min_wrong=2,
        wrong_share=0.3,
    )
    assert report.clusters == []
    assert report.never_matched == ["b", "c"]
    assert [(w.entry_id, w.wrong, w.rated) for w in report.often_wrong] == [("a", 3, 4)]


def test_many_vectors_are_condensed_first_and_still_separate_topics() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(4, 64)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = np.repeat(centres, 700, axis=0) + rng.normal(scale=0.01, size=(2800, 64)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = cluster_vectors(points.astype(np.float32), distance=0.3)
    assert len(set(labels.tolist())) == 4
    for topic in range(4):
        assert len(set(labels[topic * 700 : (topic + 1) * 700].tolist())) == 1


def seed_database(tmp_path: Path) -> tuple[str, Store]:
    url = f"sqlite:///{tmp_path / 'gaps.db'}"
    migrate(url)
    store = Store.from_url(url)
    console = ConsoleStore(store.engine)
    for text, lang in REFUND:
        seeded = seed_escalation(store, text=text, language=lang, reason=EscalationReason.OUT_OF_SCOPE, entry_id=None)
    # A person answered the last refund question: the worker keeps such a reply as a gap candidate.
    from assistant.store.tables import GapCandidate

    with store._write() as session:
        session.add(
            GapCandidate(
                escalation_id=seeded.escalation_id,
                conversation_id=seeded.conversation_id,
                question=REFUND[-1][0],
                language="de",
                reply="Geschenkkarten erstatten wir innerhalb von 14 Tagen.",
                reason="out_of_scope",
            )
        )
    for text, lang in PARKING:
        seed_escalation(store, text=text, language=lang, reason=EscalationReason.LOW_CONFIDENCE, entry_id=None)
    # Not a gap: a person was asked for.
    seed_escalation(store, text="I want to talk to a human", reason=EscalationReason.HUMAN_REQUESTED)
    wrong = seed_escalation(store, text="Where is my parcel?", reason=EscalationReason.HUMAN_REQUESTED)
    for verdict in ("wrong", "wrong", "right"):
        console.add_feedback(wrong.escalation_id, verdict, None, "delivery_time", None)
    answered = store.conversation("telegram", "answered", "u-1", "Ben")
    message_id = store.record_inbound(
        answered.id, "telegram", "evt-answered", "opening hours?", "en", False, datetime.now(UTC)
    )
    assert message_id is not None
    store.record_decision(
        message_id,
        Decision(
            action=Action.ANSWER,
            language="en",
            kind=DecisionKind.KB_ANSWER,
            reply="9 to 5",
            entry_id="opening_hours",
            confidence=0.9,
            priority=Priority.NORMAL,
        ),
    )
    return url, store


def test_store_inputs_cover_gap_escalations_replies_matches_and_feedback(tmp_path: Path) -> None:
    url, _ = seed_database(tmp_path)
    engine = make_engine(url)
    found = gap_questions(engine)
    assert sorted(q.text for q in found) == sorted(t for t, _ in REFUND + PARKING)
    replied = [q for q in found if q.reply]
    assert [(q.text, q.reply) for q in replied] == [
        (REFUND[-1][0], "Geschenkkarten erstatten wir innerhalb von 14 Tagen.")
    ]
    assert entry_match_counts(engine) == {"opening_hours": 1}
    assert entry_feedback(engine) == {"delivery_time": {"wrong": 2, "right": 1}}
    # A window that ends before everything finds nothing.
    assert gap_questions(engine, until=datetime.now(UTC) - timedelta(days=1)) == []


def test_cli_prints_the_report_and_writes_drafts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = seed_database(tmp_path)
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", url)
    monkeypatch.setenv("CA_LIVE_INDEX__GAP_DISTANCE", "0.6")
    drafts = tmp_path / "drafts.yml"
    data_dir = ["--data-dir", str(tmp_path / "data")]  # no published live version: the KB folder is used
    result = CliRunner().invoke(main, ["gaps", "--json", "--drafts", str(drafts), *data_dir])
    assert result.exit_code == 0, result.output
    report = yaml.safe_load(result.output)
    assert [c["count"] for c in report["clusters"]] == [4, 3]
    assert report["clusters"][0]["languages"] == {"en": 3, "de": 1}
    assert report["clusters"][0]["replies"] == ["Geschenkkarten erstatten wir innerhalb von 14 Tagen."]
    assert "delivery_time" in [w["entry_id"] for w in report["often_wrong"]]
    assert "opening_hours" not in report["never_matched"]
    written = yaml.safe_load(drafts.read_text(encoding="utf-8"))["entries"]
    assert [d["status"] for d in written] == ["draft", "draft"]
    assert written[0]["answers"] == {"de": "Geschenkkarten erstatten wir innerhalb von 14 Tagen."}
    text = CliRunner().invoke(main, ["gaps", *data_dir])
    assert text.exit_code == 0, text.output
    assert "7 unanswered questions, 2 topics" in text.output


def test_report_from_the_store_matches_the_pure_report(tmp_path: Path, encoder: Encoder) -> None:
    url, _ = seed_database(tmp_path)
    kb = KnowledgeBase([])
    report = load_gap_report(make_engine(url), kb, encoder, LiveIndexConfig(gap_distance=0.6))
    data = report_to_dict(report)
    assert data["questions"] == 7
    assert [c["count"] for c in data["clusters"]] == [4, 3]
