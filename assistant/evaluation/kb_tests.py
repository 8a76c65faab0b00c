"""`assistant test`: a team's own labelled questions scored against the KB, in the spirit of Rasa's test stories.

A test file lists questions with the outcome each must get: a KB entry's id, or one of the outcomes that are not
an answer (`escalate`, `clarify`, `template`, `moderate`, `silence`). The scoring is pure: decisions in,
results, per-language figures and a confusion table out; the command prints them and sets the exit code. A
result file written by one run is the baseline of the next, so a team's CI fails on a regression (a question
that passed and now fails) without failing on the known misses it has not fixed yet.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.domain.messages import Decision, DecisionKind
from assistant.errors import InputError
from assistant.knowledge.knowledge_base import LineLoader

# The outcomes a question may expect besides a KB entry's id, one per decision kind that is not a KB answer.
NOT_AN_ANSWER: dict[DecisionKind, str] = {
    DecisionKind.ESCALATION: "escalate",
    DecisionKind.CLARIFICATION: "clarify",
    DecisionKind.TEMPLATE: "template",
    DecisionKind.MODERATION: "moderate",
    DecisionKind.SILENCE: "silence",
}
OUTCOMES = tuple(NOT_AN_ANSWER.values())
UNKNOWN_LANGUAGE = "?"


class KbTestFileError(InputError):
    """A test file that cannot be scored: not YAML, a missing field, an expected entry the KB does not have."""


@dataclass(frozen=True)
class KbTestCase:
    text: str
    expect: str  # a KB entry id or one of OUTCOMES
    language: str | None  # the language the team says the question is in (for the per-language figures)
    line: int


@dataclass(frozen=True)
class KbTestFile:
    cases: tuple[KbTestCase, ...]
    path: Path
    at: str | None = None  # decide as if at this ISO time (the file's own, unless the command line says)


@dataclass(frozen=True)
class CaseResult:
    text: str
    expect: str
    got: str
    language: str
    confidence: float
    line: int

    @property
    def passed(self) -> bool:
        return self.got == self.expect

    @property
    def wrong_answer(self) -> bool:
        """Answered with an entry other than the expected outcome: the mistake a customer sees."""
        return not self.passed and self.got not in OUTCOMES


@dataclass(frozen=True)
class LanguageScore:
    language: str
    cases: int
    passed: int
    wrong_answers: int

    @property
    def accuracy(self) -> float:
        return self.passed / self.cases if self.cases else 0.0


@dataclass
class KbTestReport:
    results: list[CaseResult]
    version: str  # which index version answered
    languages: list[LanguageScore] = field(default_factory=list)
    confusion: list[tuple[str, str, int]] = field(default_factory=list)  # (expected, got, count), misses only
    regressions: list[CaseResult] = field(default_factory=list)  # passed in the baseline, fail now

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.results)

    @property
    def accuracy(self) -> float:
        return self.passed / len(self.results) if self.results else 0.0

    @property
    def wrong_answers(self) -> int:
        return sum(result.wrong_answer for result in self.results)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "cases": len(self.results),
                "passed": self.passed,
                "accuracy": round(self.accuracy, 4),
                "wrong_answers": self.wrong_answers,
                "results": [{**asdict(result), "passed": result.passed} for result in self.results],
            },
            ensure_ascii=False,
            indent=2,
        )


def outcome(decision: Decision) -> str:
    """What a decision comes to, in the test file's terms: the entry answered with, or the kind of non-answer."""
    if decision.kind == DecisionKind.KB_ANSWER and decision.entry_id:
        return decision.entry_id
    if decision.kind is None:
        return NOT_AN_ANSWER[DecisionKind.SILENCE]
    return NOT_AN_ANSWER.get(decision.kind, decision.kind.value)


def load_test_file(path: Path, entry_ids: Iterable[str] | None = None) -> KbTestFile:
    """The cases of a test file, each checked: text, an `expect` the KB can produce (checked against `entry_ids`
    when given; `check_expectations` does it later). Errors name file and line."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=LineLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise KbTestFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("tests"), list):
        raise KbTestFileError(f"{path}: a test file is a mapping with a list under `tests`")
    at = document.get("at")
    cases: list[KbTestCase] = []
    for item in document["tests"]:
        line = item.get("__line__", 0) if isinstance(item, dict) else 0
        where = f"{path}:{line}"
        if not isinstance(item, dict):
            raise KbTestFileError(f"{where}: each test is a mapping with `expect` and `text` or `examples`")
        unknown = sorted(set(item) - {"__line__", "text", "examples", "expect", "lang"})
        if unknown:
            raise KbTestFileError(f"{where}: unknown field(s) {unknown}; allowed: examples, expect, lang, text")
        expect = item.get("expect")
        if not isinstance(expect, str) or not expect.strip():
            raise KbTestFileError(
                f"{where}: `expect` must be a published KB entry's id or one of {', '.join(OUTCOMES)}"
            )
        texts = [item["text"]] if "text" in item else item.get("examples")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise KbTestFileError(f"{where}: give the question as `text`, or a list of questions as `examples`")
        language = item.get("lang")
        if language is not None and not isinstance(language, str):
            raise KbTestFileError(f"{where}: `lang` must be a language code such as en")
        cases.extend(KbTestCase(text.strip(), expect, language, line) for text in texts)
    if not cases:
        raise KbTestFileError(f"{path}: no tests under `tests`")
    tests = KbTestFile(tuple(cases), path, at=str(at) if at is not None else None)
    if entry_ids is not None:
        check_expectations(tests, entry_ids)
    return tests


def check_expectations(tests: KbTestFile, entry_ids: Iterable[str]) -> None:
    """Every `expect` is a published entry of the KB that answers, or one of OUTCOMES; the first that is not
    is named with its line."""
    known = set(entry_ids) | set(OUTCOMES)
    for case in tests.cases:
        if case.expect not in known:
            raise KbTestFileError(
                f"{tests.path}:{case.line}: `expect` must be a published KB entry's id or one of "
                f"{', '.join(OUTCOMES)}, got {case.expect!r}"
            )


def score(
    cases: Sequence[KbTestCase],
    decisions: Sequence[Decision],
    version: str,
    baseline: dict[str, Any] | None = None,
) -> KbTestReport:
    """Results, per-language figures (by the language the file gives, else the one detected), the confusion
    table of misses, and the regressions against a baseline run's JSON."""
    results = [
        CaseResult(
            text=case.text,
            expect=case.expect,
            got=outcome(decision),
            language=case.language or decision.language or UNKNOWN_LANGUAGE,
            confidence=round(decision.confidence, 4),
            line=case.line,
        )
        for case, decision in zip(cases, decisions, strict=True)
    ]
    by_language: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        by_language[result.language].append(result)
    languages = [
        LanguageScore(
            language,
            len(group),
            sum(r.passed for r in group),
            sum(r.wrong_answer for r in group),
        )
        for language, group in sorted(by_language.items())
    ]
    misses = Counter((r.expect, r.got) for r in results if not r.passed)
    confusion = [(expect, got, count) for (expect, got), count in misses.most_common()]
    return KbTestReport(results, version, languages, confusion, _regressions(results, baseline))


def _regressions(results: Sequence[CaseResult], baseline: dict[str, Any] | None) -> list[CaseResult]:
    if baseline is None:
        return []
    try:
        passed_before = {(r["text"], r["expect"]) for r in baseline["results"] if r["passed"]}
    except (KeyError, TypeError) as error:
        raise KbTestFileError(f"the baseline is not a result file of `assistant test --out` ({error})") from error
    return [r for r in results if not r.passed and (r.text, r.expect) in passed_before]


def read_baseline(path: Path) -> dict[str, Any]:
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise KbTestFileError(f"{path}: the baseline is not JSON ({error})") from error
    if not isinstance(baseline, dict):
        raise KbTestFileError(f"{path}: the baseline is not a result file of `assistant test --out`")
    return baseline
