"""Spam and abuse signals: a classifier over the shared embeddings (abusive / spam / clean examples per
language), insult and spam-phrase lists, and link, repetition and shouting heuristics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.classifier import EmbeddingClassifier
from assistant.keywords import KeywordMatcher
from assistant.resources import load_yaml, resource_path

_LINK = re.compile(r"(https?://|www\.|\b[\w-]+\.(?:com|net|org|io|xyz|top|ru|cn|biz|info|link|click)\b)", re.I)
_REPEATED_CHAR = re.compile(r"(.)\1{7,}")
_REPEATED_WORD = re.compile(r"\b(\w+)(\W+\1\b){4,}", re.I)


@dataclass(frozen=True)
class ModerationResult:
    abuse: float
    spam: float
    reasons: list[str] = field(default_factory=list)


def load_abuse_file(path: Path | None = None) -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(path or resource_path("signals/abuse.yml"))
    return document


class ModerationModel:
    def __init__(self, classifier: EmbeddingClassifier, insults: KeywordMatcher, spam_phrases: KeywordMatcher) -> None:
        self.classifier = classifier
        self.insults = insults
        self.spam_phrases = spam_phrases

    @classmethod
    def examples(cls, document: dict[str, Any]) -> list[tuple[str, str]]:
        return [
            (text, label)
            for by_label in document["examples"].values()
            for label, texts in by_label.items()
            for text in texts
        ]

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: list[str], document: dict[str, Any]) -> ModerationModel:
        classifier = EmbeddingClassifier(c=2.0, class_weight="balanced").fit(vectors, labels)
        return cls(classifier, KeywordMatcher(document["insults"]), KeywordMatcher(document["spam_phrases"]))

    def assess(self, vectors: np.ndarray, texts: list[str]) -> list[ModerationResult]:
        probs = self.classifier.predict_proba(vectors) if len(vectors) else np.zeros((0, 3))
        abusive, spam = self.classifier.classes.index("abusive"), self.classifier.classes.index("spam")
        return [self._one(text, float(row[abusive]), float(row[spam])) for text, row in zip(texts, probs, strict=True)]

    def _one(self, text: str, p_abuse: float, p_spam: float) -> ModerationResult:
        reasons = []
        abuse, spam = p_abuse, p_spam
        insults = self.insults.find(text)
        if insults:
            abuse = max(abuse, 0.9)
            reasons.append(f"insult words: {', '.join(sorted(set(insults))[:3])}")
        phrases = self.spam_phrases.find(text)
        if phrases:
            spam = max(spam, 0.85)
            reasons.append(f"spam phrases: {', '.join(sorted(set(phrases))[:3])}")
        links = len(_LINK.findall(text))
        if links:
            # One link is normal in support chats; several, or a link in a spammy message, is not.
            spam = min(1.0, spam + 0.15 * links + (0.3 if p_spam > 0.5 else 0.0))
            reasons.append(f"{links} link(s)")
        if _REPEATED_CHAR.search(text) or _REPEATED_WORD.search(text):
            spam = min(1.0, spam + 0.3)
            reasons.append("heavy repetition")
        letters = [ch for ch in text if ch.isalpha()]
        if len(letters) >= 20 and sum(ch.isupper() for ch in letters) / len(letters) > 0.8:
            abuse = min(1.0, abuse + 0.1)
            reasons.append("shouting (all caps)")
        return ModerationResult(abuse=abuse, spam=spam, reasons=reasons)
