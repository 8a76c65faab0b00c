"""KB-editor scale benchmarks on this machine (issue 5 targets): full index-version build of N entries × L languages,
publish → live time for an edited answer, a new phrasing and a new entry, and gap clustering of Q questions.

Usage: .venv/bin/python benchmarks/kb_scale.py [--entries 10000] [--languages 5] [--phrasings 2]
           [--questions 50000] [--matcher auto] [--models-from .data/test-models/models] [--json out.json]
Small smoke run: --entries 200 --languages 2 --questions 2000

The KB is synthetic (entries are topics built from word lists, their phrasings the topic behind different
openers, answers short), so the numbers are about scale, not answer quality. Everything is written to a temporary
folder; --models-from must hold the signal models of `assistant train` (the engine a worker loads needs them).
"publish → live" is build_version (the `ca.reindex_kb` task's work) plus the time a worker's Runtime needs to
notice the pointer and load the version.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.domain.kb_entries import KBEntry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.domain.messages import InboundMessage  # noqa: E402
from assistant.knowledge.gap_report import cluster_vectors  # noqa: E402
from assistant.knowledge.index_builds import build_version  # noqa: E402
from assistant.knowledge.knowledge_base import KnowledgeBase  # noqa: E402
from assistant.nlu.embeddings import shared_encoder  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

LANGUAGES = ["en", "de", "fr", "es", "pl", "ru", "zh"]
SUBJECTS = [
    "order",
    "parcel",
    "refund",
    "invoice",
    "account",
    "password",
    "tent",
    "jacket",
    "boot",
    "backpack",
    "gift",
    "card",
    "voucher",
    "store",
]
VERBS = [
    "track",
    "cancel",
    "return",
    "change",
    "reset",
    "find",
    "repair",
    "exchange",
    "pay",
    "ship",
    "deliver",
    "buy",
    "book",
    "rent",
]
EXTRAS = [
    "today",
    "quickly",
    "please",
    "abroad",
    "online",
    "again",
    "safely",
    "tomorrow",
    "cheaply",
    "on",
    "time",
    "without",
    "fees",
]
OPENERS = ["How do I", "Can I", "Where can I", "Is it possible to", "What happens if I", "Why can't I", "When can I"]


def sentence(rng: random.Random, n: int) -> str:
    return f"{rng.choice(OPENERS)} {rng.choice(VERBS)} my {rng.choice(SUBJECTS)} {rng.choice(EXTRAS)} (#{n})?"


COLOURS = ["red", "blue", "green", "black", "white", "grey", "orange", "yellow", "purple", "brown"]


def synthetic_kb(entries: int, languages: int, phrasings: int, seed: int = 7) -> KnowledgeBase:
    """Every entry is one topic ("cancel my green tent abroad"), each of its phrasings that topic behind another
    opener ("How do I …", "Can I …"): phrasings of one entry are paraphrases, as in a real KB, and entries that
    differ by one word make the matcher's calibration work for its confidence."""
    rng = random.Random(seed)
    topics = [(v, c, s, e) for v in VERBS for c in COLOURS for s in SUBJECTS for e in EXTRAS]
    if entries > len(topics):
        raise SystemExit(f"at most {len(topics)} synthetic entries")
    langs = LANGUAGES[:languages]
    kb_entries = []
    for i, (verb, colour, subject, extra) in enumerate(rng.sample(topics, entries)):
        openers = iter(rng.sample(OPENERS, len(OPENERS)) * (languages * phrasings))
        kb_entries.append(
            KBEntry(
                id=f"entry-{i:05d}",
                questions={
                    lang: [f"{next(openers)} {verb} my {colour} {subject} {extra}?" for _ in range(phrasings)]
                    for lang in langs
                },
                answers={lang: f"Answer {i} in {lang}." for lang in langs},
            )
        )
    return KnowledgeBase(kb_entries)


def timed(what: str, results: dict[str, Any], fn: Any) -> Any:
    started = time.perf_counter()
    value = fn()
    results[what] = round(time.perf_counter() - started, 2)
    print(f"{what}: {results[what]} s", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--languages", type=int, default=5)
    parser.add_argument("--phrasings", type=int, default=2, help="question phrasings per entry and language")
    parser.add_argument("--questions", type=int, default=50_000, help="questions for the gap clustering")
    parser.add_argument("--models-from", type=Path, default=ROOT / ".data" / "test-models" / "models")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--matcher", choices=["auto", "logistic", "neighbours"], default="auto")
    parser.add_argument(
        "--index-only",
        action="store_true",
        help="time only the FAISS index of the synthetic KB (encode every phrasing, build, save), not the classifier",
    )
    args = parser.parse_args()
    if args.index_only:
        index_only(args)
        return

    from webhooks.runtime import Runtime  # the worker's engine holder (imports Flask-free parts only)

    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "entries": args.entries,
        "languages": args.languages,
        "phrasings_per_language": args.phrasings,
    }
    encoder = shared_encoder()
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(args.models_from, data_dir / "models")
        settings = load_settings(
            data_dir=data_dir,
            nlu_file=ROOT / "training" / "nlu.yml",
            live_index={"check_seconds": 0},
            models={"matcher": args.matcher},
            # Answer whenever confident, so the decision shows the new entry is live at any hour of the run.
            policy={"answer_in_business_hours": True},
        )
        kb = synthetic_kb(args.entries, args.languages, args.phrasings)
        results["phrasings"] = sum(len(qs) for e in kb.entries for qs in e.questions.values())
        first = timed("full_build_s", results, lambda: build_version(settings, kb, encoder, "benchmark"))
        results["full_build_encoded"] = first.encoded
        runtime = Runtime(settings)
        timed("worker_first_load_s", results, lambda: runtime.engine)

        edited = KnowledgeBase([KBEntry(e.id, e.questions, dict(e.answers), [], "published") for e in kb.entries])
        edited.entries[0].answers["en"] = "An edited answer."
        answer = timed("publish_answer_edit_build_s", results, lambda: build_version(settings, edited, encoder, "edit"))
        results["publish_answer_edit_retrained"] = answer.retrained
        timed("publish_answer_edit_swap_s", results, runtime.refresh)
        results["publish_answer_edit_to_live_s"] = round(
            results["publish_answer_edit_build_s"] + results["publish_answer_edit_swap_s"], 2
        )

        edited.entries[1].questions["en"] = [*edited.entries[1].questions["en"], "A brand new way to ask this?"]
        phrasing = timed(
            "publish_new_phrasing_build_s", results, lambda: build_version(settings, edited, encoder, "phrasing")
        )
        results["publish_new_phrasing_encoded"] = phrasing.encoded
        results["publish_new_phrasing_matcher"] = phrasing.matcher_update
        timed("publish_new_phrasing_swap_s", results, runtime.refresh)
        results["publish_new_phrasing_to_live_s"] = round(
            results["publish_new_phrasing_build_s"] + results["publish_new_phrasing_swap_s"], 2
        )

        new_question = "Can you engrave three initials on the titanium camping mug?"
        edited.entries.append(
            KBEntry("mug-engraving", {"en": [new_question]}, {"en": "Engraving is free."}, [], "published")
        )
        entry = timed("publish_new_entry_build_s", results, lambda: build_version(settings, edited, encoder, "entry"))
        results["publish_new_entry_matcher"] = entry.matcher_update
        results["publish_new_entry_recalibrate_due"] = entry.recalibrate_due
        timed("publish_new_entry_swap_s", results, runtime.refresh)
        results["publish_new_entry_to_live_s"] = round(
            results["publish_new_entry_build_s"] + results["publish_new_entry_swap_s"], 2
        )
        # Live means answered: the served engine must pick the new entry for its own question.
        decision = runtime.engine.decide(
            InboundMessage(text=new_question, platform="bench", conversation_id="c", language="en")
        )
        results["publish_new_entry_answered_by"] = decision.entry_id
        results["publish_new_entry_decision"] = (
            f"{decision.action.value}: best match {decision.intent}, confidence {decision.confidence:.2f} "
            f"(threshold {runtime.engine.intents.threshold:.2f})"
        )
        results["matcher"] = runtime.engine.intents.report.matcher

    if args.questions <= 0:
        print(json.dumps(results, indent=2))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
        return

    rng = random.Random(11)
    questions = [sentence(rng, n) for n in range(args.questions)]
    vectors = timed("gap_encode_s", results, lambda: encoder.encode(questions))
    labels = timed("gap_cluster_s", results, lambda: cluster_vectors(vectors, 0.35))
    results["gap_questions"] = args.questions
    results["gap_clusters"] = len(set(labels.tolist()))
    results["gap_total_s"] = round(results["gap_encode_s"] + results["gap_cluster_s"], 2)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


def index_only(args: argparse.Namespace) -> None:
    """The retrieval index alone: what a KB of this size costs without retraining the intent classifier."""
    from assistant.knowledge.retrieval import FaqIndex

    encoder = shared_encoder()
    kb = synthetic_kb(args.entries, args.languages, args.phrasings)
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "entries": args.entries,
        "languages": args.languages,
        "phrasings": sum(len(qs) for e in kb.entries for qs in e.questions.values()),
    }
    index = timed("index_build_s", results, lambda: FaqIndex.build(kb, encoder))
    with tempfile.TemporaryDirectory(prefix="kb-scale-index-") as tmp:
        timed("index_save_s", results, lambda: index.save(Path(tmp)))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
