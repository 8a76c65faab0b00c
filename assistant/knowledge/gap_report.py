"""The content-gap report: questions the KB could not answer (escalated as out of scope or low confidence, or only
asked to rephrase or to choose and then given up) clustered by embedding into topics, plus entries never matched
and entries agents often mark wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faiss
import numpy as np
from sklearn.cluster import AgglomerativeClustering

from assistant.knowledge.entry_ids import derive_entry_id
from assistant.nlu.embeddings import Encoder

# Above this many distinct questions, k-means first condenses them into this many centroids, and the
# agglomerative step joins centroids: average linkage over 50,000 points would need a 10 GB distance matrix.
DIRECT_LIMIT = 2000
SUGGESTED_ID_LENGTH = 48  # a suggestion is the question's first words, not all of it


@dataclass(frozen=True)
class GapQuestion:
    """One question the bot did not answer, with a person's reply to it when there is one."""

    text: str
    language: str | None
    reason: str
    reply: str | None = None
    escalation_id: int | None = None
    at: datetime | None = None


@dataclass
class GapCluster:
    id: int
    count: int
    languages: dict[str, int]
    reasons: dict[str, int]
    examples: list[str]
    replies: list[str]
    escalation_ids: list[int]
    suggested_entry_id: str
    # Examples per language, most typical first: the question phrasings of a draft made from the cluster.
    examples_by_language: dict[str, list[str]] = field(default_factory=dict)
    replies_by_language: dict[str, list[str]] = field(default_factory=dict)

    def draft(self, default_language: str = "en") -> dict[str, Any]:
        """A draft KB entry (YAML shape): the examples as questions, the agents' replies as starting answers."""

        def known(lang: str) -> str:
            return default_language if lang == "und" else lang

        questions: dict[str, list[str]] = {}
        for lang, texts in self.examples_by_language.items():
            questions.setdefault(known(lang), []).extend(texts[: 5 - len(questions.get(known(lang), []))])
        answers: dict[str, str] = {}
        for lang, replies in self.replies_by_language.items():
            if replies:
                answers.setdefault(known(lang), replies[0])
        if not answers:
            # An answer is required; the editor replaces this before review.
            main = max(self.languages, key=lambda lang: self.languages[lang]) if self.languages else default_language
            answers = {known(main): "TODO: write the answer to: " + (self.examples[0] if self.examples else "")}
        return {
            "id": self.suggested_entry_id,
            "tags": ["gap-report"],
            "status": "draft",
            "questions": questions or {default_language: self.examples[:5]},
            "answers": answers,
        }


@dataclass(frozen=True)
class WrongEntry:
    entry_id: str
    wrong: int
    rated: int

    @property
    def share(self) -> float:
        return self.wrong / self.rated if self.rated else 0.0


@dataclass
class GapReport:
    since: datetime | None
    until: datetime | None
    questions: int
    clusters: list[GapCluster]
    never_matched: list[str]
    often_wrong: list[WrongEntry]
    threshold: float


def cluster_vectors(vectors: np.ndarray, distance: float, seed: int = 13) -> np.ndarray:
    """Cluster labels for L2-normalised vectors: average-linkage agglomerative clustering that stops merging at
    cosine `distance`; for many vectors, spherical k-means condenses them first and the centroids are joined."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    if n <= DIRECT_LIMIT:
        return _agglomerate(vectors, distance)
    k = min(DIRECT_LIMIT // 2, max(2, n // 20))
    kmeans = faiss.Kmeans(vectors.shape[1], k, niter=15, spherical=True, seed=seed, verbose=False)
    kmeans.train(np.ascontiguousarray(vectors, dtype=np.float32))
    _, assigned = kmeans.index.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
    raw = np.asarray(kmeans.centroids, dtype=np.float32)
    centroids = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
    centroid_labels = _agglomerate(centroids.astype(np.float32), distance)
    return np.asarray(centroid_labels[assigned[:, 0]], dtype=np.int64)


def _agglomerate(vectors: np.ndarray, distance: float) -> np.ndarray:
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average")
    return np.asarray(model.fit_predict(vectors), dtype=np.int64)


def suggest_entry_id(text: str, taken: set[str]) -> str:
    """A readable, unused entry id from a question: the id `kb import` would derive from it (accents dropped,
    "zwrócić" → "zwrocic"; see `assistant.knowledge.entry_ids`), cut to its first words, made free and taken."""
    derived = derive_entry_id(text)
    base = derived.entry_id if derived.hashed else derived.entry_id[:SUGGESTED_ID_LENGTH].rstrip("-")
    return take_free_entry_id(base, taken)


def take_free_entry_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3` … the first one not in `taken`; added to `taken`."""
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def build_gap_report(
    questions: Sequence[GapQuestion],
    encoder: Encoder,
    *,
    distance: float = 0.35,
    min_count: int = 1,
    examples: int = 5,
    published_ids: Sequence[str] = (),
    match_counts: Mapping[str, int] | None = None,
    feedback: Mapping[str, Mapping[str, int]] | None = None,
    min_wrong: int = 2,
    wrong_share: float = 0.3,
    since: datetime | None = None,
    until: datetime | None = None,
    existing_ids: Sequence[str] = (),
) -> GapReport:
    """The report: clusters biggest first; published entries with no match in the window; entries whose
    suggestions agents rated wrong at least `min_wrong` times and in at least `wrong_share` of ratings."""
    keys: dict[str, int] = {}
    distinct: list[str] = []
    for q in questions:
        key = " ".join(q.text.casefold().split())
        if key not in keys:
            keys[key] = len(distinct)
            distinct.append(q.text)
    # Encode and cluster each distinct text once: the same question asked 500 times is one point, counted 500.
    vectors = encoder.encode(distinct)
    labels = cluster_vectors(vectors, distance)
    members: dict[int, list[int]] = {}
    for i, q in enumerate(questions):
        label = int(labels[keys[" ".join(q.text.casefold().split())]])
        members.setdefault(label, []).append(i)
    taken = set(existing_ids)
    clusters: list[GapCluster] = []
    for label, indices in sorted(members.items(), key=lambda item: (-len(item[1]), item[0])):
        if len(indices) < min_count:
            continue
        clusters.append(_cluster(len(clusters) + 1, label, indices, questions, keys, vectors, labels, examples, taken))
    counts = match_counts or {}
    never = sorted(entry_id for entry_id in published_ids if counts.get(entry_id, 0) == 0)
    wrong: list[WrongEntry] = []
    for entry_id, verdicts in (feedback or {}).items():
        bad = int(verdicts.get("wrong", 0))
        rated = int(sum(verdicts.values()))
        if bad >= min_wrong and rated and bad / rated >= wrong_share:
            wrong.append(WrongEntry(entry_id, bad, rated))
    wrong.sort(key=lambda w: (-w.wrong, -w.share, w.entry_id))
    return GapReport(since, until, len(questions), clusters, never, wrong, distance)


def _cluster(
    number: int,
    label: int,
    indices: list[int],
    questions: Sequence[GapQuestion],
    keys: dict[str, int],
    vectors: np.ndarray,
    labels: np.ndarray,
    examples: int,
    taken: set[str],
) -> GapCluster:
    rows = np.flatnonzero(labels == label)
    centroid = vectors[rows].mean(axis=0)
    # Most typical first: the distinct texts nearest the cluster's centre, weighted by nothing else.
    closeness = {int(r): float(vectors[r] @ centroid) for r in rows}
    ordered = sorted(indices, key=lambda i: -closeness[keys[" ".join(questions[i].text.casefold().split())]])
    seen: set[str] = set()
    examples_all: list[str] = []
    by_lang: dict[str, list[str]] = {}
    replies: list[str] = []
    replies_by_lang: dict[str, list[str]] = {}
    for i in ordered:
        q = questions[i]
        key = " ".join(q.text.casefold().split())
        lang = q.language or "und"
        if key not in seen:
            seen.add(key)
            if len(examples_all) < examples:
                examples_all.append(q.text)
            if len(by_lang.setdefault(lang, [])) < examples:
                by_lang[lang].append(q.text)
        if q.reply and q.reply not in replies:
            replies.append(q.reply)
            replies_by_lang.setdefault(lang, []).append(q.reply)
    languages = Counter(q.language or "und" for q in (questions[i] for i in indices))
    reasons = Counter(questions[i].reason for i in indices)
    escalations = sorted({e for i in indices if (e := questions[i].escalation_id) is not None})
    return GapCluster(
        id=number,
        count=len(indices),
        languages=dict(languages.most_common()),
        reasons=dict(reasons.most_common()),
        examples=examples_all,
        replies=replies[:examples],
        escalation_ids=escalations,
        suggested_entry_id=suggest_entry_id(examples_all[0] if examples_all else "gap", taken),
        examples_by_language={lang: texts for lang, texts in by_lang.items() if lang != "und"}
        or {"und": by_lang.get("und", [])},
        replies_by_language={lang: texts[:3] for lang, texts in replies_by_lang.items()},
    )


def report_to_dict(report: GapReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (the CLI's --json and the API share it)."""
    return {
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "questions": report.questions,
        "threshold": report.threshold,
        "clusters": [
            {
                "id": c.id,
                "count": c.count,
                "languages": c.languages,
                "reasons": c.reasons,
                "examples": c.examples,
                "replies": c.replies,
                "escalation_ids": c.escalation_ids,
                "suggested_entry_id": c.suggested_entry_id,
            }
            for c in report.clusters
        ],
        "never_matched": report.never_matched,
        "often_wrong": [
            {"entry_id": w.entry_id, "wrong": w.wrong, "rated": w.rated, "share": round(w.share, 3)}
            for w in report.often_wrong
        ],
    }
