"""`assistant eval`: measure the engine on the evaluation data and write the report."""

from __future__ import annotations

from pathlib import Path

import click

from assistant.cli.options import folder_options, settings_from


@click.command("eval")
@click.option(
    "--data",
    "data_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("../shared/data"),
    show_default=True,
    help="Folder of the evaluation data sets.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("benchmarks/out"),
    show_default=True,
)
@click.option("--only", multiple=True, help="Run only these sections (repeatable).")
@click.option("--quick", is_flag=True, help="Smaller samples: a smoke run, not the reported numbers.")
@folder_options
def evaluate(
    data_root: Path, out_dir: Path, only: tuple[str, ...], quick: bool, kb_dir: Path | None, data_dir: Path | None
) -> None:
    """Measure the engine on ../shared/data and write a markdown report with a risk–coverage plot."""
    from assistant.evaluation.runner import run_evaluation

    settings = settings_from(kb_dir, data_dir)
    report = run_evaluation(settings, data_root, out_dir, sections=only or None, quick=quick)
    click.echo(f"report → {report}")
