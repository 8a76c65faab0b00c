"""The answer engine: messages in, decisions out. It cleans and analyses a batch of messages with one
embedding call (language, intent and FAQ match, sentiment, spam/abuse, risky topics; short follow-ups also read
with the conversation's previous question) and applies the policy."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import faiss

from assistant.domain.business_hours import BusinessHours
from assistant.domain.followup import previous_question, read_follow_up
from assistant.domain.kb_entries import KnowledgeBase
from assistant.domain.messages import ConversationState, Decision, InboundMessage
from assistant.domain.policy import MessageAnalysis, Policy
from assistant.domain.voice import BrandVoice
from assistant.knowledge.index_builds import build_version
from assistant.knowledge.index_migration import published_pointer
from assistant.knowledge.index_versions import load_version
from assistant.knowledge.knowledge_base import load_knowledge_base
from assistant.knowledge.retrieval import FaqIndex
from assistant.nlu.embeddings import Encoder, shared_encoder
from assistant.nlu.intent_model import IntentModel
from assistant.nlu.language import LanguageIdentifier, has_words
from assistant.nlu.signal_models import SignalModels
from assistant.settings import Settings


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """NFC text without control characters (newlines and tabs become spaces), cut at `limit` characters."""
    normalized = unicodedata.normalize("NFC", text)
    kept = "".join(
        " " if ch in "\n\r\t" else ch
        for ch in normalized
        if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\n\r\t"
    )
    collapsed = " ".join(kept.split())
    return collapsed[:limit], len(collapsed) > limit


@dataclass
class Engine:
    settings: Settings
    encoder: Encoder
    kb: KnowledgeBase
    index: FaqIndex
    intents: IntentModel
    signals: SignalModels
    languages: LanguageIdentifier
    policy: Policy

    @classmethod
    def load(
        cls,
        settings: Settings,
        encoder: Encoder | None = None,
        signals: SignalModels | None = None,
        version: int | None = None,
    ) -> Engine:
        """The engine of an index version (default: the published one; a data folder in the legacy layout is
        migrated first) with `signals` (default: those of the models folder). Missing or mismatched files fail
        with what to run."""
        encoder = encoder or shared_encoder()
        faiss.omp_set_num_threads(settings.models.faiss_threads)
        version = version or published_pointer(settings, encoder).version
        assets = load_version(settings.index_dir, version, encoder.name)
        signals = signals or SignalModels.load(settings.models_dir, encoder.name)
        return cls.assemble(settings, encoder, assets.kb, assets.index, assets.intents, signals)

    @classmethod
    def assemble(
        cls,
        settings: Settings,
        encoder: Encoder,
        kb: KnowledgeBase,
        index: FaqIndex,
        intents: IntentModel,
        signals: SignalModels,
    ) -> Engine:
        voice = BrandVoice.load(settings.brand, settings.default_language, settings.responses_file)
        policy = Policy(
            config=settings.policy,
            threshold=intents.threshold,
            kb_threshold=intents.kb_threshold,
            out_of_scope_similarity=intents.out_of_scope_similarity,
            hours=BusinessHours.from_config(settings.business_hours),
            voice=voice,
            kb=kb,
        )
        languages = LanguageIdentifier(settings.languages, settings.default_language)
        return cls(settings, encoder, kb, index, intents, signals, languages, policy)

    def warm_up(self) -> None:
        """Decide one throwaway message, so that the first real one does not wait for what loads lazily (the
        encoder's weights, about a second): `assistant shell` answers its first turn as fast as the next."""
        self.decide(InboundMessage(text="Hello, where is my order?"))

    def analyse(
        self,
        messages: Sequence[InboundMessage],
        conversations: Sequence[ConversationState] | None = None,
        now: datetime | None = None,
    ) -> list[MessageAnalysis]:
        config = self.settings.policy
        now = now or datetime.now(UTC)
        states = list(conversations) if conversations is not None else [ConversationState() for _ in messages]
        cleaned = [clean_text(m.text, config.max_message_chars) for m in messages]
        worded = [i for i, (text, _) in enumerate(cleaned) if has_words(text)]
        texts = [cleaned[i][0] for i in worded]
        # Short follow-ups are also read with the previous question: those texts join the same encode call.
        previous: dict[int, tuple[str, str]] = {}
        for n, i in enumerate(worded):
            question = previous_question(
                states[i], texts[n], now, config.followup_max_words, config.followup_window_minutes
            )
            if question is not None:
                previous[n] = (question, clean_text(f"{question} {texts[n]}", config.max_message_chars)[0])
        extra = {n: len(texts) + k for k, n in enumerate(previous)}
        vectors = self.encoder.encode(texts + [combined for _, combined in previous.values()])
        predictions = self.intents.predict(vectors)
        hits = self.index.search(vectors, k=3)
        own = vectors[: len(texts)]
        # The conversation's language is the better hint: a platform's hint is the app's language, not the chat's.
        hints = [states[i].language or messages[i].language for i in range(len(messages))]
        guesses = [self.languages.identify(cleaned[i][0], hints[i]) for i in worded]
        sentiments = self.signals.sentiment.score(own, texts, [g.language for g in guesses])
        moderations = self.signals.moderation.assess(own, texts)
        risks = self.signals.risk.assess(own, texts)
        analyses: list[MessageAnalysis] = []
        by_position = {i: n for n, i in enumerate(worded)}
        for i in range(len(messages)):
            text, truncated = cleaned[i]
            position = by_position.get(i)
            if position is None:
                guess = self.languages.identify(text, hints[i])
                analyses.append(MessageAnalysis(text=text, language=guess, has_words=False, truncated=truncated))
                continue
            n = position
            followup = None
            if n in previous:
                question, combined = previous[n]
                followup = read_follow_up(
                    question,
                    combined,
                    states[i].previous_entry_id,
                    predictions[n],
                    predictions[extra[n]],
                    self.policy.threshold,
                    self.policy.answer_threshold,
                    self.policy.out_of_scope_similarity,
                )
            analyses.append(
                MessageAnalysis(
                    text=text,
                    language=guesses[n],
                    has_words=True,
                    truncated=truncated,
                    prediction=predictions[n],
                    hits=hits[n],
                    sentiment=sentiments[n],
                    moderation=moderations[n],
                    risk=risks[n],
                    human_keywords=self.signals.human_request.find(text),
                    followup=followup,
                    followup_hits=hits[extra[n]] if n in extra else [],
                )
            )
        return analyses

    def decide_batch(
        self,
        messages: Sequence[InboundMessage],
        conversations: Sequence[ConversationState] | None = None,
        now: datetime | None = None,
    ) -> list[Decision]:
        """Decisions for many messages with batched model calls; latency is the batch's time per message."""
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        states = list(conversations) if conversations is not None else [ConversationState() for _ in messages]
        analyses = self.analyse(messages, states, now)
        decisions = [self.policy.decide(m, a, s, now) for m, a, s in zip(messages, analyses, states, strict=True)]
        per_message = (time.perf_counter() - started) * 1000 / max(1, len(messages))
        for decision in decisions:
            decision.latency_ms = per_message
        return decisions

    def decide(
        self, message: InboundMessage, conversation: ConversationState | None = None, now: datetime | None = None
    ) -> Decision:
        return self.decide_batch([message], [conversation or ConversationState()], now)[0]


def train_engine(settings: Settings, encoder: Encoder | None = None, reason: str = "assistant train") -> Engine:
    """Train the signal models on the KB folder, publish an index version of it with the intent model trained and
    calibrated from scratch, and return the engine that serves it."""
    encoder = encoder or shared_encoder()
    kb = load_knowledge_base(settings.kb_dir)
    signals = SignalModels.train(encoder, settings.risky_topics_file, settings.nlu_file, kb)
    signals.save(settings.models_dir)
    info = build_version(settings, kb, encoder, reason, recalibrate=True, kb_source="yaml")
    return Engine.load(settings, encoder, signals, info.version)
