"""Data files shipped with the package: reply templates and the examples the signal classifiers learn from."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml


def resource_path(name: str) -> Path:
    return Path(str(files("assistant.resources").joinpath(name)))


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise ValueError(f"{path}:{mark.line + 1 if mark else '?'}: invalid YAML: {error.problem}") from error
