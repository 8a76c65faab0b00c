"""The CLI as a user runs it (ask, replay, kb import, stale index) and calibration tested the way it is
used: intents held out of training entirely must be escalated, not answered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain.readings import FAQ_PREFIX
from assistant.knowledge.index_versions import read_pointer
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.nlu.intent_model import IntentModel, training_examples
from assistant.nlu.nlu_data import load_nlu
from assistant.pipeline import Engine
from tests.conftest import ROOT

HELD_OUT = ("payment-methods", "account-deletion", "community-discord", "product-warranty", "events-meetups")


def test_held_out_entries_are_escalated_not_answered(engine: Engine) -> None:
    kb = load_knowledge_base(ROOT / "knowledge_base")
    texts, labels, _ = training_examples(kb, load_nlu(ROOT / "training" / "nlu.yml"))
    vectors = engine.encoder.encode(texts)
    held = np.array([label.removeprefix(FAQ_PREFIX) in HELD_OUT for label in labels])
    model, _ = IntentModel.train_on_vectors(
        vectors[~held],
        [lab for lab, h in zip(labels, held, strict=True) if not h],
        engine.encoder.name,
        kb.version,
        target_precision=0.95,
    )
    predictions = model.predict(vectors[held])
    answered = sum(p.confidence >= model.threshold for p in predictions)
    assert answered / len(predictions) <= 0.10, f"{answered} of {len(predictions)} unseen questions answered"
    in_scope = model.predict(vectors[~held][::7])
    kept_labels = [lab for lab, h in zip(labels, held, strict=True) if not h][::7]
    confident = [
        (p.label == lab) for p, lab in zip(in_scope, kept_labels, strict=True) if p.confidence >= model.threshold
    ]
    assert confident and sum(confident) / len(confident) >= 0.95


def test_ask_prints_a_decision_as_json(trained_data_dir: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "ask",
            "Jak mogę usunąć konto?",
            "--at",
            "2026-11-28T21:30",
            "--json",
            "--kb-dir",
            str(ROOT / "knowledge_base"),
            "--data-dir",
            str(trained_data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["action"] == "answer" and decision["entry_id"] == "account-deletion"
    served = read_pointer(trained_data_dir / "index")
    assert served is not None and decision["served"]["index_version"] == served.version
    assert decision["language"] == "pl" and decision["reasons"]


def test_replay_writes_every_line_back_and_keeps_bad_ones(trained_data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"text": "How long does delivery take?", "sender": "Tom"}),
                json.dumps({"text": "转人工", "lang": "zh"}),
                "{broken json",
                json.dumps({"text": "😀"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(source),
            "--out",
            str(out),
            "--at",
            "2026-11-28T21:30",
            "--kb-dir",
            str(ROOT / "knowledge_base"),
            "--data-dir",
            str(trained_data_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    served = read_pointer(trained_data_dir / "index")
    assert served is not None and f"decided 3 messages with index version {served.version} " in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4
    assert rows[0]["action"] == "answer" and rows[0]["entry_id"] == "shipping-times" and "Tom" in rows[0]["answer"]
    assert rows[1]["action"] == "escalate" and rows[1]["language"] == "zh"
    assert rows[2]["error"] and rows[2]["line"] == 3
    assert rows[3]["action"] == "ignore"
    for row in (rows[0], rows[1], rows[3]):
        assert {"confidence", "reasons", "latency_ms"} <= set(row)


def test_ask_answers_from_the_served_version_and_says_the_folder_edits_are_not_live(
    trained_data_dir: Path, tmp_path: Path
) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    edited = kb_dir / "shipping.yml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("business days", "working days", 1), encoding="utf-8")
    folders = ["--kb-dir", str(kb_dir), "--data-dir", str(trained_data_dir)]
    result = CliRunner().invoke(main, ["ask", "How long does delivery take?", "--at", "2026-11-28T21:30", *folders])
    assert result.exit_code == 0, result.output
    pointer = read_pointer(trained_data_dir / "index")
    assert pointer is not None
    assert f"answering from index version {pointer.version}, the one customers get" in result.output
    assert "the KB folder has changed since, and its edits are not live: `assistant index`" in result.output
    assert "working days" not in result.output  # the edit is not what customers get yet


def test_kb_import_and_check_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    source = tmp_path / "faq.csv"
    source.write_text("entry_id,question,answer,lang\nopening,When do you open?,At 9.,en\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["kb", "import", str(source), "--kb-dir", str(tmp_path / "kb")])
    assert result.exit_code == 0 and "added 1 drafts" in result.output
    (tmp_path / "kb").mkdir()
    broken = tmp_path / "kb" / "broken.yml"
    broken.write_text("entries:\n  - id: x\n    questions: {en: [q]}\n    answers: {en: 'Hi {nobody}'}\n")
    result = runner.invoke(main, ["kb", "check", "--kb-dir", str(tmp_path / "kb")])
    assert result.exit_code == 2 and "broken.yml:2" in result.output and "{nobody}" in result.output


def test_demo_says_which_served_version_answers(trained_data_dir: Path) -> None:
    folders = ["--kb-dir", str(ROOT / "knowledge_base"), "--data-dir", str(trained_data_dir)]
    result = CliRunner().invoke(main, ["demo", *folders])
    assert result.exit_code == 0, result.output
    served = read_pointer(trained_data_dir / "index")
    assert served is not None
    assert f"answering from index version {served.version}, the one customers get" in result.output
    assert "the KB folder has changed since" not in result.output


def test_ready_or_train_retrains_when_the_folder_was_edited_since_its_version(
    trained_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    kb_dir, data_dir = tmp_path / "kb", tmp_path / "data"
    shutil.copytree(ROOT / "knowledge_base", kb_dir)
    shutil.copytree(trained_data_dir, data_dir)
    edited = kb_dir / "shipping.yml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("business days", "working days", 1), encoding="utf-8")
    before = read_pointer(data_dir / "index")
    result = CliRunner().invoke(main, ["ready-or-train", "--kb-dir", str(kb_dir), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "stale" in result.output and "training the models now" in result.output
    after = read_pointer(data_dir / "index")
    assert before is not None and after is not None and after.version > before.version
    assert after.kb_version == load_knowledge_base(kb_dir).version
