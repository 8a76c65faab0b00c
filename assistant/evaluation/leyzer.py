"""Leyzer virtual-assistant intents in Polish and English: the product's EmbeddingClassifier trained on
each language's train split and scored on the test rows whose intent it has seen (plus English→Polish)."""

from __future__ import annotations

from typing import Any

import numpy as np

from assistant.evaluation.common import EvalContext, SectionResult, pct, read_tsv, table
from assistant.nlu.classifier import EmbeddingClassifier

NAME = "leyzer"
TITLE = "Leyzer intents (Polish and English)"
LOCALES = (("pl-PL", "pl"), ("en-US", "en"))


def load(ctx: EvalContext, split: str, locale: str) -> tuple[list[str], np.ndarray]:
    rows = read_tsv(ctx.data_file("leyzer", f"leyzer-{split}-{locale}-0.1.0.tsv"))
    rows = ctx.sample(rows, 1500 if split == "train" else 300, seed_offset=70 + len(split) + len(locale))
    return [r["utterance"] for r in rows], np.array([r["intent"] for r in rows])


def evaluate(model: EmbeddingClassifier, vectors: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    seen = np.isin(labels, model.classes)
    predicted = (
        np.array(model.classes)[np.argmax(model.predict_proba(vectors[seen]), axis=1)] if seen.any() else np.array([])
    )
    return {
        "test_rows": len(labels),
        "seen_rows": int(seen.sum()),
        "unseen_rows": int((~seen).sum()),
        "seen_intents": len(set(labels[seen].tolist())),
        "accuracy": float(np.mean(predicted == labels[seen])) if seen.any() else float("nan"),
    }


def run(ctx: EvalContext) -> SectionResult:
    result = SectionResult(NAME, TITLE)
    rows: list[dict[str, Any]] = []
    models: dict[str, EmbeddingClassifier] = {}
    tests: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for locale, _ in LOCALES:
        train_texts, train_labels = load(ctx, "train", locale)
        test_texts, test_labels = load(ctx, "test", locale)
        train_vectors = ctx.embed(train_texts, f"leyzer-{locale}-train")
        test_vectors = ctx.embed(test_texts, f"leyzer-{locale}-test")
        model = EmbeddingClassifier().fit(train_vectors, list(train_labels))
        models[locale] = model
        tests[locale] = (test_vectors, test_labels)
        scored = evaluate(model, test_vectors, test_labels)
        rows.append(
            {
                "setting": f"train {locale} → test {locale}",
                "train_rows": len(train_texts),
                "train_intents": len(model.classes),
                **scored,
            }
        )
    # Cross-lingual: the shared multilingual embedding lets English training data serve Polish users.
    cross = evaluate(models["en-US"], *tests["pl-PL"])
    rows.append(
        {
            "setting": "train en-US → test pl-PL (cross-lingual)",
            "train_rows": rows[1]["train_rows"],
            "train_intents": len(models["en-US"].classes),
            **cross,
        }
    )
    result.data = {"rows": rows}
    md = result.markdown
    md.append(
        "`EmbeddingClassifier()` (LR, C=10, as shipped) on embeddings of each train split; test rows whose intent "
        "never occurs in that train split cannot be right and are left out (counted below). The utterances are "
        "grammar-generated and then translated, so expect optimistic scores."
    )
    md.append("")
    md += table(
        ["setting", "train rows / intents", "test rows", "scored (intent seen in train)", "accuracy"],
        [
            [
                r["setting"],
                f"{r['train_rows']:,} / {r['train_intents']}",
                f"{r['test_rows']:,}",
                f"{r['seen_rows']:,} ({r['seen_intents']} intents; {r['unseen_rows']} unseen left out)",
                f"**{pct(r['accuracy'])}**" if "cross" not in r["setting"] else pct(r["accuracy"]),
            ]
            for r in rows
        ],
    )
    return result
