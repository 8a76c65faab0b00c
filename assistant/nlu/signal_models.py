"""The per-message signal models (sentiment, moderation, risky topics, wish for a person), trained
together by `assistant train` from the shipped example files and saved beside the intent model."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.keywords import KeywordMatcher
from assistant.nlu.embeddings import Encoder
from assistant.nlu.intent_model import ModelMismatchError
from assistant.nlu.model_files import load_model
from assistant.nlu.moderation import ModerationModel, load_abuse_file
from assistant.nlu.nlu_data import load_nlu
from assistant.nlu.risk import RiskModel, load_risky_topics
from assistant.nlu.sentiment import SentimentModel, load_sentiment_examples
from assistant.resources import load_yaml, resource_path

SIGNALS_FILE = "signals.pkl"
# The shipped files the signal models learn from; models trained from other versions of them are stale.
RESOURCE_FILES = ("abuse.yml", "sentiment.yml", "human_request.yml", "risky_topics.yml")
# Bumped when the saved objects change shape (issue 10: moderation gained slur, threat and target lists).
SIGNALS_FORMAT = 2


def resources_fingerprint() -> str:
    """A digest of the shipped signal resources and the saved format, kept with the trained models."""
    digest = hashlib.sha256(f"format {SIGNALS_FORMAT}".encode())
    for name in RESOURCE_FILES:
        digest.update(b"\x1e" + name.encode() + b"\x1f" + resource_path(f"signals/{name}").read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class SignalModels:
    model: str
    sentiment: SentimentModel
    moderation: ModerationModel
    risk: RiskModel
    human_request: KeywordMatcher
    resources: str = field(default_factory=resources_fingerprint)

    @classmethod
    def train(
        cls,
        encoder: Encoder,
        risky_topics_file: Path | None = None,
        nlu_file: Path | None = None,
        kb: KnowledgeBase | None = None,
    ) -> SignalModels:
        sentiment_rows = load_sentiment_examples()
        abuse = load_abuse_file()
        risky = load_risky_topics(risky_topics_file)
        moderation_rows = ModerationModel.examples(abuse)
        # Everyday messages, angry ones and complaints included, are what "not risky" looks like.
        ordinary = [text for text, _, _ in sentiment_rows] + [
            text for text, label in moderation_rows if label == "clean"
        ]
        ordinary += [example.text for example in load_nlu(nlu_file)] if nlu_file is not None else []
        # The KB's own questions are the commonest "not risky" messages ("I forgot my password" is no breach).
        ordinary += [q for entry in kb.published() for qs in entry.questions.values() for q in qs] if kb else []
        risk_rows = RiskModel.examples(risky, ordinary)
        texts = [r[0] for r in sentiment_rows] + [r[0] for r in moderation_rows] + [r[0] for r in risk_rows]
        vectors = encoder.encode(texts)
        a, b = len(sentiment_rows), len(sentiment_rows) + len(moderation_rows)
        human = load_yaml(resource_path("signals/human_request.yml"))["keywords"]
        return cls(
            model=encoder.name,
            sentiment=SentimentModel.fit(vectors[:a], [r[1] for r in sentiment_rows]),
            moderation=ModerationModel.fit(vectors[a:b], [r[1] for r in moderation_rows], abuse),
            risk=RiskModel.fit(vectors[b:], [r[1] for r in risk_rows], risky),
            human_request=KeywordMatcher(human),
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{SIGNALS_FILE}.tmp"
        tmp.write_bytes(pickle.dumps(self))
        tmp.replace(directory / SIGNALS_FILE)

    @classmethod
    def load(cls, directory: Path, expected_model: str) -> SignalModels:
        path = directory / SIGNALS_FILE
        if not path.exists():
            raise FileNotFoundError(f"no signal models in {directory}; run `assistant train`")
        models = load_model(path.read_bytes())
        if not isinstance(models, cls) or models.model != expected_model:
            raise ValueError(f"{path} was trained for another embedding model; run `assistant train`")
        if getattr(models, "resources", None) != resources_fingerprint():
            raise ModelMismatchError(
                f"{path} was trained from other versions of the shipped signal examples "
                f"(assistant/resources/signals); run `assistant train`"
            )
        return models
