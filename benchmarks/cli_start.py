"""How quick the command line is, as a user meets it: wall time from the shell prompt to the exit of
`assistant kb check` and `assistant kb export` (no model), of a cold `assistant ask` (the model loads), and the
time `assistant shell` takes per turn once it has started (its own figure, printed after each decision).

Run: .venv/bin/python benchmarks/cli_start.py [--runs 5]   (after `assistant ready-or-train`)
Targets (issue 13): kb check ≤ 2 s, ask ≤ 5 s from a cold start, shell ≤ 100 ms a turn.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSISTANT = str(Path(sys.executable).with_name("assistant"))
SHELL_LINES = [
    "How long does delivery take?",
    "Où est ma commande ?",
    "Как вернуть товар?",
    "hmm what",
    "qwerty uiop",
    "/new",
    "Czy mogę zapłacić PayPalem?",
    "I want to talk to a person",
    "/new",
    "thanks a lot!",
    "Wie lange dauert der Versand?",
    "¿Puedo cambiar mi pedido?",
]
TURN_MS = re.compile(r"· (\d+) ms\]")


def wall_seconds(arguments: list[str], runs: int, stdin: str | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([ASSISTANT, *arguments], cwd=ROOT, input=stdin, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def summary(values: list[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
    return {
        "median": round(statistics.median(values) * scale, digits),
        "max": round(max(values) * scale, digits),
        "runs": len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "cli_start.json")
    args = parser.parse_args()
    subprocess.run([ASSISTANT, "ready-or-train"], cwd=ROOT, check=True, capture_output=True)
    results: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
    }
    results["kb_check_s"] = summary(wall_seconds(["kb", "check"], args.runs))
    with tempfile.TemporaryDirectory() as out:
        results["kb_export_s"] = summary(wall_seconds(["kb", "export", out], args.runs))
    results["ask_cold_s"] = summary(wall_seconds(["ask", "How long does delivery take?"], args.runs))
    shell = subprocess.run(
        [ASSISTANT, "shell", "--at", "2026-11-28T21:30"],
        cwd=ROOT,
        input="\n".join(SHELL_LINES) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    turns = [float(ms) for ms in TURN_MS.findall(shell.stdout)]
    results["shell_turn_ms"] = summary(turns, digits=1)
    print(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
