"""`kb import` takes the entry ids teams write (`Refund_Not_Showing`, `faq/ask_name`, accents, spaces): the name
becomes the label, a stable id is derived; blank rows are skipped with a warning; broken rows still fail."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.domain.kb_entries import KnowledgeBaseError
from assistant.knowledge.entry_ids import derive_entry_id
from assistant.knowledge.kb_import import import_file
from assistant.knowledge.knowledge_base import export_knowledge_base, load_knowledge_base

HEADER = "entry_id,question,answer,lang\n"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Refund_Not_Showing", "refund-not-showing"),
        ("faq/ask_name", "faq--ask-name"),
        ("faq_ask_name", "faq_ask_name"),  # already valid: kept, and distinct from faq/ask_name
        ("card-arrival", "card-arrival"),
        ("  Où est ma commande ?  ", "ou-est-ma-commande"),
        ("Zwrot płatności", "zwrot-platnosci"),
        ("Возврат денег", "vozvrat-deneg"),
        ("Straße", "strasse"),
        ("reverted_card_payment?", "reverted-card-payment"),
    ],
)
def test_derived_ids(original: str, expected: str) -> None:
    assert derive_entry_id(original).entry_id == expected


def test_names_without_latin_letters_get_a_stable_hash_id() -> None:
    refund, again, other = derive_entry_id("退款"), derive_entry_id("退款"), derive_entry_id("发货")
    assert refund.hashed and refund.entry_id == again.entry_id != other.entry_id
    assert refund.entry_id.startswith("entry-") and len(refund.entry_id) == len("entry-") + 8
    assert derive_entry_id("???").hashed


def test_long_names_are_cut_and_kept_apart() -> None:
    first, second = derive_entry_id("How " * 30 + "one"), derive_entry_id("How " * 30 + "two")
    assert len(first.entry_id) <= 80 and first.entry_id != second.entry_id


def test_spreadsheet_names_become_labels_and_reimport_updates_the_same_entries(tmp_path: Path) -> None:
    kb_dir, source = tmp_path / "kb", tmp_path / "faq.csv"
    source.write_text(
        HEADER + "Refund_Not_Showing,Where is my refund?,Refunds take 5 days.,en\n"
        "Refund_Not_Showing,Refund missing,,en\n"
        "退款,退款在哪里？,退款需要5天。,zh\n"
        "top-up,How do I top up?,Use the app.,en\n",
        encoding="utf-8",
    )
    summary = import_file(source, kb_dir)
    assert [(d.original, d.entry_id, d.hashed) for d in summary.derived_ids] == [
        ("Refund_Not_Showing", "refund-not-showing", False),
        ("退款", derive_entry_id("退款").entry_id, True),
    ]
    kb = load_knowledge_base(kb_dir)
    refund = kb.get("refund-not-showing")
    assert refund is not None and refund.label == "Refund_Not_Showing" and refund.display_name == "Refund_Not_Showing"
    assert refund.questions == {"en": ["Where is my refund?", "Refund missing"]}
    top_up = kb.get("top-up")
    assert top_up is not None and top_up.label is None and "label" not in top_up.to_yaml_dict()
    assert "label: Refund_Not_Showing" in (kb_dir / "imported.yml").read_text(encoding="utf-8")

    more = tmp_path / "more.csv"
    more.write_text(HEADER + "Refund_Not_Showing,Still no refund,,en\n", encoding="utf-8")
    summary = import_file(more, kb_dir)
    assert (summary.entries_created, summary.entries_updated, summary.questions_added) == (0, 1, 1)
    assert load_knowledge_base(kb_dir).get("refund-not-showing") is not None


def test_label_round_trips_through_export_and_leaves_unlabelled_kbs_unchanged(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    plain = "entries:\n  - id: opening\n    questions: {en: ['When do you open']}\n    answers: {en: At 9.}\n"
    (kb_dir / "a.yml").write_text(plain, encoding="utf-8")
    before = load_knowledge_base(kb_dir).version
    labelled = "  - id: faq--ask-name\n    label: faq/ask_name\n"
    labelled += "    questions: {en: ['Who are you']}\n    answers: {en: A bot.}\n"
    (kb_dir / "a.yml").write_text(plain + labelled, encoding="utf-8")
    kb = load_knowledge_base(kb_dir)
    assert kb.version != before  # a label is content: it is shown to editors and reports
    out = tmp_path / "out"
    export_knowledge_base(kb, out)
    again = load_knowledge_base(out)
    assert [e.to_yaml_dict() for e in again] == [e.to_yaml_dict() for e in kb]
    assert [e.label for e in again] == [None, "faq/ask_name"]
    (kb_dir / "a.yml").write_text(plain, encoding="utf-8")
    assert load_knowledge_base(kb_dir).version == before


def test_two_names_becoming_one_id_fail_naming_both_rows(tmp_path: Path) -> None:
    kb_dir, source = tmp_path / "kb", tmp_path / "faq.csv"
    source.write_text(
        HEADER
        + "Refund Not Showing,Where is my refund?,5 days.,en\nok,Q?,A.,en\nrefund-not-showing,Refund?,5 days.,en\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError) as raised:
        import_file(source, kb_dir)
    message = str(raised.value)
    assert f"{source}:4" in message and "row 4" in message and "row 2" in message
    assert "'Refund Not Showing'" in message and "'refund-not-showing'" in message
    assert not list(kb_dir.glob("*.yml"))


def test_blank_rows_are_skipped_with_their_row_numbers(tmp_path: Path) -> None:
    kb_dir, source = tmp_path / "kb", tmp_path / "faq.csv"
    source.write_text(HEADER + "a,Q one?,A.,en\n,,,\n  , ,\t,\nb,Q two?,B.,en\n,,,,,\n", encoding="utf-8")
    summary = import_file(source, kb_dir)
    assert summary.skipped_rows == [3, 4, 6]
    assert (summary.rows, summary.entries_created, summary.questions_added) == (2, 2, 2)


def test_blank_jsonl_object_is_skipped(tmp_path: Path) -> None:
    source = tmp_path / "faq.jsonl"
    source.write_text(
        '{"entry_id": "a", "question": "Q?", "answer": "A.", "lang": "en"}\n{}\n{"entry_id": "", "lang": " "}\n',
        encoding="utf-8",
    )
    assert import_file(source, tmp_path / "kb").skipped_rows == [2, 3]


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        (",Q?,A.,en", "row 3: field `entry_id` is empty"),
        ("b,Q?,A.,", "row 3: field `lang` is empty"),
        ("b,,,en", "row 3: needs a `question` or an `answer`"),
        ("b,,Only an answer.,en", "new entry 'b' has no question phrasing"),
        ("B c,,Only an answer.,en", "new entry 'B c' has no question phrasing"),
        ("x" * 201 + ",Q?,A.,en", "row 3: field `entry_id` is longer than 200"),
    ],
)
def test_a_partly_filled_row_still_fails_the_batch(tmp_path: Path, row: str, fragment: str) -> None:
    kb_dir, source = tmp_path / "kb", tmp_path / "faq.csv"
    source.write_text(HEADER + f"a,Q?,A.,en\n{row}\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        import_file(source, kb_dir)
    assert fragment in str(raised.value) and str(source) in str(raised.value)
    assert not list(kb_dir.glob("*.yml"))


def test_cli_says_which_ids_were_derived_and_which_rows_were_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CA_SERVICE__DATABASE_URL", f"sqlite:///{tmp_path / 'kb.db'}")
    source = tmp_path / "faq.csv"
    source.write_text(HEADER + "Refund_Not_Showing,Refund?,5 days.,en\n,,,\n退款,退款？,5天。,zh\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["kb", "import", str(source), "--kb-dir", str(tmp_path / "kb")])
    assert result.exit_code == 0, result.output
    assert "Refund_Not_Showing -> refund-not-showing" in result.output
    assert f"退款 -> {derive_entry_id('退款').entry_id}" in result.output and "hash" in result.output
    assert f"{source}: skipped blank row(s) 3" in result.output
    assert "added 2 drafts, 0 updated (drafts), 0 unchanged, 0 conflicts" in result.output
