"""The architecture's rules that import-linter cannot state (its contracts live in pyproject.toml and run in the
test command): no import circles, nobody imports another module's private names, and the module size budget
(median at most 200 lines, none over 400 without a reason written in its docstring)."""

from __future__ import annotations

import ast
import statistics
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "webhooks")
BUDGET_LINES = 400
MEDIAN_LINES = 200
# A module longer than the budget says why in its docstring, in a sentence that starts with these words.
OVER_BUDGET_REASON = "Longer than 400 lines because"


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:  # Alembic revisions are frozen history, not code we shape
                yield path


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def test_no_module_is_part_of_an_import_circle(graph: grimp.ImportGraph) -> None:
    circles = [
        (importer, imported)
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if graph.chain_exists(importer=imported, imported=importer)
    ]
    assert circles == []


def private_imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield f"{module_name(path)} imports {node.module}.{alias.name}"


def test_no_module_imports_another_modules_private_names() -> None:
    assert [found for path in source_files() for found in private_imports(path)] == []


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_modules_keep_to_the_size_budget() -> None:
    sizes = {module_name(path): line_count(path) for path in source_files() if path.name != "__init__.py"}
    assert statistics.median(sizes.values()) <= MEDIAN_LINES
    unexplained = [
        f"{name}: {lines} lines"
        for name, lines in sorted(sizes.items())
        if lines > BUDGET_LINES and OVER_BUDGET_REASON not in (docstring(name) or "")
    ]
    assert unexplained == []


def docstring(name: str) -> str | None:
    path = ROOT.joinpath(*name.split("."))
    file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return ast.get_docstring(ast.parse(file.read_text(encoding="utf-8")))
