"""The `--kb-dir` / `--data-dir` options every folder-using command of `assistant` takes, and the settings from them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from assistant.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def folder_options(command: F) -> F:
    command = click.option("--data-dir", type=click.Path(path_type=Path), help="Where indexes and models live.")(
        command
    )
    command = click.option("--kb-dir", type=click.Path(path_type=Path), help="The knowledge base folder.")(command)
    return command


def settings_from(kb_dir: Path | None, data_dir: Path | None) -> Settings:
    return load_settings(kb_dir=kb_dir, data_dir=data_dir)
