"""BANKING77 as an FAQ (one KB entry per intent, imported with `assistant kb import`): how many test
questions the calibrated model answers at ≥97% precision, and how often unknown intents are escalated."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.readings import FAQ_PREFIX
from assistant.evaluation.banking77_data import Banking77, load_banking77
from assistant.evaluation.common import EvalContext, SectionResult, console, pct, saved_figure, table, target_mark
from assistant.knowledge.entry_ids import derive_entry_id
from assistant.knowledge.kb_import import import_file
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.nlu.calibration import choose_threshold, risk_coverage
from assistant.nlu.intent_model import LOGISTIC, NEIGHBOURS, IntentModel, training_examples

NAME = "banking77_faq"
TITLE = "BANKING77 as an FAQ: calibrated auto-answering"
TARGET_PRECISION = 0.97
TARGET_ANSWERED = 0.75
HELD_OUT_INTENTS = 10
HOLDOUT_SHARE = 0.2  # the shipped default (settings.models.holdout_share)
# Smaller shares of intents held out during calibration: does the threshold get less conservative?
SENSITIVITY_SHARES = (0.05, 0.1)
PLOT_FILE = "risk_coverage.png"


def entry_id_of(category: str) -> str:
    # The importer's own derivation: the CSV carries the categories as written ("Refund_not_showing_up",
    # "reverted_card_payment?"), as a team's spreadsheet would, and `kb import` makes the ids.
    return derive_entry_id(category).entry_id


def build_kb(texts: list[str], categories: list[str], kb_dir: Path) -> KnowledgeBase:
    """Write the rows as an import CSV and run the product's importer on it, as an editor would."""
    source = kb_dir.parent / "banking77-import.csv"
    answered: set[str] = set()
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["entry_id", "question", "answer", "lang"])
        writer.writeheader()
        for text, category in zip(texts, categories, strict=True):
            # One answer per entry is enough; the importer refuses a new entry without any answer.
            answer = "" if category in answered else f"Here is how {category.replace('_', ' ')} works at our bank."
            answered.add(category)
            writer.writerow({"entry_id": category, "question": text, "answer": answer, "lang": "en"})
    import_file(source, kb_dir, target_file="banking77.yml", status="published")
    return load_knowledge_base(kb_dir)


def train(
    ctx: EvalContext,
    kb: KnowledgeBase,
    text_vectors: dict[str, np.ndarray],
    holdout_share: float = HOLDOUT_SHARE,
    matcher: str = LOGISTIC,
) -> tuple[IntentModel, np.ndarray, np.ndarray]:
    """The product's training path on precomputed vectors (the texts were encoded once, up front)."""
    texts, labels, _ = training_examples(kb, [])
    # The KB loader strips whitespace, so a phrasing may differ from its CSV row; encode any such stragglers.
    missing = sorted({t for t in texts if t not in text_vectors})
    if missing:
        text_vectors.update(zip(missing, ctx.embed(missing, "banking77-kb-extra"), strict=True))
    vectors = np.stack([text_vectors[t] for t in texts])
    model, oof = IntentModel.train_on_vectors(
        vectors,
        labels,
        ctx.encoder.name,
        kb.version,
        TARGET_PRECISION,
        holdout_share=holdout_share,
        seed=ctx.seed,
        matcher=matcher,
    )
    # The calibration data itself (confidence of out-of-fold predictions), for the plot.
    return model, model.calibrator.confidence(oof.features), oof.correct


def score(model: IntentModel, vectors: np.ndarray, categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = model.predict(vectors)
    confidence = np.array([p.confidence for p in predictions])
    correct = np.array([p.label == FAQ_PREFIX + entry_id_of(c) for p, c in zip(predictions, categories, strict=True)])
    return confidence, correct


def curve(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> dict[str, Any]:
    """A risk–coverage curve and the operating point of `threshold`, as plain lists for results.json."""
    coverage, risk = risk_coverage(confidence, correct, points=400)
    mask = confidence >= threshold
    point = [float(mask.mean()), 1.0 - float(correct[mask].mean())] if mask.any() else None
    return {"coverage": coverage.tolist(), "risk": risk.tolist(), "rows": len(correct), "point": point}


def write_plot(path: Path, plot: dict[str, Any]) -> None:
    """The risk–coverage PNG, drawn from the stored curves so the picture always matches results.json."""
    with saved_figure(path) as (_, ax):
        styles = {"test": ("BANKING77 test", "tab:blue"), "oof": ("out-of-fold (calibration data)", "tab:orange")}
        highest = 0.0
        for key, (label, colour) in styles.items():
            c = plot.get(key)
            if not c:
                continue
            ax.plot(c["coverage"], c["risk"], color=colour, label=f"{label}, {c['rows']:,} questions")
            highest = max(highest, max(c["risk"]))
            if c["point"]:
                ax.scatter(
                    [c["point"][0]],
                    [c["point"][1]],
                    color=colour,
                    edgecolor="black",
                    zorder=3,
                    label=f"threshold {plot['threshold']:.3f} on {label.split(' (')[0]}: {pct(c['point'][0])} "
                    f"answered, risk {pct(c['point'][1])}",
                )
        target = float(plot["target_precision"])
        ax.axhline(1 - target, color="grey", linestyle="--", linewidth=0.8, label=f"target risk {pct(1 - target, 0)}")
        ax.set_xlabel("coverage (share of questions answered automatically)")
        ax.set_ylabel("risk (1 − precision of answered)")
        ax.set_title(f"Risk–coverage: BANKING77 as an FAQ ({plot['model']}, calibrated confidence)", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, min(1.0, max(0.12, highest * 1.05)))


def run(ctx: EvalContext) -> SectionResult:
    result = SectionResult(NAME, TITLE)
    data: Banking77 = load_banking77(ctx)
    text_vectors = dict(zip(data.train_texts, data.train_vectors, strict=True))
    categories = data.train_labels.tolist()
    with tempfile.TemporaryDirectory(prefix="b77-kb-") as tmp:
        console.log("banking77_faq: importing the KB and training the calibrated model")
        kb = build_kb(data.train_texts, categories, Path(tmp) / "kb")
        entries = len(kb.published())
        phrasings = sum(len(q) for e in kb.published() for q in e.questions.values())
        model, oof_confidence, oof_correct = train(ctx, kb, text_vectors)
        confidence, correct = score(model, data.test_vectors, data.test_labels)
        answered = confidence >= model.threshold
        share = float(answered.mean())
        precision = float(correct[answered].mean()) if answered.any() else float("nan")

        # Held-out check: the KB without 10 whole intents; their test questions must be escalated.
        rng = np.random.default_rng(ctx.seed)
        classes = sorted(set(categories))
        removed = sorted(rng.choice(classes, size=min(HELD_OUT_INTENTS, len(classes) // 2), replace=False).tolist())
        console.log(f"banking77_faq: retraining without {len(removed)} intents")
        reduced = KnowledgeBase([e for e in kb.entries if e.id not in {entry_id_of(c) for c in removed}], root=kb.root)
        model_reduced, _, _ = train(ctx, reduced, text_vectors)
        unseen = np.isin(data.test_labels, removed)
        conf_r, correct_r = score(model_reduced, data.test_vectors, data.test_labels)
        escalated = float((conf_r[unseen] < model_reduced.threshold).mean())
        seen_answered = conf_r[~unseen] >= model_reduced.threshold
        seen_share = float(seen_answered.mean())
        seen_precision = float(correct_r[~unseen][seen_answered].mean()) if seen_answered.any() else float("nan")

        sensitivity: list[dict[str, Any]] = []
        for share_held in [] if ctx.quick else SENSITIVITY_SHARES:
            console.log(f"banking77_faq: calibration with {pct(share_held, 0)} of intents held out per fold")
            alt, _, _ = train(ctx, kb, text_vectors, share_held)
            alt_conf, alt_correct = score(alt, data.test_vectors, data.test_labels)
            alt_reduced, _, _ = train(ctx, reduced, text_vectors, share_held)
            alt_conf_r, _ = score(alt_reduced, data.test_vectors, data.test_labels)
            alt_answered = alt_conf >= alt.threshold
            sensitivity.append(
                {
                    "holdout_share": share_held,
                    "threshold": alt.threshold,
                    "answered_share": float(alt_answered.mean()),
                    "answered_precision": float(alt_correct[alt_answered].mean()) if alt_answered.any() else None,
                    "held_out_escalated": float((alt_conf_r[unseen] < alt_reduced.threshold).mean()),
                }
            )

        # The large-KB matcher on the same KB: what nearest-neighbour voting costs against logistic regression.
        console.log("banking77_faq: the neighbours matcher (auto picks it from 500 classes on)")
        knn, _, _ = train(ctx, kb, text_vectors, matcher=NEIGHBOURS)
        knn_conf, knn_correct = score(knn, data.test_vectors, data.test_labels)
        knn_reduced, _, _ = train(ctx, reduced, text_vectors, matcher=NEIGHBOURS)
        knn_conf_r, _ = score(knn_reduced, data.test_vectors, data.test_labels)
        knn_answered = knn_conf >= knn.threshold
        neighbours: dict[str, Any] = {
            "threshold": knn.threshold,
            "top1_accuracy": float(knn_correct.mean()),
            "answered_share": float(knn_answered.mean()),
            "answered_precision": float(knn_correct[knn_answered].mean()) if knn_answered.any() else None,
            "held_out_escalated": float((knn_conf_r[unseen] < knn_reduced.threshold).mean()),
        }

    oracle = choose_threshold(confidence, correct, TARGET_PRECISION)
    report = model.report
    plot = {
        "model": report.model,
        "threshold": model.threshold,
        "target_precision": TARGET_PRECISION,
        "test": curve(confidence, correct, model.threshold),
        "oof": curve(oof_confidence, oof_correct, model.threshold),
    }
    result.data = {
        "kb_entries": entries,
        "kb_phrasings": phrasings,
        "test_rows": len(data.test_labels),
        "target_precision": TARGET_PRECISION,
        "threshold": model.threshold,
        "answered_share": share,
        "answered_precision": precision,
        "answered": int(answered.sum()),
        "top1_accuracy": float(correct.mean()),
        "oof": {
            "precision": report.oof_precision,
            "coverage": report.oof_coverage,
            "held_out_escalated": report.held_out_escalated,
            "in_scope_accuracy": report.in_scope_accuracy,
        },
        "held_out": {
            "intents": removed,
            "test_questions": int(unseen.sum()),
            "escalated": escalated,
            "threshold": model_reduced.threshold,
            "seen_answered_share": seen_share,
            "seen_answered_precision": seen_precision,
        },
        "oracle_on_test": {"threshold": oracle.threshold, "coverage": oracle.coverage, "precision": oracle.precision},
        "holdout_share": HOLDOUT_SHARE,
        "sensitivity": sensitivity,
        "neighbours_matcher": neighbours,
        "plot": plot,
        "plot_file": PLOT_FILE,
    }
    md = result.markdown
    md.append(
        f"A KB of {entries} entries / {phrasings:,} English phrasings imported from BANKING77 train with "
        f"`assistant.knowledge.kb_import.import_file`; `IntentModel.train_on_vectors` calibrates the answer "
        f"threshold on "
        f"out-of-fold predictions (5 folds, {pct(HOLDOUT_SHARE, 0)} of intents held out per fold) for target precision "
        f"{pct(TARGET_PRECISION, 0)}. Scored on the {len(data.test_labels):,} test questions."
    )
    md.append("")
    md += table(
        ["measure", "value", "target"],
        [
            ["calibrated threshold (confidence)", f"{model.threshold:.3f}", "—"],
            [
                "share of test questions answered",
                pct(share),
                f"≥ {pct(TARGET_ANSWERED, 0)} ({target_mark(share, TARGET_ANSWERED)})",
            ],
            [
                "precision of answered",
                pct(precision),
                f"≥ {pct(TARGET_PRECISION, 0)} ({target_mark(precision, TARGET_PRECISION)})",
            ],
            ["top-1 accuracy (all test questions)", pct(float(correct.mean())), "—"],
            [
                "out-of-fold precision / coverage at the threshold",
                f"{pct(report.oof_precision)} / {pct(report.oof_coverage)}",
                "—",
            ],
            [
                f"held-out check: test questions of {len(removed)} intents removed from the KB "
                f"({int(unseen.sum())} questions) that are escalated",
                pct(escalated),
                "high",
            ],
            [
                "held-out check: remaining intents answered / precision",
                f"{pct(seen_share)} / {pct(seen_precision)}",
                "—",
            ],
            [
                f"reference only — threshold chosen on test itself (oracle): coverage at ≥ {pct(TARGET_PRECISION, 0)}",
                f"{pct(oracle.coverage)} (threshold {oracle.threshold:.3f})",
                "not a result",
            ],
        ],
    )
    if sensitivity:
        md.append("")
        md.append(
            "Sensitivity of the calibration to the share of intents held out per fold (the shipped default is "
            f"{pct(HOLDOUT_SHARE, 0)}; fewer held-out intents make the out-of-fold data look less out-of-scope):"
        )
        md.append("")
        md += table(
            [
                "intents held out per fold",
                "threshold",
                "answered",
                "precision of answered",
                "removed intents escalated",
            ],
            [
                [
                    f"{pct(HOLDOUT_SHARE, 0)} (shipped)",
                    f"{model.threshold:.3f}",
                    pct(share),
                    pct(precision),
                    pct(escalated),
                ]
            ]
            + [
                [
                    pct(r["holdout_share"], 0),
                    f"{r['threshold']:.3f}",
                    pct(r["answered_share"]),
                    pct(r["answered_precision"]) if r["answered_precision"] is not None else "—",
                    pct(r["held_out_escalated"]),
                ]
                for r in sensitivity
            ],
        )
    md.append("")
    md.append(
        "The two matchers (`models.matcher`; `auto` uses logistic regression below 500 classes, neighbours from "
        "there on, where retraining logistic regression on every publish would take minutes):"
    )
    md.append("")
    knn_precision = neighbours["answered_precision"]
    md += table(
        ["matcher", "top-1 accuracy", "threshold", "answered", "precision of answered", "removed intents escalated"],
        [
            [
                "logistic regression (this KB)",
                pct(float(correct.mean())),
                f"{model.threshold:.3f}",
                pct(share),
                pct(precision),
                pct(escalated),
            ],
            [
                "neighbours (10 nearest phrasings, soft votes)",
                pct(neighbours["top1_accuracy"]),
                f"{neighbours['threshold']:.3f}",
                pct(neighbours["answered_share"]),
                pct(knn_precision) if knn_precision is not None else "—",
                pct(neighbours["held_out_escalated"]),
            ],
        ],
    )
    md.append("")
    md.append(f"Removed intents (seed {ctx.seed}): {', '.join(removed)}.")
    md.append("")
    md.append(f"![risk–coverage]({PLOT_FILE})")
    return result
