"""Sentiment in every configured language: a classifier over the shared embeddings, trained on example
messages the project writes (`resources/signals/sentiment.yml`), with VADER as an extra English signal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from assistant.domain.readings import LABELS, SentimentScore
from assistant.nlu.classifier import EmbeddingClassifier
from assistant.resources import load_yaml, resource_path

# VADER reads English lexically; it catches strong words the embedding blurs, so it nudges, never decides.
VADER_WEIGHT = 0.25


def load_sentiment_examples(path: Path | None = None) -> list[tuple[str, str, str]]:
    """(text, label, lang) triples from the shipped examples file."""
    document: dict[str, Any] = load_yaml(path or resource_path("signals/sentiment.yml"))
    rows = []
    for lang, by_label in document["examples"].items():
        for label, texts in by_label.items():
            if label not in LABELS:
                raise ValueError(f"sentiment examples: unknown label {label!r} in {lang}")
            rows += [(text, label, lang) for text in texts]
    return rows


class SentimentModel:
    def __init__(self, classifier: EmbeddingClassifier, vader_weight: float = VADER_WEIGHT) -> None:
        self.classifier = classifier
        self.vader_weight = vader_weight
        self._vader = SentimentIntensityAnalyzer()

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: list[str], vader_weight: float = VADER_WEIGHT) -> SentimentModel:
        return cls(EmbeddingClassifier(c=2.0, class_weight="balanced").fit(vectors, labels), vader_weight)

    def score(self, vectors: np.ndarray, texts: list[str], languages: list[str]) -> list[SentimentScore]:
        probs = self.classifier.predict_proba(vectors) if len(vectors) else np.zeros((0, 3))
        order = [self.classifier.classes.index(label) for label in LABELS]
        results = []
        for row, text, lang in zip(probs[:, order], texts, languages, strict=True):
            if lang == "en" and self.vader_weight > 0:
                polarity = self._vader.polarity_scores(text)
                lexical = np.array([polarity["neg"], polarity["neu"], polarity["pos"]])
                if lexical.sum() > 0:
                    row = (1 - self.vader_weight) * row + self.vader_weight * lexical / lexical.sum()
            results.append(SentimentScore(float(row[0]), float(row[1]), float(row[2])))
        return results

    def __getstate__(self) -> dict[str, Any]:
        return {"classifier": self.classifier, "vader_weight": self.vader_weight}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["classifier"], state["vader_weight"])  # type: ignore[misc]
