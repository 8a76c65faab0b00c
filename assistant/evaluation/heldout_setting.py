"""One held-out setting of the `heldout` section: whole intents kept out of the KB (their questions are the
out-of-scope traffic), a KB of k phrasings per kept intent trained with the product's own path, and the figures
a team would see on traffic with a given share of out-of-scope questions.

For a script: `data = load_dataset(ctx, "hwu64")`, `held = held_out_intents(data, ctx.seed)`, then
`run_setting(ctx, data, held, shots=10, seed=0)` returns the figures of one KB as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.domain.kb_entries import KBEntry, KnowledgeBase
from assistant.domain.readings import IntentPrediction
from assistant.evaluation.banking77_data import load_banking77
from assistant.evaluation.banking77_faq import entry_id_of
from assistant.evaluation.common import EvalContext, read_lines
from assistant.nlu.intent_model import IntentModel, training_set
from assistant.nlu.intent_training import train_as_configured
from assistant.settings import ModelConfig, PolicyConfig

HELD_OUT_SHARE = 0.25
OOS_SHARE = 0.5
CURVE_SHARES = tuple(round(0.1 * i, 1) for i in range(9))
CURVE_POINTS = 150


@dataclass(frozen=True)
class IntentData:
    """One intent data set with its (cached) embeddings; `scenario` groups intents (HWU64's `alarm_set` →
    `alarm`), so held-out intents can come from scenarios the KB still covers."""

    name: str
    train_texts: list[str]
    train_labels: np.ndarray
    train_vectors: np.ndarray
    test_texts: list[str]
    test_labels: np.ndarray
    test_vectors: np.ndarray
    grouped_by_scenario: bool


def load_dataset(ctx: EvalContext, name: str) -> IntentData:
    """BANKING77 through its section's loader; HWU64 from `seq.in` + `label` (train and test folders)."""
    if name == "banking77":
        b = load_banking77(ctx)
        return IntentData(
            name, b.train_texts, b.train_labels, b.train_vectors, b.test_texts, b.test_labels, b.test_vectors, False
        )
    if name != "hwu64":
        raise ValueError(f"unknown data set {name!r}: use banking77 or hwu64")
    splits: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for split, quick_size, offset in (("train", 1000, 3), ("test", 600, 4)):
        texts = read_lines(ctx.data_file("hwu64", split, "seq.in"))
        labels = read_lines(ctx.data_file("hwu64", split, "label"))
        if len(texts) != len(labels):
            raise ValueError(f"hwu64/{split}: {len(texts)} lines in seq.in but {len(labels)} in label")
        rows = ctx.sample(list(zip(texts, labels, strict=True)), quick_size, seed_offset=offset)
        kept = [t for t, _ in rows]
        splits[split] = (kept, np.array([label for _, label in rows]), ctx.embed(kept, f"hwu64-{split}"))
    (tr_t, tr_l, tr_v), (te_t, te_l, te_v) = splits["train"], splits["test"]
    return IntentData(name, tr_t, tr_l, tr_v, te_t, te_l, te_v, True)


def held_out_intents(data: IntentData, seed: int, share: float = HELD_OUT_SHARE) -> list[str]:
    """About `share` of the intents, chosen at random; with scenarios, never a scenario's last intent, so every
    held-out intent has siblings in the KB and its questions are out of scope but close to real entries."""
    intents = sorted(set(data.train_labels.tolist()) & set(data.test_labels.tolist()))
    wanted = max(1, round(share * len(intents)))
    rng = np.random.default_rng(seed)
    order = [intents[int(i)] for i in rng.permutation(len(intents))]
    if not data.grouped_by_scenario:
        return sorted(order[:wanted])
    left: dict[str, int] = {}
    for intent in intents:
        left[scenario_of(intent)] = left.get(scenario_of(intent), 0) + 1
    held: list[str] = []
    for intent in order:
        if len(held) == wanted:
            break
        if left[scenario_of(intent)] > 1:
            left[scenario_of(intent)] -= 1
            held.append(intent)
    return sorted(held)


def scenario_of(intent: str) -> str:
    return intent.split("_", 1)[0]


def sample_kb(data: IntentData, held_out: Sequence[str], shots: int | None, seed: int) -> np.ndarray:
    """Train rows of the KB: `shots` phrasings per kept intent (all of them when None)."""
    held = set(held_out)
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for intent in sorted(set(data.train_labels.tolist()) - held):
        rows = np.flatnonzero(data.train_labels == intent)
        picked += rows.tolist() if shots is None else rng.choice(rows, min(shots, len(rows)), replace=False).tolist()
    return np.array(sorted(picked), dtype=np.int64)


def train_product(ctx: EvalContext, texts: Sequence[str], intents: Sequence[str], vectors: np.ndarray) -> IntentModel:
    """The KB as `assistant train` sees it (one published entry per intent, labels and de-duplication by
    `training_set`), trained with the settings `train_engine` passes: the one place to follow its changes."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in zip(texts, intents, strict=True):
        by_intent.setdefault(intent, []).append(text)
    kb = KnowledgeBase(
        [KBEntry(entry_id_of(i), {"en": qs}, {"en": f"About {i.replace('_', ' ')}."}) for i, qs in by_intent.items()]
    )
    vector_of = dict(zip(texts, vectors, strict=True))
    found = training_set(kb, [])
    models = ctx.settings.models if ctx.settings is not None else ModelConfig()
    policy = ctx.settings.policy if ctx.settings is not None else PolicyConfig()
    vectors = np.stack([vector_of[t] for t in found.texts])
    model, _ = train_as_configured(vectors, found, ctx.encoder.name, kb.version, models, policy)
    return model


def kb_answers(predictions: Sequence[IntentPrediction], threshold: float) -> np.ndarray:
    """The Policy's KB-answer rule (`Policy.decide`): the best match is a KB entry and its confidence reaches the
    threshold. Everything else is a clarification or an escalation, never an answer."""
    return np.array([p.answers_from_kb(threshold) for p in predictions], dtype=bool)


def figures_at_share(
    answered: np.ndarray, right: np.ndarray, in_scope: np.ndarray, share: float | None
) -> dict[str, float]:
    """Precision and coverage on traffic where out-of-scope questions are `share` of it (None: as in the test
    set), by reweighting the in-scope and out-of-scope rows. An out-of-scope question answered is a wrong answer;
    `right` is "the best match is the question's own entry" (always False out of scope)."""
    n_in, n_oos = int(in_scope.sum()), int((~in_scope).sum())
    s = n_oos / (n_in + n_oos) if share is None else share
    answered_in = float(answered[in_scope].mean()) if n_in else 0.0
    right_in = float((answered & right)[in_scope].mean()) if n_in else 0.0
    answered_oos = float(answered[~in_scope].mean()) if n_oos else 0.0
    answered_share = (1 - s) * answered_in + s * answered_oos
    return {
        "oos_share": s,
        "precision": (1 - s) * right_in / answered_share if answered_share > 0 else float("nan"),
        "answered_share": answered_share,
        "coverage": right_in,
        "oos_escalated": 1.0 - answered_oos if n_oos else float("nan"),
    }


def risk_coverage_weighted(
    confidence: np.ndarray, good: np.ndarray, in_scope: np.ndarray, share: float
) -> dict[str, list[float]]:
    """Risk (1 − precision) against the share of traffic answered, answering the most confident first, on traffic
    with `share` out of scope; `good` is "answering this one would be right"."""
    weights = np.where(in_scope, (1 - share) / max(1, int(in_scope.sum())), share / max(1, int((~in_scope).sum())))
    order = np.argsort(-confidence, kind="stable")
    mass = np.cumsum(weights[order])
    hits = np.cumsum((weights * good)[order])
    picks = np.unique(np.linspace(0, len(order) - 1, num=min(CURVE_POINTS, len(order))).astype(int))
    return {"coverage": (mass[picks] / mass[-1]).tolist(), "risk": (1.0 - hits[picks] / mass[picks]).tolist()}


def run_setting(
    ctx: EvalContext, data: IntentData, held_out: Sequence[str], shots: int | None, seed: int
) -> dict[str, Any]:
    """Train a KB of `shots` phrasings per kept intent (seed `seed` for the sample) and score the test traffic:
    the test questions of kept intents (in scope) and of held-out intents (out of scope)."""
    rows = sample_kb(data, held_out, shots, seed)
    texts = [data.train_texts[int(i)] for i in rows]
    model = train_product(ctx, texts, data.train_labels[rows].tolist(), data.train_vectors[rows])
    predictions = model.predict(data.test_vectors)
    truth = np.array([entry_id_of(label) for label in data.test_labels])
    in_scope = ~np.isin(data.test_labels, list(held_out))
    predicted = np.array([p.entry_id or "" for p in predictions])
    right = (predicted == truth) & in_scope
    answered = kb_answers(predictions, model.kb_threshold)
    confidence = np.array([p.confidence for p in predictions])
    similarity = np.array([p.similarity for p in predictions])
    report = model.report
    at = figures_at_share(answered, right, in_scope, OOS_SHARE)
    return {
        "shots": shots,
        "seed": seed,
        "entries": report.classes,
        "phrasings": report.examples,
        "in_scope_questions": int(in_scope.sum()),
        "oos_questions": int((~in_scope).sum()),
        "threshold": model.kb_threshold,
        "estimate": {
            "oof_precision": report.oof_precision,
            "oof_coverage": report.oof_coverage,
            "held_out_escalated": report.held_out_escalated,
            "in_scope_accuracy": report.in_scope_accuracy,
        },
        "top1_in_scope": float(right[in_scope].mean()) if in_scope.any() else float("nan"),
        "at_target_share": at,
        "natural": figures_at_share(answered, right, in_scope, None),
        "curve": [figures_at_share(answered, right, in_scope, s) for s in CURVE_SHARES],
        # Out-of-scope questions the Policy calls "out of scope" (below the similarity floor); the rest are "low
        # confidence", which may be offered "Did you mean" choices instead of a plain escalation.
        "oos_below_similarity": float((similarity[~in_scope] < model.out_of_scope_similarity).mean())
        if (~in_scope).any()
        else float("nan"),
        "risk_coverage": risk_coverage_weighted(confidence, right, in_scope, OOS_SHARE),
        "operating_point": [at["answered_share"], 1.0 - at["precision"]] if at["answered_share"] > 0 else None,
    }
