"""Held-out intents on BANKING77 and HWU64: a quarter of the intents kept out of the KB entirely, so their test
questions are out-of-scope traffic close to real entries; KBs of 3, 5, 10, 20 and all phrasings per entry trained
with the product's path; precision of KB answers, in-scope coverage and out-of-scope escalation at 50% out-of-scope
traffic and at the test sets' own share, next to what the training report promised, with a curve over the share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assistant.evaluation.common import EvalContext, SectionResult, console, pct, saved_figure, table, target_mark
from assistant.evaluation.heldout_setting import (
    CURVE_SHARES,
    HELD_OUT_SHARE,
    OOS_SHARE,
    held_out_intents,
    load_dataset,
    run_setting,
)
from assistant.settings import ModelConfig, PolicyConfig

NAME = "heldout"
TITLE = "Held-out intents: precision, coverage and out-of-scope escalation, full and small KBs"
DATASETS = {"banking77": "BANKING77", "hwu64": "HWU64"}
SHOTS: tuple[int | None, ...] = (3, 5, 10, 20, None)
QUICK_SHOTS: tuple[int | None, ...] = (3, 10, None)
SEEDS = (0, 1, 2)  # k-shot samples; the full KB is one run
# Other draws of the held-out intents (ctx.seed + each), full KB only: how much the figures depend on which intents
# the KB lacks.
EXTRA_DRAWS = (1, 2)
TARGET_COVERAGE: dict[int | None, float] = {None: 0.80, 10: 0.60, 3: 0.40}
TARGET_OOS_ESCALATED = 0.90
# The figures averaged over seeds (mean and min), by path into a run_setting result.
SUMMARY_KEYS = {
    "precision": ("at_target_share", "precision"),
    "coverage": ("at_target_share", "coverage"),
    "oos_escalated": ("at_target_share", "oos_escalated"),
    "answered_share": ("at_target_share", "answered_share"),
    "natural_precision": ("natural", "precision"),
    "natural_answered_share": ("natural", "answered_share"),
    "top1_in_scope": ("top1_in_scope",),
    "threshold": ("threshold",),
    "oof_precision": ("estimate", "oof_precision"),
    "oof_coverage": ("estimate", "oof_coverage"),
    "oof_held_out_escalated": ("estimate", "held_out_escalated"),
    "oos_below_similarity": ("oos_below_similarity",),
}


def shots_label(shots: int | None) -> str:
    return "full" if shots is None else str(shots)


def plot_file(dataset: str, quick: bool) -> str:
    return f"heldout_{dataset}{'-quick' if quick else ''}.png"


def _get(run: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = run
    for key in path:
        value = value[key]
    return float(value)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and min over seeds; a precision is undefined (NaN) where nothing was answered and is left out."""
    mean: dict[str, float] = {}
    low: dict[str, float] = {}
    for key, path in SUMMARY_KEYS.items():
        values = np.array([_get(r, path) for r in runs], dtype=float)
        finite = values[np.isfinite(values)]
        mean[key] = float(finite.mean()) if len(finite) else float("nan")
        low[key] = float(finite.min()) if len(finite) else float("nan")
    curve = []
    for i, share in enumerate(CURVE_SHARES):
        precision = np.array([r["curve"][i]["precision"] for r in runs], dtype=float)
        curve.append(
            {
                "oos_share": share,
                "precision": float(np.nanmean(precision)) if np.isfinite(precision).any() else float("nan"),
                "answered_share": float(np.mean([r["curve"][i]["answered_share"] for r in runs])),
                "coverage": float(np.mean([r["curve"][i]["coverage"] for r in runs])),
            }
        )
    return {"mean": mean, "min": low, "curve": curve}


def _p(value: float) -> str:
    return "—" if not np.isfinite(value) else pct(value)


def _with_min(s: dict[str, Any], key: str, seeds: int) -> str:
    return _p(s["mean"][key]) + (f" (min {_p(s['min'][key])})" if seeds > 1 else "")


def _mark(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f" {target_mark(value, target)}"


def _silent(runs: list[dict[str, Any]]) -> str:
    """Seeds whose KB answered nothing have no precision; the mean is over the others, and says so."""
    silent = sum(r["at_target_share"]["answered_share"] == 0 for r in runs)
    return f" ({silent} of {len(runs)} KBs answered nothing)" if silent else ""


def dataset_table(settings: list[dict[str, Any]], target: float) -> list[str]:
    rows = []
    for st in settings:
        s, seeds = st["summary"], len(st["runs"])
        m = s["mean"]
        rows.append(
            [
                st["label"],
                f"{st['runs'][0]['entries']} / {st['runs'][0]['phrasings']:,}",
                f"{m['threshold']:.3f}",
                f"{_p(m['oof_precision'])} / {_p(m['oof_coverage'])} / {_p(m['oof_held_out_escalated'])}",
                _with_min(s, "precision", seeds) + _mark(m["precision"], target) + _silent(st["runs"])
                if np.isfinite(m["precision"])
                else "— (nothing answered)",
                _p(m["natural_precision"]),
                _with_min(s, "coverage", seeds) + _mark(m["coverage"], TARGET_COVERAGE.get(st["shots"])),
                _with_min(s, "oos_escalated", seeds) + _mark(m["oos_escalated"], TARGET_OOS_ESCALATED),
                _p(m["top1_in_scope"]),
            ]
        )
    header = [
        "phrasings per entry",
        "KB entries / phrasings",
        "threshold",
        "training report: precision / answered / held-out escalated (out of fold)",
        f"precision of KB answers, {pct(OOS_SHARE, 0)} OOS (≥ {pct(target, 0)})",
        "precision, test set's own OOS share",
        "in-scope coverage (≥ 80% full, 60% at 10, 40% at 3)",
        f"OOS escalated (≥ {pct(TARGET_OOS_ESCALATED, 0)})",
        "top-1 in scope",
    ]
    return table(header, rows)


def curve_table(results: dict[str, Any]) -> list[str]:
    """Precision / share of traffic answered against the OOS share, for the full KB and 10 phrasings."""
    columns: list[tuple[str, list[dict[str, Any]]]] = []
    for dataset, title in DATASETS.items():
        for st in results.get(dataset, {}).get("settings", []):
            if st["shots"] in (None, 10):
                columns.append((f"{title} {st['label']}", st["summary"]["curve"]))
    rows = [
        [pct(share, 0)] + [f"{_p(c[i]['precision'])} / {_p(c[i]['answered_share'])}" for _, c in columns]
        for i, share in enumerate(CURVE_SHARES)
    ]
    return table(["OOS share of traffic", *[f"{name}: precision / answered" for name, _ in columns]], rows)


def write_plot(path: Path, title: str, settings: list[dict[str, Any]], target: float) -> None:
    """Risk–coverage at 50% out-of-scope traffic, one curve per KB size (its first seed), threshold marked."""
    with saved_figure(path) as (plt, ax):
        colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(settings)))
        for st, colour in zip(settings, colours, strict=True):
            run = st["runs"][0]
            label = f"{st['label']} phrasings" if st["shots"] is not None else "all phrasings"
            ax.plot(run["risk_coverage"]["coverage"], run["risk_coverage"]["risk"], color=colour, label=label)
            if run["operating_point"] is not None:  # None: this KB answered nothing
                x, y = run["operating_point"]
                ax.scatter([x], [y], color=colour, edgecolor="black", zorder=3)
        ax.axhline(1 - target, color="grey", linestyle="--", linewidth=0.8, label=f"target risk {pct(1 - target, 0)}")
        ax.axvline(1 - OOS_SHARE, color="grey", linestyle=":", linewidth=0.8, label="all in-scope questions")
        ax.set_xlabel(f"share of traffic answered ({pct(OOS_SHARE, 0)} out of scope)")
        ax.set_ylabel("risk (1 − precision of KB answers)")
        held = pct(HELD_OUT_SHARE, 0)
        ax.set_title(f"Risk–coverage, {title}, {held} of intents held out (dots: threshold)", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 0.6)


def run(ctx: EvalContext) -> SectionResult:
    result = SectionResult(NAME, TITLE)
    models = ctx.settings.models if ctx.settings is not None else ModelConfig()
    policy = ctx.settings.policy if ctx.settings is not None else PolicyConfig()
    target = policy.target_precision
    shots_list, seeds = (QUICK_SHOTS, SEEDS[:1]) if ctx.quick else (SHOTS, SEEDS)
    results: dict[str, Any] = {}
    for dataset in DATASETS:
        data = load_dataset(ctx, dataset)
        held = held_out_intents(data, ctx.seed)
        settings: list[dict[str, Any]] = []
        for shots in shots_list:
            console.log(f"heldout: {dataset}, {shots_label(shots)} phrasings per entry")
            runs = [run_setting(ctx, data, held, shots, seed) for seed in (seeds if shots is not None else (0,))]
            settings.append({"shots": shots, "label": shots_label(shots), "runs": runs, "summary": summarise(runs)})
        full = next(st["runs"][0] for st in settings if st["shots"] is None)
        draws = [{"seed": ctx.seed, **_draw_figures(full)}]
        for offset in () if ctx.quick else EXTRA_DRAWS:
            console.log(f"heldout: {dataset}, full KB, held-out draw seed {ctx.seed + offset}")
            other = run_setting(ctx, data, held_out_intents(data, ctx.seed + offset), None, 0)
            draws.append({"seed": ctx.seed + offset, **_draw_figures(other)})
        results[dataset] = {
            "draws": draws,
            "held_out": held,
            "intents": len(set(data.train_labels.tolist())),
            "test_in_scope": settings[0]["runs"][0]["in_scope_questions"],
            "test_oos": settings[0]["runs"][0]["oos_questions"],
            "settings": settings,
            "plot_file": plot_file(dataset, ctx.quick),
        }
        write_plot(ctx.out_dir / plot_file(dataset, ctx.quick), DATASETS[dataset], settings, target)
    result.data = {
        "target_precision": target,
        "calibrated_oos_share": policy.out_of_scope_share,
        "holdout_share": models.holdout_share,
        "held_out_share": HELD_OUT_SHARE,
        "oos_share": OOS_SHARE,
        "seeds": list(seeds),
        "datasets": results,
    }
    md = result.markdown
    md.append(
        f"Per data set, {pct(HELD_OUT_SHARE, 0)} of the intents are held out of the KB entirely (seed {ctx.seed}; "
        "HWU64: never a scenario's last intent, so held-out questions sit next to real entries). The KB is the other "
        "intents, one entry each, with 3, 5, 10, 20 or all of their train phrasings (k-shot: mean over sample seeds "
        f"{list(seeds)}, min in brackets), trained with `IntentModel.train_on_vectors` as `train_engine` calls it "
        f"(target precision {pct(target, 0)}, calibrated for {pct(policy.out_of_scope_share, 0)} out-of-scope "
        f"traffic, {pct(models.holdout_share, 0)} of intents held out per calibration fold, matcher `auto`). "
        "Test traffic: the test questions of kept intents (in scope) and of held-out intents "
        f"(out of scope), reweighted so out of scope is {pct(OOS_SHARE, 0)} of it. A KB answer is what `Policy.decide` "
        "answers: best match an entry, confidence ≥ threshold; an out-of-scope question answered is a wrong answer. "
        "Coverage = in-scope questions answered with their own entry. The training report's own out-of-fold "
        "estimate stands next to the measured figures: the gap is the miscalibration."
    )
    for dataset, title in DATASETS.items():
        r = results[dataset]
        md += ["", f"**{title}**: {r['intents']} intents, {len(r['held_out'])} held out; test traffic "]
        md[-1] += f"{r['test_in_scope']:,} in scope + {r['test_oos']:,} out of scope (own OOS share "
        md[-1] += f"{pct(r['test_oos'] / (r['test_in_scope'] + r['test_oos']))})."
        md += ["", *dataset_table(r["settings"], target)]
        md += ["", f"Held out: {', '.join(r['held_out'])}.", "", f"![risk–coverage {title}]({r['plot_file']})"]
        if len(r["draws"]) > 1:
            md += ["", f"{title}, full KB, other draws of the held-out intents (same share held out):", ""]
            md += draws_table(r["draws"])
    md += [
        "",
        "Precision / share of all traffic answered against the out-of-scope share of traffic (same models, "
        "reweighted; in-scope coverage and OOS escalation do not depend on the share at a fixed threshold; "
        "precision is the mean over the KBs that answered anything):",
        "",
    ]
    md += curve_table(results)
    return result


def _draw_figures(run: dict[str, Any]) -> dict[str, float]:
    return {
        "threshold": _get(run, ("threshold",)),
        "precision": _get(run, ("at_target_share", "precision")),
        "natural_precision": _get(run, ("natural", "precision")),
        "coverage": _get(run, ("at_target_share", "coverage")),
        "oos_escalated": _get(run, ("at_target_share", "oos_escalated")),
    }


def draws_table(draws: list[dict[str, float]]) -> list[str]:
    rows = [
        [
            str(int(d["seed"])),
            f"{d['threshold']:.3f}",
            _p(d["precision"]),
            _p(d["natural_precision"]),
            _p(d["coverage"]),
            _p(d["oos_escalated"]),
        ]
        for d in draws
    ]
    header = [
        "held-out draw (seed)",
        "threshold",
        f"precision, {pct(OOS_SHARE, 0)} OOS",
        "precision, own OOS share",
        "in-scope coverage",
        "OOS escalated",
    ]
    return table(header, rows)
