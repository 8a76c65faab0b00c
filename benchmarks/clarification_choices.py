"""Ask before escalating, measured on questions the rule was not tuned on: the 385 questions of
`benchmarks/data/crosslingual_questions.jsonl` (77 groups × en, zh, ru, fr, pl; 62 groups answerable from the sample
KB, 15 out of scope) decided one by one by the sample-KB engine, as if on a Saturday evening (out of hours), each as
the first message of its conversation.

It reports, per kind of question, how the decisions split by kind; for the in-scope questions that were offered
choices, how often the expected entry was among them (a pick would then answer it); and for the out-of-scope ones,
how often they were offered choices at all. With --sweep it also shows the other settings of the rule.

    .venv/bin/python benchmarks/clarification_choices.py [--data-dir .data/test-models] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from assistant.domain.messages import ConversationState, Decision, DecisionKind, InboundMessage
from assistant.pipeline import Engine, train_engine
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "benchmarks" / "data" / "crosslingual_questions.jsonl"
AT = datetime(2026, 11, 28, 21, 30, tzinfo=ZoneInfo("Europe/Warsaw"))


def engine_for(data_dir: Path | None) -> tuple[Engine, tempfile.TemporaryDirectory[str] | None]:
    common = {"kb_dir": ROOT / "knowledge_base", "nlu_file": ROOT / "training" / "nlu.yml"}
    if data_dir is not None:
        return Engine.load(load_settings(data_dir=data_dir, **common)), None
    tmp = tempfile.TemporaryDirectory(prefix="ca-clarify-")
    return train_engine(load_settings(data_dir=Path(tmp.name), **common)), tmp


def measure(engine: Engine, rows: list[dict[str, Any]]) -> dict[str, Any]:
    messages = [InboundMessage(text=r["text"]) for r in rows]
    decisions: list[Decision] = []
    for start in range(0, len(messages), 64):
        batch = messages[start : start + 64]
        decisions += engine.decide_batch(batch, [ConversationState() for _ in batch], AT)
    kinds: dict[str, Counter[str]] = {"in_scope": Counter(), "out_of_scope": Counter()}
    offered = hit = wrong_answers = answers = oos_offered = 0
    sizes: Counter[int] = Counter()
    for row, d in zip(rows, decisions, strict=True):
        scope = "in_scope" if row["entry_id"] else "out_of_scope"
        label = d.kind.value if d.kind else "none"
        if d.kind == DecisionKind.CLARIFICATION:
            label += "/choices" if d.choices else "/rephrase"
        kinds[scope][label] += 1
        if d.kind == DecisionKind.KB_ANSWER and scope == "in_scope":
            answers += 1
            wrong_answers += d.entry_id != row["entry_id"]
        if d.choices:
            if scope == "in_scope":
                offered += 1
                sizes[len(d.choices) - 1] += 1
                hit += any(c.entry_id == row["entry_id"] for c in d.choices)
            else:
                oos_offered += 1
    in_scope = sum(kinds["in_scope"].values())
    return {
        "questions": len(rows),
        "in_scope": in_scope,
        "out_of_scope": sum(kinds["out_of_scope"].values()),
        "kinds": {scope: dict(counter.most_common()) for scope, counter in kinds.items()},
        "kb_answers_in_scope": answers,
        "kb_answers_wrong_entry": wrong_answers,
        "choices_offered_in_scope": offered,
        "choices_with_expected_entry": hit,
        "choices_offered_out_of_scope": oos_offered,
        "entries_per_offer": dict(sorted(sizes.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a trained sample-KB data dir (default: train in a temp dir)")
    parser.add_argument("--sweep", action="store_true", help="also try other settings of the clarification rule")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    engine, tmp = engine_for(args.data_dir)
    try:
        policy = engine.settings.policy
        settings = [(policy.choice_min_probability, policy.choices_min_probability, policy.max_choices)]
        if args.sweep:
            settings += [(0.05, 0.5, 3), (0.15, 0.5, 3), (0.1, 0.4, 3), (0.1, 0.6, 3), (0.1, 0.5, 2)]
        results = []
        for floor, total, most in settings:
            update = {"choice_min_probability": floor, "choices_min_probability": total, "max_choices": most}
            engine.policy.config = policy.model_copy(update=update)
            figures = measure(engine, rows)
            figures["rule"] = update
            results.append(figures)
        engine.policy.config = policy
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for figures in results:
        rule = figures["rule"]
        offered, hit = figures["choices_offered_in_scope"], figures["choices_with_expected_entry"]
        print(
            f"rule: floor {rule['choice_min_probability']}, together {rule['choices_min_probability']}, "
            f"at most {rule['max_choices']} entries"
        )
        print(f"  in scope ({figures['in_scope']}): {figures['kinds']['in_scope']}")
        print(f"  out of scope ({figures['out_of_scope']}): {figures['kinds']['out_of_scope']}")
        print(
            f"  in-scope KB answers: {figures['kb_answers_in_scope']} "
            f"({figures['kb_answers_wrong_entry']} with another entry)"
        )
        share = f"{hit / offered:.1%}" if offered else "—"
        print(
            f"  in-scope questions offered choices: {offered}; the expected entry among them: {hit} ({share}); "
            f"entries per offer {figures['entries_per_offer']}"
        )
        print(f"  out-of-scope questions offered choices: {figures['choices_offered_out_of_scope']}")


if __name__ == "__main__":
    main()
