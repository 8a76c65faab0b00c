"""`assistant test TESTS.yml`: score the KB against the team's own labelled questions, print the figures by
language and the confusion of the misses, and exit non-zero on a failure (or, with a baseline, on a regression)
so a team can run it in its own CI."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assistant.cli.options import folder_options, settings_from

# Exit codes: 0 all good, 1 the KB failed the tests (as pytest), 2 the input was wrong (the `assistant` group).
TESTS_FAILED_EXIT = 1
SHOWN_MISSES = 30


@click.command("test")
@click.argument("tests_file", metavar="TESTS.yml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--at", "at", help="Decide as if at this ISO time (default: the file's `at`, else now).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write every result as JSON here.")
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A result file of an earlier run: fail only on questions that passed there and fail now.",
)
@click.option(
    "--min-accuracy",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Also fail when the share of questions passed is below this (0-1).",
)
@folder_options
def kb_test(
    tests_file: Path,
    at: str | None,
    out: Path | None,
    baseline: Path | None,
    min_accuracy: float | None,
    kb_dir: Path | None,
    data_dir: Path | None,
) -> None:
    """Score the KB against TESTS.yml: per question, the entry it must be answered with or `escalate`,
    `clarify`, `template`, `moderate`, `silence`."""
    from assistant.cli.engine import load_engine, parse_at
    from assistant.domain.messages import InboundMessage
    from assistant.evaluation.kb_tests import check_expectations, load_test_file, read_baseline, score

    settings = settings_from(kb_dir, data_dir)
    # The file, the clock and the baseline are checked before the model loads: a mistake fails at once.
    tests = load_test_file(tests_file)
    now = parse_at(at or tests.at, settings)
    previous = read_baseline(baseline) if baseline else None
    engine = load_engine(settings)
    check_expectations(tests, (entry.id for entry in engine.kb.published()))
    decisions = engine.decide_batch([InboundMessage(text=case.text) for case in tests.cases], None, now)
    report = score(tests.cases, decisions, f"KB version {engine.kb.version}", previous)
    if out is not None:
        out.write_text(report.to_json(), encoding="utf-8")

    click.echo(
        f"{tests_file}: {len(report.results)} questions, decided as at {now:%Y-%m-%d %H:%M %Z}, {report.version}"
    )
    click.echo(f"{'language':<10}{'questions':>10}{'passed':>8}{'accuracy':>10}{'wrong answers':>15}")
    for row in report.languages:
        click.echo(f"{row.language:<10}{row.cases:>10}{row.passed:>8}{row.accuracy:>10.1%}{row.wrong_answers:>15}")
    click.echo(
        f"{'all':<10}{len(report.results):>10}{report.passed:>8}{report.accuracy:>10.1%}{report.wrong_answers:>15}"
    )
    if report.confusion:
        click.echo("\nmisses (expected → got: count)")
        for expect, got, count in report.confusion:
            click.echo(f"  {expect} → {got}: {count}")
        click.echo("")
        misses = [result for result in report.results if not result.passed]
        for result in misses[:SHOWN_MISSES]:
            click.echo(f"  {tests_file}:{result.line}: {result.text!r}: expected {result.expect}, got {result.got}")
        if len(misses) > SHOWN_MISSES:
            click.echo(f"  … and {len(misses) - SHOWN_MISSES} more" + (f" (all in {out})" if out else ""))

    failed = False
    if baseline is not None:
        for result in report.regressions:
            click.secho(f"regression: {result.text!r} passed in {baseline}, now {result.got}", fg="red")
        failed = bool(report.regressions)
    elif report.passed < len(report.results):
        failed = True
    if min_accuracy is not None and report.accuracy < min_accuracy:
        click.secho(f"accuracy {report.accuracy:.1%} is below --min-accuracy {min_accuracy:.1%}", fg="red")
        failed = True
    if failed:
        sys.exit(TESTS_FAILED_EXIT)
