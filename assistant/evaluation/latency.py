"""Latency and throughput of the sample-KB engine: per-message `decide` percentiles, the encoder and index
calls alone, and batched `decide_batch` throughput, on KB questions in five languages plus off-topic text."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.domain.messages import Decision, DecisionKind
from assistant.evaluation.common import (
    EvalContext,
    SectionResult,
    SectionSkipped,
    console,
    fixed_sample,
    progress_bar,
    read_csv,
    read_lines,
    read_tsv,
    table,
    target_mark,
)

if TYPE_CHECKING:
    from assistant.pipeline import Engine
    from assistant.settings import Settings

NAME = "latency"
TITLE = "Latency and throughput (sample KB engine)"
BATCH = 64
TARGET_P50_MS = 30.0
TARGET_P99_MS = 150.0
TARGET_THROUGHPUT = 200.0
# Out of business hours (a Saturday evening), so the policy may answer; the clock does not change the timing.
DECIDE_AT = "2026-11-28T21:30:00+01:00"
HANDWRITTEN_OFF_TOPIC = (
    "what's the weather like in Lisbon tomorrow?",
    "can you recommend a good pizza place nearby",
    "👍",
    "ok",
    "who won the match last night",
    "Quelle est la capitale du Pérou ?",
    "jak ugotować żurek",
    "今天天气怎么样",
    "Какой сегодня курс доллара?",
    "asdfgh jkl",
    "I want to speak to a human right now!!!",
    "thanks, that helped",
    "tell me a joke",
    "is this a bot?",
    "Your service is terrible and I want my money back",
    "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor " * 6,
)


def check_ready(settings: Settings | None) -> Settings:
    """The engine needs the sample KB, the NLU file, the signal example files and business hours."""
    if settings is None:
        raise SectionSkipped("no settings given")
    missing = []
    if not settings.kb_dir.is_dir() or not any(settings.kb_dir.glob("*.y*ml")):
        missing.append(f"{settings.kb_dir}/*.yml")
    if not settings.nlu_file.exists():
        missing.append(str(settings.nlu_file))
    if importlib.util.find_spec("assistant.domain.business_hours") is None:
        missing.append("assistant/domain/business_hours.py")
    from assistant.resources import resource_path

    missing += [
        f"assistant/resources/signals/{n}"
        for n in ("sentiment.yml", "abuse.yml", "risky_topics.yml")
        if not resource_path(f"signals/{n}").exists()
    ]
    if missing:
        raise SectionSkipped("not there yet: " + ", ".join(missing))
    return settings


def get_engine(ctx: EvalContext, settings: Settings, data_dir: Path) -> tuple[Engine, float, str]:
    """(engine, build seconds, how it was built). The full run trains with `train_engine`, as `assistant train`
    does; a quick run reuses its cached engine, or assembles a lighter one (2 calibration folds, the signal
    models already trained for the sentiment section) so the smoke test stays short."""
    from assistant.pipeline import Engine, train_engine

    local = settings.model_copy(update={"data_dir": data_dir})
    started = time.perf_counter()
    if not ctx.quick:
        return train_engine(local, ctx.encoder), time.perf_counter() - started, "train_engine"
    try:
        return Engine.load(local, ctx.encoder), 0.0, "cached (quick run)"
    except Exception as error:
        console.log(f"latency: no usable cached engine ({error.__class__.__name__}); building a light one")
    from assistant.knowledge.index_builds import build_version
    from assistant.knowledge.knowledge_base import load_knowledge_base

    light = local.model_copy(update={"models": local.models.model_copy(update={"calibration_folds": 2})})
    kb = load_knowledge_base(light.kb_dir)
    signals = ctx.signal_models()
    signals.save(light.models_dir)
    info = build_version(light, kb, ctx.encoder, "evaluation: light build", recalibrate=True, kb_source="yaml")
    engine = Engine.load(light, ctx.encoder, signals, info.version)
    return engine, time.perf_counter() - started, "light build (quick run: 2 calibration folds)"


def messages(ctx: EvalContext, engine: Engine, size: int) -> tuple[list[str], list[str]]:
    """(texts, kind) — KB phrasings spread over every language, then off-topic text from the data sets."""
    by_lang: dict[str, list[str]] = {}
    for phrasing in engine.index.phrasings:
        by_lang.setdefault(phrasing.lang, []).append(phrasing.text)
    in_scope: list[str] = []
    per_lang = max(1, int(size * 0.8) // max(1, len(by_lang)))
    for offset, lang in enumerate(sorted(by_lang)):
        in_scope += fixed_sample(by_lang[lang], per_lang, ctx.seed + 80 + offset)
    off_topic = list(HANDWRITTEN_OFF_TOPIC)
    root = ctx.data_root
    quota = max(5, (size - len(in_scope) - len(off_topic)) // 4)
    sources: list[tuple[Path, Callable[[Path], list[str]]]] = [
        (root / "banking77" / "test.csv", lambda p: [r["text"] for r in read_csv(p)]),
        (root / "leyzer" / "leyzer-test-pl-PL-0.1.0.tsv", lambda p: [r["utterance"] for r in read_tsv(p)]),
        (root / "umsab_sentiment" / "french" / "test_text.txt", read_lines),
        (root / "zh_sentiment" / "waimai_10k.csv", lambda p: [r["review"] for r in read_csv(p)]),
    ]
    for offset, (path, reader) in enumerate(sources):
        if path.exists():
            off_topic += fixed_sample([t for t in reader(path) if t.strip()], quota, ctx.seed + 90 + offset)
    while len(in_scope) + len(off_topic) < size:
        # Without the data sets, vary the handwritten lines so the count is still reached.
        off_topic.append(f"{HANDWRITTEN_OFF_TOPIC[len(off_topic) % len(HANDWRITTEN_OFF_TOPIC)]} #{len(off_topic)}")
    texts = in_scope + off_topic
    kinds = ["kb"] * len(in_scope) + ["off_topic"] * len(off_topic)
    order = np.random.default_rng(ctx.seed).permutation(len(texts))
    return [texts[i] for i in order], [kinds[i] for i in order]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.array(samples_ms)
    return {
        "p50": float(np.percentile(values, 50)),
        "p90": float(np.percentile(values, 90)),
        "p99": float(np.percentile(values, 99)),
        "mean": float(values.mean()),
        "max": float(values.max()),
        "n": len(values),
    }


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def single_thread_faiss(
    engine: Engine, vectors: np.ndarray, texts: list[str], now: datetime
) -> tuple[list[float], list[float], list[float]]:
    """Diagnostic: search and decide again with FAISS limited to one OpenMP thread. On a busy 2-core machine
    FAISS's thread pool competes with the encoder's BLAS threads for a search that takes microseconds."""
    import faiss

    from assistant.domain.messages import InboundMessage

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        search = [timed(partial(engine.index.search, v[None, :], 3)) for v in vectors]
        decide = [timed(partial(engine.decide, InboundMessage(text=t), None, now)) for t in texts]
    finally:
        faiss.omp_set_num_threads(before)
    # The same messages again with the default thread count, so warm-up order cannot explain a difference.
    again = [timed(partial(engine.decide, InboundMessage(text=t), None, now)) for t in texts]
    return search, decide, again


def outcome_of(decision: Decision) -> str:
    """The decision's kind, with the template or source of its reply: kb_answer/faq, clarification/choices, …"""
    kind = decision.kind.value if decision.kind is not None else decision.action.value
    return kind + (f"/{decision.reply_kind}" if decision.reply_kind else "")


def kb_self_check(engine: Engine, now: datetime) -> dict[str, Any]:
    """Every KB phrasing through `decide_batch`: they are training data, so anything but an FAQ answer of their
    own entry points at a policy or signal-model problem (a customer question moderated as spam, say)."""
    from assistant.domain.messages import InboundMessage

    phrasings = engine.index.phrasings
    outcomes: Counter[str] = Counter()
    moderated: list[dict[str, Any]] = []
    wrong_entry = 0
    for start in range(0, len(phrasings), BATCH):
        batch = phrasings[start : start + BATCH]
        for p, d in zip(
            batch, engine.decide_batch([InboundMessage(text=x.text) for x in batch], None, now), strict=True
        ):
            outcomes[outcome_of(d)] += 1
            if d.action.value == "moderate":
                moderated.append({"entry": p.entry_id, "lang": p.lang, "text": p.text, "reasons": d.reasons[-1:]})
            if d.kind == DecisionKind.KB_ANSWER and d.entry_id != p.entry_id:
                wrong_entry += 1
    return {
        "phrasings": len(phrasings),
        "outcomes": dict(outcomes.most_common()),
        "moderated": moderated,
        "answered_with_another_entry": wrong_entry,
    }


def run(ctx: EvalContext) -> SectionResult:
    from assistant.domain.messages import InboundMessage

    settings = check_ready(ctx.settings)
    result = SectionResult(NAME, TITLE)
    now = datetime.fromisoformat(DECIDE_AT)
    with tempfile.TemporaryDirectory(prefix="ca-eval-engine-") as tmp:
        data_dir = ctx.cache_dir / "engine" if ctx.quick else Path(tmp)
        console.log("latency: training the sample-KB engine (index, intent model, signal models)")
        engine, train_seconds, built = get_engine(ctx, settings, data_dir)
    size = 60 if ctx.quick else 600
    texts, kinds = messages(ctx, engine, size)
    for text in texts[:10]:  # warm-up: first calls pay for lazy imports and allocator growth
        engine.decide(InboundMessage(text=text), now=now)
    decide_ms: list[float] = []
    examples: dict[str, list[dict[str, Any]]] = {"kb": [], "off_topic": []}
    actions: dict[str, Counter[str]] = {"kb": Counter(), "off_topic": Counter()}
    with progress_bar() as progress:
        task = progress.add_task("latency: decide one by one", total=len(texts))
        for text, kind in zip(texts, kinds, strict=True):
            started = time.perf_counter()
            decision = engine.decide(InboundMessage(text=text), now=now)
            decide_ms.append((time.perf_counter() - started) * 1000)
            # Only a KB answer is an answer; templates, clarifications and holding replies are counted apart.
            outcome = outcome_of(decision)
            actions[kind][outcome] += 1
            answered = decision.kind == DecisionKind.KB_ANSWER
            notable = (kind == "off_topic" and answered) or (kind == "kb" and not answered)
            if notable:
                examples[kind].append(
                    {
                        "text": text[:120],
                        "action": outcome,
                        "reason": decision.reason.value if decision.reason else None,
                        "label": decision.intent,
                        "confidence": round(decision.confidence, 3),
                    }
                )
            progress.advance(task)
    probe = texts[: min(len(texts), 300)]
    encode_ms = [timed(partial(engine.encoder.encode, [t])) for t in probe]
    vectors = engine.encoder.encode(probe)
    search_ms = [timed(partial(engine.index.search, v[None, :], 3)) for v in vectors]
    predict_ms = [timed(partial(engine.intents.predict, v[None, :])) for v in vectors]
    identify_ms = [timed(partial(engine.languages.identify, t)) for t in probe]
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    engine.decide_batch([InboundMessage(text=t) for t in batches[0]], None, now)  # warm-up batch
    rounds = 1 if ctx.quick else 2
    started = time.perf_counter()
    for _ in range(rounds):
        for batch in batches:
            engine.decide_batch([InboundMessage(text=t) for t in batch], None, now)
    batch_seconds = time.perf_counter() - started
    throughput = rounds * len(texts) / batch_seconds
    single_search_ms, single_decide_ms, again_decide_ms = single_thread_faiss(engine, vectors, probe, now)
    kb_check = kb_self_check(engine, now)
    decide = percentiles(decide_ms)
    parts = {
        "encoder.encode (1 message)": percentiles(encode_ms),
        "index.search (1 vector, k=3)": percentiles(search_ms),
        "index.search (1 vector, k=3), FAISS on 1 OpenMP thread": percentiles(single_search_ms),
        "intents.predict (1 vector)": percentiles(predict_ms),
        "languages.identify (1 message)": percentiles(identify_ms),
    }
    decide_single = percentiles(single_decide_ms)
    decide_again = percentiles(again_decide_ms)
    result.data = {
        "messages": len(texts),
        "kb_messages": kinds.count("kb"),
        "off_topic_messages": kinds.count("off_topic"),
        "kb_phrasings_indexed": len(engine.index.phrasings),
        "engine_built_by": built,
        "engine_train_seconds": train_seconds,
        "decide_ms": decide,
        "decide_ms_faiss_one_thread": decide_single,
        "decide_ms_default_threads_rerun": decide_again,
        "off_topic_answered_examples": examples["off_topic"][:20],
        "kb_not_answered_examples": examples["kb"][:20],
        "kb_self_check": kb_check,
        "parts_ms": parts,
        "batch_size": BATCH,
        "batched_messages": rounds * len(texts),
        "batched_seconds": batch_seconds,
        "throughput_msgs_per_s": throughput,
        "actions": {k: dict(v) for k, v in actions.items()},
        "load_average_at_end": list(os.getloadavg()),
        "threads": settings.models.encoder_threads,
    }
    md = result.markdown
    md.append(
        f"Engine built on the sample KB ({len(engine.index.phrasings):,} phrasings)"
        + (f" in {train_seconds:.1f} s" if built == "train_engine" else f" ({built})")
        + f"; {len(texts)} messages: {kinds.count('kb')} KB question phrasings spread over "
        f"{len({p.lang for p in engine.index.phrasings})} languages and {kinds.count('off_topic')} off-topic "
        "texts (banking questions, Polish assistant commands, French tweets, Chinese reviews, small talk). "
        "Wall-clock per call on this machine, after 10 warm-up calls."
    )
    md.append("")
    md += table(
        ["measure", "p50", "p90", "p99", "mean", "target"],
        [
            [
                f"`engine.decide` (one message, {decide['n']} calls)",
                f"**{decide['p50']:.1f} ms**",
                f"{decide['p90']:.1f} ms",
                f"**{decide['p99']:.1f} ms**",
                f"{decide['mean']:.1f} ms",
                f"p50 ≤ {TARGET_P50_MS:g} ms ({target_mark(decide['p50'], TARGET_P50_MS, False)}), p99 ≤ "
                f"{TARGET_P99_MS:g} ms ({target_mark(decide['p99'], TARGET_P99_MS, False)})",
            ]
        ]
        + [
            [f"`{name}`", f"{p['p50']:.2f} ms", f"{p['p90']:.2f} ms", f"{p['p99']:.2f} ms", f"{p['mean']:.2f} ms", "—"]
            for name, p in parts.items()
        ]
        + [
            [
                f"diagnostic: `engine.decide`, {label} ({p['n']} calls)",
                f"{p['p50']:.1f} ms",
                f"{p['p90']:.1f} ms",
                f"{p['p99']:.1f} ms",
                f"{p['mean']:.1f} ms",
                "—",
            ]
            for label, p in (
                ("FAISS limited to 1 OpenMP thread", decide_single),
                ("default FAISS threads, same messages right after", decide_again),
            )
        ],
    )
    md.append("")
    md.append(
        f"Batched: `engine.decide_batch` in batches of {BATCH} over {rounds * len(texts):,} messages → "
        f"**{throughput:.0f} messages/s** (target ≥ {TARGET_THROUGHPUT:g}: "
        f"{target_mark(throughput, TARGET_THROUGHPUT)})."
    )
    md.append("")
    md.append(
        "Sanity (not a quality metric; KB phrasings are training data, decided as of a Saturday evening out of "
        f"hours): outcomes on KB phrasings {dict(actions['kb'].most_common())}, on off-topic texts "
        f"{dict(actions['off_topic'].most_common())}. Examples are in results.json."
    )
    md.append("")
    md.append(
        f"KB self-check (all {kb_check['phrasings']:,} KB phrasings through `decide_batch`, same clock): "
        f"{kb_check['outcomes']}; FAQ answers naming another entry: {kb_check['answered_with_another_entry']}; "
        f"moderated as spam/abuse: {len(kb_check['moderated'])}"
        + (
            ": " + "; ".join(f"[{m['lang']}] {m['text']!r} ({m['entry']})" for m in kb_check["moderated"][:10])
            if kb_check["moderated"]
            else ""
        )
        + "."
    )
    return result
