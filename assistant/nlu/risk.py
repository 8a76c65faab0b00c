"""Risky topics that always go to a person urgently (legal threats, safety, data breach, self-harm, …):
configurable keyword lists in every language plus a classifier over the shared embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assistant.domain.keywords import KeywordMatcher
from assistant.domain.readings import RiskResult
from assistant.nlu.classifier import EmbeddingClassifier
from assistant.resources import load_yaml, resource_path

NONE_LABEL = "none"
# The classifier alone flags a topic only when it is sure; keywords flag it outright.
CLASSIFIER_THRESHOLD = 0.9


def load_risky_topics(path: Path | None = None) -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(path or resource_path("signals/risky_topics.yml"))
    if not isinstance(document.get("topics"), dict):
        raise ValueError(f"{path}: expected a `topics:` mapping")
    return document


class RiskModel:
    def __init__(self, classifier: EmbeddingClassifier, matchers: dict[str, KeywordMatcher]) -> None:
        self.classifier = classifier
        self.matchers = matchers

    @classmethod
    def examples(cls, document: dict[str, Any], negatives: list[str]) -> list[tuple[str, str]]:
        rows = [
            (text, topic)
            for topic, spec in document["topics"].items()
            for texts in spec["examples"].values()
            for text in texts
        ]
        rows += [(text, NONE_LABEL) for texts in document.get("near_misses", {}).values() for text in texts]
        rows += [(text, NONE_LABEL) for text in negatives]
        return rows

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: list[str], document: dict[str, Any]) -> RiskModel:
        classifier = EmbeddingClassifier(c=4.0, class_weight="balanced").fit(vectors, labels)
        matchers = {topic: KeywordMatcher(spec.get("keywords", {})) for topic, spec in document["topics"].items()}
        return cls(classifier, matchers)

    def assess(self, vectors: np.ndarray, texts: list[str]) -> list[RiskResult]:
        probs = self.classifier.predict_proba(vectors) if len(vectors) else np.zeros((0, 1))
        results = []
        for text, row in zip(texts, probs, strict=True):
            hits = {topic: matcher.find(text) for topic, matcher in self.matchers.items()}
            hits = {topic: words for topic, words in hits.items() if words}
            if hits:
                topic = max(hits, key=lambda t: len(hits[t]))
                results.append(RiskResult(topic, 1.0, sorted(set(hits[topic]))))
                continue
            best = int(np.argmax(row))
            label = self.classifier.classes[best]
            if label != NONE_LABEL and row[best] >= CLASSIFIER_THRESHOLD:
                results.append(RiskResult(label, float(row[best]), []))
            else:
                results.append(RiskResult(None, float(1.0 - row[self.classifier.classes.index(NONE_LABEL)]), []))
        return results
