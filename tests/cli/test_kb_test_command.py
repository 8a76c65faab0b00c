"""`assistant test TESTS.yml`: the team's own questions scored against the published KB, with figures per
language, the confusion of the misses, exit codes a CI can act on, and a baseline that fails only regressions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assistant.cli import main
from assistant.domain.messages import Action, Decision, DecisionKind
from assistant.evaluation.kb_tests import KbTestCase, KbTestFileError, load_test_file, outcome, score
from tests.conftest import ROOT

PASSING = """
at: 2026-11-28T21:30
tests:
  - expect: shipping-times
    lang: en
    examples: ["How many days until my parcel gets here?"]
  - expect: escalate
    text: Je veux parler à une vraie personne, s'il vous plaît
"""
# A wrong expectation on purpose: the question is about delivery times, not returns.
FAILING = (
    PASSING
    + """
  - expect: returns-how-to
    lang: en
    text: When will my package arrive?
"""
)


def run_test(trained_data_dir: Path, tmp_path: Path, content: str, *extra: str) -> Result:
    tests = tmp_path / "tests.yml"
    tests.write_text(content, encoding="utf-8")
    folders = ["--kb-dir", str(ROOT / "knowledge_base"), "--data-dir", str(trained_data_dir)]
    return CliRunner().invoke(main, ["test", str(tests), *folders, *extra])


def test_a_kb_that_passes_its_tests_exits_zero_and_reports_by_language(trained_data_dir: Path, tmp_path: Path) -> None:
    result = run_test(trained_data_dir, tmp_path, PASSING)
    assert result.exit_code == 0, result.output
    assert "2 questions" in result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if line.strip()}
    assert lines["en"][1:3] == ["1", "1"]  # the language the file gives
    assert lines["fr"][1:3] == ["1", "1"]  # none given: the one detected
    assert lines["all"][1:3] == ["2", "2"]


def test_a_miss_exits_one_with_its_line_and_the_confusion(trained_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = run_test(trained_data_dir, tmp_path, FAILING, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "returns-how-to → shipping-times: 1" in result.output
    assert "tests.yml:10: 'When will my package arrive?': expected returns-how-to, got shipping-times" in result.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert (saved["cases"], saved["passed"], saved["wrong_answers"]) == (3, 2, 1)


def test_with_a_baseline_only_a_regression_fails(trained_data_dir: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    assert run_test(trained_data_dir, tmp_path, FAILING, "--out", str(baseline)).exit_code == 1
    # The known miss is in the baseline: the same results pass as "no regression".
    assert run_test(trained_data_dir, tmp_path, FAILING, "--baseline", str(baseline)).exit_code == 0
    # As if the KB had answered the known miss right when the baseline was taken: failing now is a regression.
    saved = json.loads(baseline.read_text(encoding="utf-8"))
    for row in saved["results"]:
        row["passed"] = True
    baseline.write_text(json.dumps(saved), encoding="utf-8")
    result = run_test(trained_data_dir, tmp_path, FAILING, "--baseline", str(baseline))
    assert result.exit_code == 1, result.output
    assert "regression: 'When will my package arrive?' passed in" in result.output
    assert result.output.count("regression:") == 1


def test_min_accuracy_fails_a_run_below_it(trained_data_dir: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    run_test(trained_data_dir, tmp_path, FAILING, "--out", str(baseline))
    args = ("--baseline", str(baseline), "--min-accuracy", "0.9")
    result = run_test(trained_data_dir, tmp_path, FAILING, *args)
    assert result.exit_code == 1
    assert "below --min-accuracy 90.0%" in result.output


def test_an_expectation_the_kb_cannot_meet_is_an_input_error(trained_data_dir: Path, tmp_path: Path) -> None:
    result = run_test(trained_data_dir, tmp_path, PASSING.replace("shipping-times", "shiping-times"))
    assert result.exit_code == 2
    assert "tests.yml:4: `expect` must be a published KB entry's id" in result.output
    assert "'shiping-times'" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("tests: [", "not valid YAML"),
        ("questions: []", "a list under `tests`"),
        ("tests:\n  - expect: escalate\n", "give the question as `text`"),
        ("tests:\n  - expect: escalate\n    text: hi\n    language: en\n", "unknown field(s) ['language']"),
    ],
)
def test_a_malformed_file_names_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KbTestFileError, match=re.escape(message)):
        load_test_file(path, ["shipping-times"])


def test_outcomes_name_the_entry_or_the_kind_of_non_answer() -> None:
    answered = Decision(Action.ANSWER, "en", kind=DecisionKind.KB_ANSWER, entry_id="shipping-times")
    asked = Decision(Action.ANSWER, "en", kind=DecisionKind.CLARIFICATION)
    handed = Decision(Action.ESCALATE, "fr", kind=DecisionKind.ESCALATION)
    assert [outcome(d) for d in (answered, asked, handed)] == ["shipping-times", "clarify", "escalate"]
    cases = [KbTestCase("a", "escalate", None, 1), KbTestCase("b", "order-tracking", "en", 2)]
    report = score(cases, [handed, answered], "KB version x")
    # A wrong entry is a wrong answer; the language falls back to the detected one.
    assert [(r.language, r.passed, r.wrong_answer) for r in report.results] == [
        ("fr", True, False),
        ("en", False, True),
    ]
    assert report.confusion == [("order-tracking", "shipping-times", 1)]
