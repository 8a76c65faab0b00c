"""COVID FAQ retrieval (deepset COVID-QA): paraphrased questions against the 213 FAQ questions through
the product's FaqIndex, next to BM25; plus the similarity cut-off that separates the labelled non-matches."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.domain.kb_entries import KBEntry, KnowledgeBase
from assistant.evaluation.common import EvalContext, SectionResult, pct, read_csv, table
from assistant.knowledge.retrieval import FaqIndex, phrasings_of

NAME = "covid"
TITLE = "COVID FAQ retrieval"
K = 10
_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ranking_metrics(ranked: Sequence[Sequence[str]], gold: Sequence[str]) -> dict[str, float]:
    """MRR@10, recall@1 and recall@5 of ranked entry ids against one gold id per query."""
    reciprocal, at1, at5 = [], [], []
    for ids, target in zip(ranked, gold, strict=True):
        top = list(ids)[:K]
        rank = top.index(target) + 1 if target in top else None
        reciprocal.append(1.0 / rank if rank else 0.0)
        at1.append(rank == 1)
        at5.append(rank is not None and rank <= 5)
    return {"mrr@10": float(np.mean(reciprocal)), "recall@1": float(np.mean(at1)), "recall@5": float(np.mean(at5))}


def best_cutoff(positive: np.ndarray, negative: np.ndarray) -> dict[str, float]:
    """The similarity cut-off with the best balanced accuracy over the labelled pairs (chosen in-sample)."""
    candidates = np.unique(np.concatenate([positive, negative]))
    best: dict[str, float] = {}
    for cut in candidates:
        kept = float((positive >= cut).mean())
        rejected = float((negative < cut).mean())
        balanced = (kept + rejected) / 2
        if not best or balanced > best["balanced_accuracy"]:
            best = {
                "cutoff": float(cut),
                "positives_kept": kept,
                "negatives_rejected": rejected,
                "balanced_accuracy": balanced,
            }
    return best


def run(ctx: EvalContext) -> SectionResult:
    import bm25s

    result = SectionResult(NAME, TITLE)
    faq = read_csv(ctx.data_file("covid_faq_deepset", "faq_covidbert.csv"))
    pairs = read_csv(ctx.data_file("covid_faq_deepset", "eval_question_similarity_en.csv"))
    # Each FAQ row is its own entry; a question repeated in the file keeps its first entry as the gold one.
    entries = [
        KBEntry(
            id=f"covid-{i:03d}",
            questions={"en": [row["question"].strip()]},
            answers={"en": row["answer"].strip() or "-"},
        )
        for i, row in enumerate(faq)
    ]
    first_id: dict[str, str] = {}
    for entry in entries:
        first_id.setdefault(entry.questions["en"][0], entry.id)
    positives = [p for p in pairs if p["similar"].strip() == "1" and p["question_1"].strip() in first_id]
    negatives = [p for p in pairs if p["similar"].strip() == "0"]
    unmatched = sum(1 for p in pairs if p["similar"].strip() == "1" and p["question_1"].strip() not in first_id)
    queries = [p["question_2"] for p in positives]
    gold = [first_id[p["question_1"].strip()] for p in positives]

    kb = KnowledgeBase(entries)
    phrasings = phrasings_of(kb)
    corpus_vectors = ctx.embed([p.text for p in phrasings], "covid-faq")
    index = FaqIndex.from_vectors(corpus_vectors, phrasings, ctx.encoder.name, kb.version)
    query_vectors = ctx.embed(queries, "covid-queries")
    ours = [[hit.entry_id for hit in hits] for hits in index.search(query_vectors, k=K)]
    ours_metrics = ranking_metrics(ours, gold)

    retriever = bm25s.BM25()
    retriever.index([tokenize(p.text) for p in phrasings], show_progress=False)
    # bm25s rejects an empty query token list; a query of only stop characters gets a dummy token.
    docs, _ = retriever.retrieve([tokenize(q) or ["_"] for q in queries], k=min(K, len(phrasings)), show_progress=False)
    bm25 = [[phrasings[int(d)].entry_id for d in row] for row in docs]
    bm25_metrics = ranking_metrics(bm25, gold)

    # Pair similarity for the no-answer cut-off: cosine of question_2 with its labelled FAQ question_1.
    pos_sim = np.sum(ctx.embed([p["question_1"] for p in positives], "covid-pos-q1") * query_vectors, axis=1)
    neg_q1 = ctx.embed([p["question_1"] for p in negatives], "covid-neg-q1")
    neg_q2 = ctx.embed([p["question_2"] for p in negatives], "covid-neg-q2")
    neg_sim = np.sum(neg_q1 * neg_q2, axis=1)
    cutoff = best_cutoff(pos_sim, neg_sim)
    # The same cut-off applied to retrieval: a negative whose best FAQ match scores below it is not answered.
    neg_top = np.array([hits[0].score if hits else 0.0 for hits in index.search(neg_q2, k=1)])
    neg_top_rejected = float((neg_top < cutoff["cutoff"]).mean())

    data: dict[str, Any] = {
        "faq_entries": len(entries),
        "queries": len(queries),
        "negatives": len(negatives),
        "positives_without_faq_match": unmatched,
        "ours": ours_metrics,
        "bm25": bm25_metrics,
        "cutoff": cutoff,
        "negatives_top_hit_rejected": neg_top_rejected,
        "positive_similarity_median": float(np.median(pos_sim)),
        "negative_similarity_median": float(np.median(neg_sim)),
    }
    result.data = data
    md = result.markdown
    md.append(
        f"{len(entries)} FAQ questions indexed (one entry each); {len(queries)} paraphrased questions "
        f"(`similar=1`) as queries, gold = the FAQ entry of their `question_1`"
        + (f" ({unmatched} positive pairs had no matching FAQ question and were dropped)." if unmatched else ".")
    )
    md.append("")
    md += table(
        ["retriever", "MRR@10", "recall@1", "recall@5"],
        [
            [
                f"FaqIndex ({ctx.encoder.name}, FAISS inner product)",
                f"{ours_metrics['mrr@10']:.3f}",
                pct(ours_metrics["recall@1"]),
                pct(ours_metrics["recall@5"]),
            ],
            [
                "BM25 (bm25s, lowercase word tokens)",
                f"{bm25_metrics['mrr@10']:.3f}",
                pct(bm25_metrics["recall@1"]),
                pct(bm25_metrics["recall@5"]),
            ],
        ],
    )
    md.append("")
    md.append(
        f"No-answer cut-off from the {len(negatives)} labelled non-matching pairs (`similar=0`): the cosine "
        f"cut-off with the best balanced accuracy is **{cutoff['cutoff']:.3f}**; it rejects "
        f"**{pct(cutoff['negatives_rejected'])}** of the negative pairs and keeps "
        f"{pct(cutoff['positives_kept'])} of the positive pairs (chosen on these same pairs, so optimistic). "
        f"Median pair similarity: positives {np.median(pos_sim):.3f}, negatives {np.median(neg_sim):.3f}. "
        f"Applied to retrieval, {pct(neg_top_rejected)} of the negative questions have a best FAQ match below "
        "the cut-off (the rest resemble *some* FAQ question, often a genuinely related one)."
    )
    return result
