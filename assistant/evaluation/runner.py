"""`assistant eval`: runs the evaluation sections and writes report.md, results.json and the risk–coverage
plot into the output folder; a run of some sections keeps the other sections' last results."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import assistant.evaluation.heldout as heldout
import assistant.evaluation.moderation as moderation
from assistant.evaluation import banking77, banking77_faq, covid, crosslingual, language, latency, leyzer, sentiment
from assistant.evaluation.common import EvalContext, SectionResult, SectionSkipped, console
from assistant.settings import Settings

SECTIONS: dict[str, tuple[str, Callable[[EvalContext], SectionResult]]] = {
    banking77.NAME: (banking77.TITLE, banking77.run),
    banking77_faq.NAME: (banking77_faq.TITLE, banking77_faq.run),
    covid.NAME: (covid.TITLE, covid.run),
    sentiment.NAME: (sentiment.TITLE, sentiment.run),
    language.NAME: (language.TITLE, language.run),
    leyzer.NAME: (leyzer.TITLE, leyzer.run),
    crosslingual.NAME: (crosslingual.TITLE, crosslingual.run),
    moderation.NAME: (moderation.TITLE, moderation.run),
    heldout.NAME: (heldout.TITLE, heldout.run),
    latency.NAME: (latency.TITLE, latency.run),
}
REPORT_FILE = "report.md"
RESULTS_FILE = "results.json"
RESULTS_FORMAT = 2


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN becomes null, numpy scalars become Python numbers, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _load_previous(path: Path) -> dict[str, Any]:
    """Earlier runs in this folder, by mode ("full", "quick"), so `--only` refreshes one section and a quick
    smoke run never overwrites the full results."""
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}
    runs = stored.get("runs") if stored.get("format") == RESULTS_FORMAT else None
    return runs if isinstance(runs, dict) else {}


def run_section(ctx: EvalContext, name: str) -> dict[str, Any]:
    title, function = SECTIONS[name]
    console.rule(f"[bold]{name}[/bold]: {title}")
    started = time.perf_counter()
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        result = function(ctx)
    except SectionSkipped as skipped:
        console.log(f"[yellow]{name} skipped: {skipped}[/yellow]")
        result = SectionResult(name, title, skipped=str(skipped))
    except Exception as error:
        console.print_exception()
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        result = SectionResult(name, title, skipped=f"FAILED: {detail}")
    result.seconds = time.perf_counter() - started
    console.log(f"{name}: {result.seconds:.1f} s")
    return {
        "title": result.title,
        "markdown": result.markdown,
        "data": _clean(result.data),
        "seconds": result.seconds,
        "skipped": result.skipped,
        "measured_at": measured_at,
        "command": ctx.command(name),
    }


def headline_rows(sections: dict[str, Any]) -> list[list[str]]:
    """The summary table: one line per headline number, each with the command that reproduces it."""
    rows: list[list[str]] = []

    def add(section: str, what: str, value: str, target: str) -> None:
        rows.append([what, value, target, f"`--only {section}`"])

    def data(name: str) -> dict[str, Any] | None:
        entry = sections.get(name)
        return entry["data"] if entry and not entry.get("skipped") else None

    def p(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    if d := data("banking77"):
        h = d["headline"]
        add(
            "banking77",
            f"BANKING77 accuracy, full data (best variant by validation: {h['full_variant']})",
            p(h["full_test"]),
            "≥ 93%",
        )
        add("banking77", "BANKING77 accuracy, full data, shipped LR", p(h["product_full_test"]), "—")
        add(
            "banking77",
            f"BANKING77 accuracy, 10-shot (best strict variant: {h['few_shot_variant']})",
            f"{p(h['few_shot_mean'])} ± {p(h['few_shot_std'])}",
            "≥ 85%",
        )
    if d := data("banking77_faq"):
        add(
            "banking77_faq",
            "BANKING77-as-FAQ: share answered at the calibrated threshold",
            p(d["answered_share"]),
            "≥ 75%",
        )
        add("banking77_faq", "BANKING77-as-FAQ: precision of answered", p(d["answered_precision"]), "≥ 97%")
        add(
            "banking77_faq",
            "BANKING77-as-FAQ: questions of 10 removed intents escalated",
            p(d["held_out"]["escalated"]),
            "high",
        )
    if d := data("covid"):
        add(
            "covid",
            "COVID FAQ retrieval MRR@10 / recall@1 (ours)",
            f"{d['ours']['mrr@10']:.3f} / {p(d['ours']['recall@1'])}",
            "—",
        )
        add(
            "covid",
            "COVID FAQ retrieval MRR@10 / recall@1 (BM25)",
            f"{d['bm25']['mrr@10']:.3f} / {p(d['bm25']['recall@1'])}",
            "—",
        )
    if d := data("sentiment"):
        for row in d["sets"]:
            if row["key"] in ("umsab_en", "umsab_fr"):
                add(
                    "sentiment",
                    f"sentiment macro-F1, shipped model, {row['title']}",
                    f"{row['shipped']['macro_f1']:.3f}",
                    "≥ 0.65",
                )
    if d := data("language"):
        add("language", "language id accuracy, all sources", p(d["overall"]), "≥ 97%")
    if d := data("leyzer"):
        for row in d["rows"][:2]:
            add("leyzer", f"Leyzer intent accuracy, {row['setting']}", p(row["accuracy"]), "—")
    if d := data("latency"):
        add(
            "latency",
            "`engine.decide` p50 / p99",
            f"{d['decide_ms']['p50']:.1f} / {d['decide_ms']['p99']:.1f} ms",
            "≤ 30 / ≤ 150 ms",
        )
        add(
            "latency",
            f"`engine.decide_batch` throughput (batches of {d['batch_size']})",
            f"{d['throughput_msgs_per_s']:.0f} msg/s",
            "≥ 200 msg/s",
        )
    return rows


def render(meta: dict[str, Any], sections: dict[str, Any], base_command: str) -> str:
    lines = [f"# community-assistant evaluation report{' — QUICK' if meta['quick'] else ''}", ""]
    if meta["quick"]:
        lines += ["> **QUICK — not the reported numbers.** Small random subsets for a smoke test.", ""]
    m = meta["machine"]
    lines += [
        f"- Date: {meta['generated_at']} (each section below says when it was measured)",
        f"- Machine: `{m['platform']}`, {m['cpu_count']} CPUs ({m['processor']}), Python {m['python']}, "
        f"load average at start {m['load_average_at_start']}",
        f"- Embedding model: `{meta['model']}`",
        f"- Command (all sections): `{base_command}`; one section: add `--only <section>`",
        f"- This invocation ran {', '.join(meta['ran']) or 'nothing'} in {meta['seconds']:.0f} s; the sections "
        f"below took {sum(e['seconds'] for e in sections.values()):.0f} s in all when measured",
        "",
        "## Summary",
        "",
    ]
    rows = headline_rows(sections)
    if rows:
        lines += ["| measure | value | target | reproduce: base command + |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        lines.append("No section has results yet.")
    for name, (title, _) in SECTIONS.items():
        entry = sections.get(name)
        lines += ["", f"## {name}: {title}", ""]
        if entry is None:
            lines.append("Not run yet.")
            continue
        lines.append(
            f"*Reproduce:* `{entry['command']}` — measured {entry['measured_at']}, took {entry['seconds']:.0f} s."
        )
        lines.append("")
        if entry.get("skipped"):
            lines.append(f"**Skipped:** {entry['skipped']}")
            continue
        lines += entry["markdown"]
    return "\n".join(lines) + "\n"


def run_evaluation(
    settings: Settings | None, data_root: Path, out_dir: Path, sections: tuple[str, ...] | None, quick: bool
) -> Path:
    """Run the named sections (all when None), merge with this folder's earlier results, write the report."""
    chosen = list(sections) if sections else list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    if not data_root.is_dir():
        raise FileNotFoundError(f"evaluation data folder {data_root} not found (use --data)")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ctx = EvalContext(
        settings=settings,
        data_root=data_root,
        out_dir=out_dir,
        quick=quick,
        seed=settings.models.random_seed if settings is not None else 13,
    )
    meta_machine = machine()
    results_path = out_dir / RESULTS_FILE
    mode = "quick" if quick else "full"
    runs = _load_previous(results_path)
    merged: dict[str, Any] = dict(runs.get(mode, {}).get("sections", {}))
    for name in [n for n in SECTIONS if n in chosen]:
        merged[name] = run_section(ctx, name)
    from assistant.nlu.embeddings import MODEL_NAME

    meta = {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": meta_machine,
        "model": MODEL_NAME,
        "quick": quick,
        "ran": [n for n in SECTIONS if n in chosen],
        "seconds": time.perf_counter() - started,
        "argv": sys.argv,
    }
    runs[mode] = {"meta": _clean(meta), "sections": {n: merged[n] for n in SECTIONS if n in merged}}
    results_path.write_text(
        json.dumps(
            {"format": RESULTS_FORMAT, "runs": runs},
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    base = ctx.command("x").rsplit(" --only x", 1)[0] + (" --quick" if quick else "")
    faq = merged.get(banking77_faq.NAME)
    if faq and not faq.get("skipped") and faq["data"].get("plot"):
        banking77_faq.write_plot(out_dir / banking77_faq.PLOT_FILE, faq["data"]["plot"])
    report = out_dir / REPORT_FILE
    report.write_text(render(meta, merged, base), encoding="utf-8")
    console.log(f"evaluation finished in {meta['seconds']:.0f} s")
    return report
