"""Language identification accuracy of the product's LanguageIdentifier (script rules + lingua restricted
to en/zh/ru/fr/pl) on tweets, reviews, assistant utterances and the KB's own question phrasings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from assistant.evaluation.common import (
    EvalContext,
    SectionResult,
    fixed_sample,
    pct,
    progress_bar,
    read_csv,
    read_lines,
    read_tsv,
    table,
    target_mark,
)
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.nlu.language import LanguageIdentifier

NAME = "language"
TITLE = "Language identification"
LANGUAGES = ("en", "zh", "ru", "fr", "pl")
TARGET = 0.97
ZH_SAMPLE = 1000
QUICK_SIZE = 100


def sources(ctx: EvalContext) -> list[tuple[str, str, list[str]]]:
    """(source name, true language, texts); missing data sets are skipped, the KB is read from settings."""
    found: list[tuple[str, str, list[str]]] = []
    quick = QUICK_SIZE

    def add(name: str, lang: str, texts: list[str], offset: int) -> None:
        texts = [t for t in texts if t.strip()]
        found.append((name, lang, ctx.sample(texts, quick, seed_offset=offset)))

    for offset, (folder, lang) in enumerate([("english", "en"), ("french", "fr")]):
        path = ctx.data_root / "umsab_sentiment" / folder / "test_text.txt"
        if path.exists():
            add(f"UMSAB {folder} test tweets", lang, read_lines(path), 30 + offset)
    for offset, file in enumerate(("waimai_10k.csv", "ChnSentiCorp_htl_all.csv")):
        path = ctx.data_root / "zh_sentiment" / file
        if path.exists():
            reviews = [r["review"] for r in read_csv(path) if (r.get("review") or "").strip()]
            # A fixed random sample: these are long reviews, full coverage adds time and no information.
            sample = fixed_sample(reviews, ZH_SAMPLE, ctx.seed + 40 + offset)
            add(
                f"{file.removesuffix('.csv')} reviews (sample of {min(ZH_SAMPLE, len(reviews)):,})",
                "zh",
                sample,
                42 + offset,
            )
    for offset, (locale, lang) in enumerate([("pl-PL", "pl"), ("en-US", "en")]):
        path = ctx.data_root / "leyzer" / f"leyzer-test-{locale}-0.1.0.tsv"
        if path.exists():
            add(f"Leyzer {locale} test utterances", lang, [r["utterance"] for r in read_tsv(path)], 50 + offset)
    if ctx.settings is not None and ctx.settings.kb_dir.is_dir():
        kb = load_knowledge_base(ctx.settings.kb_dir)
        for offset, lang in enumerate(LANGUAGES):
            texts = [q for e in kb.published() for q in e.questions.get(lang, [])]
            if texts:
                add(f"KB question phrasings [{lang}]", lang, texts, 60 + offset)
    return found


def run(ctx: EvalContext) -> SectionResult:
    result = SectionResult(NAME, TITLE)
    identifier = LanguageIdentifier(LANGUAGES, "en")
    rows: list[dict[str, Any]] = []
    total = correct_total = 0
    found = sources(ctx)
    with progress_bar() as progress:
        task = progress.add_task("language id", total=sum(len(t) for _, _, t in found))
        for name, lang, texts in found:
            guesses = []
            for text in texts:
                guesses.append(identifier.identify(text).language)
                progress.advance(task)
            correct = sum(1 for g in guesses if g == lang)
            wrong = Counter(g for g in guesses if g != lang)
            examples = [t for t, g in zip(texts, guesses, strict=True) if g != lang][:3]
            rows.append(
                {
                    "source": name,
                    "lang": lang,
                    "rows": len(texts),
                    "correct": correct,
                    "accuracy": correct / len(texts) if texts else 0.0,
                    "mistaken_for": dict(wrong),
                    "examples_wrong": examples,
                }
            )
            total += len(texts)
            correct_total += correct
    overall = correct_total / total if total else 0.0
    by_lang = {lang: [r for r in rows if r["lang"] == lang] for lang in LANGUAGES}
    macro = {lang: sum(r["correct"] for r in rs) / sum(r["rows"] for r in rs) for lang, rs in by_lang.items() if rs}
    result.data = {
        "sources": rows,
        "overall": overall,
        "rows": total,
        "per_language": macro,
        "languages": list(LANGUAGES),
        "default": "en",
    }
    md = result.markdown
    md.append(
        f"`LanguageIdentifier({LANGUAGES}, default='en')` on each text without a hint. Russian appears only "
        "in the KB phrasings (no Russian data set is available)."
    )
    md.append("")
    md += table(
        ["source", "true lang", "texts", "accuracy", "mistaken for"],
        [
            [
                r["source"],
                r["lang"],
                f"{r['rows']:,}",
                pct(r["accuracy"]),
                ", ".join(f"{k} {v}" for k, v in sorted(r["mistaken_for"].items(), key=lambda kv: -kv[1])) or "—",
            ]
            for r in rows
        ]
        + [
            [
                "**overall (all texts)**",
                "all",
                f"{total:,}",
                f"**{pct(overall)}**",
                f"target ≥ {pct(TARGET, 0)} ({target_mark(overall, TARGET)})",
            ]
        ],
    )
    md.append("")
    md.append("Per language (all sources pooled): " + ", ".join(f"{k} {pct(v)}" for k, v in macro.items()) + ".")
    return result
