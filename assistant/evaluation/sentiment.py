"""Sentiment macro-F1 of the SHIPPED model (trained only on the project's own example messages) on public
tweet and review sets, next to an in-domain reference LR trained on UMSAB train (a ceiling, never shipped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from assistant.domain.readings import LABELS
from assistant.evaluation.common import (
    EvalContext,
    SectionResult,
    SectionSkipped,
    pct,
    progress_bar,
    read_csv,
    read_lines,
    table,
    target_mark,
)
from assistant.nlu.classifier import EmbeddingClassifier
from assistant.nlu.sentiment import SentimentModel, load_sentiment_examples

NAME = "sentiment"
TITLE = "Sentiment"
TARGET = 0.65
REFERENCE_C_GRID = (0.3, 1.0, 3.0, 10.0)
UMSAB_LABELS = {"0": "negative", "1": "neutral", "2": "positive"}
ZH_LABELS = {"0": "negative", "1": "positive"}
QUICK_SIZE = 200


@dataclass(frozen=True)
class SentimentSet:
    key: str
    title: str
    lang: str
    texts: list[str]
    labels: list[str]
    binary: bool
    reference_lang: str | None


def _tweet_split(ctx: EvalContext, folder: tuple[str, ...], split: str) -> tuple[list[str], list[str]]:
    texts = read_lines(ctx.data_file(*folder, f"{split}_text.txt"))
    labels = [UMSAB_LABELS[x.strip()] for x in read_lines(ctx.data_file(*folder, f"{split}_labels.txt"))]
    if len(texts) != len(labels):
        raise ValueError(f"{'/'.join(folder)}/{split}: {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def _sampled(ctx: EvalContext, texts: list[str], labels: list[str], offset: int) -> tuple[list[str], list[str]]:
    rows = ctx.sample(list(zip(texts, labels, strict=True)), QUICK_SIZE, seed_offset=offset)
    return [r[0] for r in rows], [r[1] for r in rows]


def load_sets(ctx: EvalContext) -> list[SentimentSet]:
    sets = []
    for offset, (key, title, folder, lang) in enumerate(
        [
            ("umsab_en", "UMSAB English test (tweets)", ("umsab_sentiment", "english"), "en"),
            ("umsab_fr", "UMSAB French test (tweets)", ("umsab_sentiment", "french"), "fr"),
            ("tweeteval", "TweetEval sentiment test (English tweets)", ("tweeteval", "sentiment"), "en"),
        ]
    ):
        texts, labels = _sampled(ctx, *_tweet_split(ctx, folder, "test"), offset=10 + offset)
        sets.append(SentimentSet(key, title, lang, texts, labels, False, lang))
    for offset, (key, title, file) in enumerate(
        [
            ("zh_waimai", "waimai_10k (Chinese food-delivery reviews), binary", "waimai_10k.csv"),
            ("zh_hotel", "ChnSentiCorp_htl_all (Chinese hotel reviews), binary", "ChnSentiCorp_htl_all.csv"),
        ]
    ):
        rows = [r for r in read_csv(ctx.data_file("zh_sentiment", file)) if (r.get("review") or "").strip()]
        texts, labels = _sampled(
            ctx, [r["review"] for r in rows], [ZH_LABELS[r["label"].strip()] for r in rows], offset=20 + offset
        )
        sets.append(SentimentSet(key, title, "zh", texts, labels, True, None))
    return sets


def _binary(probs: np.ndarray) -> list[str]:
    """3-class → negative vs positive by comparing those two probabilities (neutral mass is ignored)."""
    return ["positive" if p[2] > p[0] else "negative" for p in probs]


def _scores(predicted: list[str], truth: list[str], binary: bool) -> dict[str, float]:
    labels = ["negative", "positive"] if binary else list(LABELS)
    return {
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(truth, predicted)),
    }


def reference_model(ctx: EvalContext, lang: str) -> tuple[EmbeddingClassifier, dict[str, Any]]:
    """LR on UMSAB train of `lang`, C chosen on UMSAB val: an in-domain ceiling, not the shipped model."""
    folder = ("umsab_sentiment", {"en": "english", "fr": "french"}[lang])
    train_texts, train_labels = _tweet_split(ctx, folder, "train")
    val_texts, val_labels = _tweet_split(ctx, folder, "val")
    train_vectors = ctx.embed(train_texts, f"umsab-{lang}-train")
    val_vectors = ctx.embed(val_texts, f"umsab-{lang}-val")
    by_c = {}
    for c in REFERENCE_C_GRID[1:2] if ctx.quick else REFERENCE_C_GRID:
        model = EmbeddingClassifier(c=c, max_iter=1000).fit(train_vectors, train_labels)
        predicted = [model.classes[i] for i in np.argmax(model.predict_proba(val_vectors), axis=1)]
        by_c[c] = _scores(predicted, val_labels, False)["macro_f1"]
    best = max(by_c, key=lambda c: (by_c[c], -c))
    model = EmbeddingClassifier(c=best, max_iter=1000).fit(train_vectors, train_labels)
    return model, {
        "c": best,
        "validation_macro_f1_by_c": {str(k): v for k, v in by_c.items()},
        "train_rows": len(train_texts),
    }


def run(ctx: EvalContext) -> SectionResult:
    from assistant.resources import resource_path

    for name in ("sentiment.yml", "abuse.yml", "risky_topics.yml", "human_request.yml"):
        if not resource_path(f"signals/{name}").exists():
            raise SectionSkipped(f"assistant/resources/signals/{name} does not exist yet")
    result = SectionResult(NAME, TITLE)
    sets = load_sets(ctx)
    shipped_texts = {text.strip().casefold() for text, _, _ in load_sentiment_examples()}
    signals = ctx.signal_models()
    references: dict[str, tuple[EmbeddingClassifier, dict[str, Any]]] = {}
    rows: list[dict[str, Any]] = []
    with progress_bar() as progress:
        task = progress.add_task("sentiment sets", total=len(sets))
        for s in sets:
            vectors = ctx.embed(s.texts, f"sentiment-{s.key}")
            scores = signals.sentiment.score(vectors, s.texts, [s.lang] * len(s.texts))
            probs = np.array([[x.negative, x.neutral, x.positive] for x in scores])
            predicted = _binary(probs) if s.binary else [x.label for x in scores]
            shipped = _scores(predicted, s.labels, s.binary)
            without_vader: dict[str, float] | None = None
            if s.lang == "en":
                # The same classifier without the VADER nudge: does the lexical signal help on tweets?
                plain = SentimentModel(signals.sentiment.classifier, vader_weight=0.0)
                plain_scores = plain.score(vectors, s.texts, [s.lang] * len(s.texts))
                without_vader = _scores([x.label for x in plain_scores], s.labels, s.binary)
            reference: dict[str, float] | None = None
            reference_info: dict[str, Any] | None = None
            if s.reference_lang is not None:
                if s.reference_lang not in references:
                    references[s.reference_lang] = reference_model(ctx, s.reference_lang)
                model, reference_info = references[s.reference_lang]
                ref_probs = model.predict_proba(vectors)[:, [model.classes.index(label) for label in LABELS]]
                ref_predicted = _binary(ref_probs) if s.binary else [LABELS[i] for i in np.argmax(ref_probs, axis=1)]
                reference = _scores(ref_predicted, s.labels, s.binary)
            overlap = sum(1 for t in s.texts if t.strip().casefold() in shipped_texts)
            counts = {label: s.labels.count(label) for label in sorted(set(s.labels))}
            rows.append(
                {
                    "key": s.key,
                    "title": s.title,
                    "lang": s.lang,
                    "rows": len(s.texts),
                    "binary": s.binary,
                    "class_counts": counts,
                    "shipped": shipped,
                    "shipped_without_vader": without_vader,
                    "reference": reference,
                    "reference_model": reference_info,
                    "texts_also_in_shipped_examples": overlap,
                }
            )
            progress.advance(task)
    shipped_count = len(shipped_texts)
    result.data = {"sets": rows, "target_umsab_macro_f1": TARGET, "shipped_examples": shipped_count}
    md = result.markdown
    md.append(
        f"**Shipped** = `SignalModels.train(encoder).sentiment`: LR on {ctx.encoder.name} embeddings of the "
        f"project's own {shipped_count:,} example messages (`assistant/resources/signals/sentiment.yml`, five "
        "languages) plus VADER for English; the product's number. **Reference** = LR trained on UMSAB train of "
        "the same language, C chosen on UMSAB val: an in-domain ceiling for these embeddings, *not shipped*. "
        "Chinese sets are binary: our 3-class output becomes negative vs positive by comparing those two "
        "probabilities."
    )
    md.append("")
    md += table(
        [
            "data set",
            "rows",
            "shipped macro-F1",
            "shipped acc.",
            "shipped without VADER (diagnostic)",
            "reference macro-F1 (not shipped)",
            "target",
        ],
        [
            [
                r["title"],
                f"{r['rows']:,}",
                f"**{r['shipped']['macro_f1']:.3f}**",
                pct(r["shipped"]["accuracy"]),
                f"{r['shipped_without_vader']['macro_f1']:.3f}" if r["shipped_without_vader"] else "—",
                f"{r['reference']['macro_f1']:.3f}" if r["reference"] else "n/a (no in-language train set)",
                f"≥ {TARGET} ({target_mark(r['shipped']['macro_f1'], TARGET)})"
                if r["key"] in ("umsab_en", "umsab_fr")
                else "—",
            ]
            for r in rows
        ],
    )
    leaks = sum(r["texts_also_in_shipped_examples"] for r in rows)
    md.append("")
    md.append(f"Leakage check: {leaks} evaluation texts also appear (case-insensitively) among the shipped examples.")
    return result
