"""What the language models read in a message, as plain values: its language, the intent or KB entry it asks
for and how sure that is, the nearest KB phrasings, sentiment, abuse and spam, a risky topic. The models in
`assistant.nlu` and `assistant.knowledge.retrieval` produce them; the policy decides on them."""

from __future__ import annotations

from dataclasses import dataclass, field

FAQ_PREFIX = "faq:"
INTENT_PREFIX = "intent:"
LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    confidence: float
    method: str


@dataclass(frozen=True)
class SentimentScore:
    negative: float
    neutral: float
    positive: float

    @property
    def label(self) -> str:
        values = (self.negative, self.neutral, self.positive)
        return LABELS[values.index(max(values))]  # the first of equal maxima, as numpy's argmax


@dataclass(frozen=True)
class RiskResult:
    topic: str | None
    score: float
    keywords: list[str]


@dataclass(frozen=True)
class ModerationResult:
    abuse: float
    spam: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float
    lang: str
    text: str


@dataclass(frozen=True)
class IntentPrediction:
    label: str
    confidence: float
    probability: float
    similarity: float
    alternatives: list[tuple[str, float]]

    @property
    def entry_id(self) -> str | None:
        return self.label.removeprefix(FAQ_PREFIX) if self.label.startswith(FAQ_PREFIX) else None

    @property
    def intent(self) -> str | None:
        return self.label.removeprefix(INTENT_PREFIX) if self.label.startswith(INTENT_PREFIX) else None

    def reaches(self, threshold: float) -> bool:
        """Confident enough to act on: the one comparison of a confidence with the calibrated threshold."""
        return self.confidence >= threshold

    def answers_from_kb(self, threshold: float) -> bool:
        """What the policy answers from the KB (when the entry is published): a KB entry, confident enough. The
        evaluation sections count answers with this too."""
        return self.entry_id is not None and self.reaches(threshold)
