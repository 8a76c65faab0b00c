"""Signals that never silence a customer (issue 10): the shipped moderation model (`SignalModels.train`, trained
only on `assistant/resources/signals`) at the policy's abuse and spam thresholds, on

- every test question of the public intent sets in the data folder (BANKING77, HWU64, Leyzer en and pl, the
  deepset COVID-QA paraphrase questions): ordinary questions, so every one moderated is a customer silenced;
- the project's labelled set `benchmarks/data/moderation_labelled.jsonl` (five languages; angry-legitimate,
  abusive, spam, neutral): per language, angry customers classed as abuse, abuse and spam recall, neutral moderated;
- TweetEval offensive and hate (English tweets): labelled by other people to other definitions (any profanity
  counts as offensive there), so a reference, not a target."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.domain.readings import ModerationResult
from assistant.evaluation.common import (
    EvalContext,
    SectionResult,
    pct,
    read_csv,
    read_lines,
    read_tsv,
    table,
    target_mark,
)
from assistant.nlu.moderation import ModerationModel
from assistant.settings import PolicyConfig

NAME = "moderation"
TITLE = "Moderation: ordinary questions, angry customers, abuse and spam"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
LABELLED_FILE = PROJECT_ROOT / "benchmarks" / "data" / "moderation_labelled.jsonl"
LANGUAGES = ("en", "zh", "ru", "fr", "pl")
LABELS = ("angry_legitimate", "abusive", "spam", "neutral")
BENIGN_TARGET = 0.005  # benign questions moderated, on every intent set
ANGRY_TARGET = 0.02  # angry-legitimate classed as abuse, per language
ABUSE_RECALL_TARGET = 0.90
QUICK_SIZE = 300
EXAMPLES_SHOWN = 5


@dataclass(frozen=True)
class Labelled:
    text: str
    lang: str
    label: str
    round: int  # 1: the first 320 messages; 2: the harder ones added with the moderation rules (see SOURCE.md)


def load_labelled(path: Path) -> list[Labelled]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            row = Labelled(str(record["text"]), str(record["lang"]), str(record["label"]), int(record["round"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:{number}: not a labelled message ({error})") from error
        if row.label not in LABELS or row.lang not in LANGUAGES:
            raise ValueError(
                f"{path}:{number}: label {row.label!r} / lang {row.lang!r} not one of {LABELS} / {LANGUAGES}"
            )
        rows.append(row)
    return rows


def intent_sets(ctx: EvalContext) -> list[tuple[str, str, list[str]]]:
    """(key, title, test questions) of every intent set in the data folder; the cache labels match the
    sections that embed the same questions."""
    covid_pairs = read_csv(ctx.data_file("covid_faq_deepset", "eval_question_similarity_en.csv"))
    covid = sorted({p[k].strip() for p in covid_pairs for k in ("question_1", "question_2") if p[k].strip()})
    return [
        ("banking77-test", "BANKING77 test", [r["text"] for r in read_csv(ctx.data_file("banking77", "test.csv"))]),
        ("hwu64-test", "HWU64 test", read_lines(ctx.data_file("hwu64", "test", "seq.in"))),
        (
            "leyzer-en-US-test",
            "Leyzer en-US test",
            [r["utterance"] for r in read_tsv(ctx.data_file("leyzer", "leyzer-test-en-US-0.1.0.tsv"))],
        ),
        (
            "leyzer-pl-PL-test",
            "Leyzer pl-PL test",
            [r["utterance"] for r in read_tsv(ctx.data_file("leyzer", "leyzer-test-pl-PL-0.1.0.tsv"))],
        ),
        ("covid-questions-en", "COVID-QA questions (en, both sides of every pair)", covid),
    ]


def _flags(results: Sequence[ModerationResult], policy: PolicyConfig) -> list[tuple[bool, bool]]:
    return [(r.abuse >= policy.abuse_threshold, r.spam >= policy.spam_threshold) for r in results]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def benign(ctx: EvalContext, model: ModerationModel, policy: PolicyConfig) -> list[dict[str, Any]]:
    rows = []
    for offset, (key, title, texts) in enumerate(intent_sets(ctx)):
        texts = ctx.sample([t for t in texts if t.strip()], QUICK_SIZE, seed_offset=300 + offset)
        results = model.assess(ctx.embed(texts, key), texts)
        flags = _flags(results, policy)
        moderated = [(t, r) for t, r, (a, s) in zip(texts, results, flags, strict=True) if a or s]
        rows.append(
            {
                "key": key,
                "title": title,
                "questions": len(texts),
                "moderated": len(moderated),
                "moderated_share": _share(len(moderated), len(texts)),
                "as_abuse": sum(a for a, _ in flags),
                "as_spam": sum(s for _, s in flags),
                "examples": [
                    {"text": t, "abuse": round(r.abuse, 3), "spam": round(r.spam, 3), "reasons": r.reasons}
                    for t, r in moderated[:EXAMPLES_SHOWN]
                ],
            }
        )
    return rows


def labelled(ctx: EvalContext, model: ModerationModel, policy: PolicyConfig) -> dict[str, Any]:
    rows = load_labelled(LABELLED_FILE)
    texts = [r.text for r in rows]
    results = model.assess(ctx.embed(texts, "moderation-labelled"), texts)
    flags = _flags(results, policy)

    def rates(keep: Sequence[int]) -> dict[str, Any]:
        def of(label: str) -> list[int]:
            return [i for i in keep if rows[i].label == label]

        angry, abusive, spam, neutral = of("angry_legitimate"), of("abusive"), of("spam"), of("neutral")
        return {
            "messages": len(keep),
            "angry": len(angry),
            "angry_as_abuse": _share(sum(flags[i][0] for i in angry), len(angry)),
            "angry_moderated": _share(sum(any(flags[i]) for i in angry), len(angry)),
            "abusive": len(abusive),
            "abuse_recall": _share(sum(flags[i][0] for i in abusive), len(abusive)),
            "abusive_moderated": _share(sum(any(flags[i]) for i in abusive), len(abusive)),
            "spam": len(spam),
            "spam_recall": _share(sum(flags[i][1] for i in spam), len(spam)),
            "spam_moderated": _share(sum(any(flags[i]) for i in spam), len(spam)),
            "neutral": len(neutral),
            "neutral_moderated": _share(sum(any(flags[i]) for i in neutral), len(neutral)),
        }

    everything = range(len(rows))
    wrong = [
        {
            "lang": rows[i].lang,
            "label": rows[i].label,
            "text": rows[i].text,
            "abuse": round(results[i].abuse, 3),
            "spam": round(results[i].spam, 3),
            "reasons": results[i].reasons,
        }
        for i in everything
        if (rows[i].label in ("angry_legitimate", "neutral") and any(flags[i]))
        or (rows[i].label == "abusive" and not flags[i][0])
        or (rows[i].label == "spam" and not flags[i][1])
    ]
    return {
        "file": str(LABELLED_FILE.relative_to(PROJECT_ROOT)),
        "by_language": {lang: rates([i for i in everything if rows[i].lang == lang]) for lang in LANGUAGES},
        "by_round": {str(n): rates([i for i in everything if rows[i].round == n]) for n in (1, 2)},
        "all": rates(list(everything)),
        "errors": wrong,
    }


def tweeteval(ctx: EvalContext, model: ModerationModel, policy: PolicyConfig) -> list[dict[str, Any]]:
    rows = []
    for offset, task in enumerate(("offensive", "hate")):
        texts = read_lines(ctx.data_file("tweeteval", task, "test_text.txt"))
        labels = [x.strip() == "1" for x in read_lines(ctx.data_file("tweeteval", task, "test_labels.txt"))]
        if len(texts) != len(labels):
            raise ValueError(f"tweeteval/{task}: {len(texts)} texts but {len(labels)} labels")
        pairs = ctx.sample(list(zip(texts, labels, strict=True)), QUICK_SIZE, seed_offset=320 + offset)
        sample = [t for t, _ in pairs]
        flags = _flags(model.assess(ctx.embed(sample, f"tweeteval-{task}-test"), sample), policy)
        positive = [f[0] for f, (_, y) in zip(flags, pairs, strict=True) if y]
        negative = [f[0] for f, (_, y) in zip(flags, pairs, strict=True) if not y]
        flagged = sum(positive) + sum(negative)
        rows.append(
            {
                "task": task,
                "tweets": len(pairs),
                "positive": len(positive),
                "recall": _share(sum(positive), len(positive)),
                "flagged_negative": _share(sum(negative), len(negative)),
                "precision": _share(sum(positive), flagged),
            }
        )
    return rows


def run(ctx: EvalContext) -> SectionResult:
    result = SectionResult(NAME, TITLE)
    policy = ctx.settings.policy if ctx.settings is not None else PolicyConfig()
    model = ctx.signal_models().moderation
    benign_rows = benign(ctx, model, policy)
    labelled_data = labelled(ctx, model, policy)
    tweet_rows = tweeteval(ctx, model, policy)
    by_lang = labelled_data["by_language"]
    result.data = {
        "abuse_threshold": policy.abuse_threshold,
        "spam_threshold": policy.spam_threshold,
        "benign": benign_rows,
        "labelled": labelled_data,
        "tweeteval": tweet_rows,
        "headline": {
            "benign_moderated_max": max(r["moderated_share"] for r in benign_rows),
            "angry_as_abuse_max": max(r["angry_as_abuse"] for r in by_lang.values()),
            "abuse_recall_min": min(r["abuse_recall"] for r in by_lang.values()),
            "abuse_recall_all": labelled_data["all"]["abuse_recall"],
        },
    }
    md = result.markdown
    md += [
        f"The shipped moderation model (trained only on `assistant/resources/signals`) at the policy's thresholds "
        f"(abuse ≥ {policy.abuse_threshold:.2f}, spam ≥ {policy.spam_threshold:.2f}). A moderated message gets no "
        "reply and goes to the moderation queue. Spam needs evidence of spam (a link, a contact request, a promotion "
        "pattern, a spam phrase, repetition); abuse needs a slur, a threat or a person it is aimed at, so anger at "
        "the brand is escalated as a complaint instead.",
        "",
        "### Ordinary questions moderated (every test question of each intent set)",
        "",
    ]
    md += table(
        ["set", "questions", "moderated", "as abuse", "as spam", f"target ≤ {pct(BENIGN_TARGET)}"],
        [
            [
                r["title"],
                r["questions"],
                f"{r['moderated']} ({pct(r['moderated_share'], 2)})",
                r["as_abuse"],
                r["as_spam"],
                target_mark(r["moderated_share"], BENIGN_TARGET, higher_is_better=False),
            ]
            for r in benign_rows
        ],
    )
    shown = [(r["title"], e) for r in benign_rows for e in r["examples"]]
    if shown:
        md += ["", "Moderated ordinary questions (up to five per set):", ""]
        md += [f"- {title}: {e['text']!r} (abuse {e['abuse']:.2f}, spam {e['spam']:.2f})" for title, e in shown]
    md += [
        "",
        f"### Labelled set (`{labelled_data['file']}`, {labelled_data['all']['messages']} messages)",
        "",
        "Written for the project (see `benchmarks/data/SOURCE.md`); round 1 before this work, round 2 with it. "
        "The moderation rules and examples were written after reading round 1, and the classifier's "
        "regularisation was chosen on both rounds: these are in-sample figures, TweetEval below is not.",
        "",
    ]

    def lab_row(name: str, r: dict[str, Any]) -> list[object]:
        return [
            name,
            r["messages"],
            f"{pct(r['angry_as_abuse'])} ({target_mark(r['angry_as_abuse'], ANGRY_TARGET, higher_is_better=False)})",
            pct(r["angry_moderated"]),
            f"{pct(r['abuse_recall'])} ({target_mark(r['abuse_recall'], ABUSE_RECALL_TARGET)})",
            pct(r["spam_recall"]),
            pct(r["neutral_moderated"]),
        ]

    header = [
        "",
        "messages",
        f"angry → abuse (≤ {pct(ANGRY_TARGET)})",
        "angry moderated",
        f"abuse recall (≥ {pct(ABUSE_RECALL_TARGET)})",
        "spam recall",
        "neutral moderated",
    ]
    md += table(
        header,
        [lab_row(lang, by_lang[lang]) for lang in LANGUAGES]
        + [lab_row(f"round {n}", labelled_data["by_round"][n]) for n in ("1", "2")]
        + [lab_row("all", labelled_data["all"])],
    )
    if labelled_data["errors"]:
        md += ["", "Errors on the labelled set:", ""]
        md += [
            f"- {e['lang']} {e['label']}: {e['text']!r} (abuse {e['abuse']:.2f}, spam {e['spam']:.2f})"
            for e in labelled_data["errors"]
        ]
    md += [
        "",
        "### TweetEval offensive and hate (English tweets, test split; a reference)",
        "",
        "Other definitions: OffensEval counts any profanity or insult as offensive, aimed at anyone; HatEval "
        "hate is against immigrants and women. The product moderates only slurs, threats and abuse aimed at a "
        "person, so low recall here is expected; the share of the other tweets flagged says how often it errs. "
        "37% (offensive) and 46% (hate) of these tweets mention an `@user`, which counts as a person aimed at.",
        "",
    ]
    md += table(
        ["task", "tweets", "labelled positive", "recall (abuse ≥ threshold)", "other tweets flagged", "precision"],
        [
            [r["task"], r["tweets"], r["positive"], pct(r["recall"]), pct(r["flagged_negative"]), pct(r["precision"])]
            for r in tweet_rows
        ],
    )
    return result
