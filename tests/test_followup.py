"""Follow-ups in context and the conversation's language as a hint, with the real model on the sample KB: a short
message is also read with the previous question, decided on that reading only when it says more, and never answered
again with the entry the previous question already got."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from assistant.domain.followup import read_follow_up, word_count
from assistant.domain.messages import ConversationState, Decision, DecisionKind, InboundMessage
from assistant.domain.readings import IntentPrediction
from assistant.pipeline import Engine

WARSAW = ZoneInfo("Europe/Warsaw")
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 30, tzinfo=WARSAW)  # closed


def after(text: str, entry_id: str | None, minutes: float = 2.0, **kwargs: Any) -> ConversationState:
    """A conversation whose previous question was `text`, answered with `entry_id` (None: not answered)."""
    return ConversationState(
        previous_text=text,
        previous_entry_id=entry_id,
        previous_at=SATURDAY_NIGHT - timedelta(minutes=minutes),
        **kwargs,
    )


def decide(engine: Engine, text: str, state: ConversationState) -> Decision:
    return engine.decide(InboundMessage(text=text), state, SATURDAY_NIGHT)


def test_word_count_counts_two_han_characters_as_a_word() -> None:
    assert word_count("and to Canada?") == 3
    assert word_count("et pour la Belgique ?") == 4
    assert word_count("那加拿大呢？") == 3
    assert word_count("How long does shipping to Germany take, and how much is it?") == 12


def test_a_short_follow_up_is_answered_from_the_previous_question(engine: Engine) -> None:
    # The warranty question was not answered (not confident); "how long?" alone is small talk to the model.
    previous = "Is there a warranty on the stoves?"
    alone = decide(engine, "how long?", ConversationState())
    assert alone.kind != DecisionKind.KB_ANSWER
    decision = decide(engine, "how long?", after(previous, None, rephrase_asked=True))
    assert decision.kind == DecisionKind.KB_ANSWER and decision.entry_id == "product-warranty", decision.reasons
    assert decision.read_as == f"{previous} how long?"
    assert any("read with the previous question" in reason for reason in decision.reasons)


def test_the_previous_question_is_used_only_while_it_is_recent(engine: Engine) -> None:
    state = after("Is there a warranty on the stoves?", None, minutes=120, rephrase_asked=True)
    decision = decide(engine, "how long?", state)
    assert decision.kind != DecisionKind.KB_ANSWER and decision.read_as is None


def test_a_follow_up_is_not_answered_again_with_the_previous_entry(engine: Engine) -> None:
    # "how much is it?" after a delivery-time answer: the combined text reads as delivery time once more.
    decision = decide(engine, "how much is it?", after("How long does delivery to Germany take?", "shipping-times"))
    assert decision.kind == DecisionKind.CLARIFICATION and decision.entry_id is None, decision.reasons
    entries = [c.entry_id for c in decision.choices]
    assert entries[0] == "shipping-times" and "shipping-costs" in entries
    assert decision.read_as is not None


def test_et_pour_la_belgique_after_a_french_shipping_question_is_asked_to_be_clarified(engine: Engine) -> None:
    alone = decide(engine, "et pour la Belgique ?", ConversationState())
    assert alone.kind == DecisionKind.ESCALATION  # alone it says too little
    decision = decide(engine, "et pour la Belgique ?", after("Combien coûte la livraison ?", "shipping-costs"))
    assert decision.kind == DecisionKind.CLARIFICATION and decision.language == "fr", decision.reasons
    entries = [c.entry_id for c in decision.choices]
    assert entries[0] == "shipping-costs" and "shipping-countries" in entries
    assert decision.choices[0].label == "Combien coûte la livraison ?"
    assert any("the message alone matches nothing" in reason for reason in decision.reasons)


def test_a_short_message_clear_on_its_own_keeps_its_own_reading(engine: Engine) -> None:
    state = after("How long does delivery to Germany take?", "shipping-times")
    canada = decide(engine, "and to Canada?", state)
    # The KB's shipping-countries entry says where we deliver (Europe only); the question stands on its own.
    assert canada.kind == DecisionKind.KB_ANSWER and canada.entry_id == "shipping-countries", canada.reasons
    assert canada.read_as is None and any("clear on its own" in reason for reason in canada.reasons)
    thanks = decide(engine, "ok thanks", state)
    assert thanks.kind == DecisionKind.TEMPLATE and thanks.reply_kind == "intent_thanks"


def test_follow_ups_are_encoded_in_the_same_batch(engine: Engine) -> None:
    calls: list[int] = []

    class Counting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def encode(self, texts: list[str]) -> np.ndarray:
            calls.append(len(texts))
            return self.inner.encode(texts)  # type: ignore[no-any-return]

    counting = dataclasses.replace(engine, encoder=Counting(engine.encoder))  # type: ignore[arg-type]
    messages = [InboundMessage(text=t) for t in ("how long?", "How long does delivery take?", "how much is it?")]
    states = [
        after("Is there a warranty on the stoves?", None),
        ConversationState(),
        after("How long does delivery to Germany take?", "shipping-times"),
    ]
    decisions = counting.decide_batch(messages, states, SATURDAY_NIGHT)
    assert calls == [5]  # three messages and two combined readings, one call
    assert [d.entry_id for d in decisions[:2]] == ["product-warranty", "shipping-times"]


def test_ok_merci_in_a_french_conversation_is_french(engine: Engine) -> None:
    assert decide(engine, "ok merci", ConversationState()).language == "en"  # alone, lingua is unsure
    decision = decide(engine, "ok merci", ConversationState(language="fr"))
    assert decision.language == "fr" and decision.kind == DecisionKind.TEMPLATE
    assert decision.reply is not None and decision.reply.startswith("Bonjour")
    assert any("kept the conversation language" in reason for reason in decision.reasons)
    # The conversation's language is the better hint than the platform's (the app's) language.
    platform_en = engine.decide(InboundMessage(text="ok merci", language="en"), ConversationState(language="fr"))
    assert platform_en.language == "fr"


def prediction(label: str, confidence: float, similarity: float = 0.8) -> IntentPrediction:
    return IntentPrediction(label, confidence, confidence, similarity, [(label, confidence)])


@pytest.mark.parametrize(
    ("threshold", "kb_threshold", "used"),
    [
        # The KB answers' threshold (0.4) is lower than the plain one (0.6): the message alone at 0.5 would be
        # answered as it stands, so the previous question is not used even though the combined reading is surer.
        (0.6, 0.4, False),
        # The reverse: the KB answers' threshold (0.7) is stricter than the plain one (0.4), the message alone at
        # 0.5 would not be answered, so the surer combined reading is used.
        (0.4, 0.7, True),
    ],
    ids=["kb-threshold-accepts-it-alone", "below-the-kb-threshold-read-with-the-previous-question"],
)
def test_a_kb_match_is_judged_by_the_kb_answer_threshold(threshold: float, kb_threshold: float, used: bool) -> None:
    reading = read_follow_up(
        "do you ship to Spain?",
        "do you ship to Spain? and to Portugal?",
        "shipping-countries",
        alone=prediction("faq:returns", 0.5),
        combined=prediction("faq:shipping-countries", 0.9),
        threshold=threshold,
        kb_threshold=kb_threshold,
        out_of_scope_similarity=0.3,
    )
    assert reading.used is used
    if used:
        assert reading.combined.entry_id == "shipping-countries"
    else:
        assert reading.why.startswith("clear on its own")


def test_an_intent_match_is_clear_on_its_own_by_the_plain_threshold() -> None:
    reading = read_follow_up(
        "hello",
        "hello thanks",
        None,
        alone=prediction("intent:thanks", 0.5),
        combined=prediction("faq:shipping-countries", 0.9),
        threshold=0.4,
        kb_threshold=0.7,
        out_of_scope_similarity=0.3,
    )
    assert not reading.used
