"""Ask before escalating: an ambiguous question gets "Did you mean: …" choices from the sample KB (real model), and
the next message's pick is answered at once, escalated for a person, or decided as a new message."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.domain.clarification import (
    Candidate,
    ClarificationRule,
    choice_label,
    options_to_offer,
    resolve_pick,
    typed_number,
)
from assistant.domain.kb_entries import KBEntry, KnowledgeBase
from assistant.domain.messages import (
    HUMAN_CHOICE,
    Action,
    Choice,
    ConversationState,
    Decision,
    DecisionKind,
    EscalationReason,
    InboundMessage,
    PickMethod,
)
from assistant.pipeline import Engine

WARSAW = ZoneInfo("Europe/Warsaw")
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 30, tzinfo=WARSAW)  # closed
TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW)  # open
# Between a refund and an exchange: the matcher splits its probability over both entries.
AMBIGUOUS = "exchange or refund, which one?"
OFFERED = [
    Choice("When will I get my refund?", "choose:refund-status"),
    Choice("Can I exchange an item for a different size?", "choose:exchange-size"),
    Choice("Talk to a person", HUMAN_CHOICE),
]


def entry(entry_id: str, questions: dict[str, list[str]]) -> KBEntry:
    return KBEntry(entry_id, questions, {lang: "answer" for lang in questions} or {"en": "answer"})


# The rule and the pick, as pure functions


def test_the_rule_needs_two_entries_above_the_floor_that_together_carry_enough() -> None:
    kb = KnowledgeBase([entry("a", {"en": ["A?"]}), entry("b", {"en": ["B?"]}), entry("c", {"en": ["C?"]})])
    rule = ClarificationRule(max_choices=2, min_probability=0.1, min_total=0.5)
    offered = options_to_offer([Candidate("a", 0.4), Candidate("c", 0.05), Candidate("b", 0.2)], kb, rule)
    assert [c.entry_id for c in offered] == ["a", "b"]  # c is under the floor
    assert options_to_offer([Candidate("a", 0.3), Candidate("b", 0.15)], kb, rule) == []  # 0.45 together: too little
    assert options_to_offer([Candidate("a", 0.9), Candidate("b", 0.05)], kb, rule) == []  # one entry is no choice
    assert options_to_offer([Candidate("a", 0.4), Candidate("gone", 0.4)], kb, rule) == []  # not in the KB
    three = options_to_offer([Candidate("a", 0.4), Candidate("b", 0.3), Candidate("c", 0.2)], kb, rule)
    assert [c.entry_id for c in three] == ["a", "b"]  # at most max_choices


def test_a_label_is_the_first_question_in_the_senders_language_with_fallbacks() -> None:
    both = entry("shipping-times", {"en": ["How long does shipping take?"], "fr": ["Combien de temps ?"]})
    assert choice_label(both, "fr", "en") == "Combien de temps ?"
    assert choice_label(both, "zh", "en") == "How long does shipping take?"  # the default language
    assert choice_label(entry("x", {"pl": ["Ile to trwa?"]}), "zh", "en") == "Ile to trwa?"  # any language
    assert choice_label(entry("gift-cards", {}), "en", "en") == "Gift cards"  # no phrasing at all: the id


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        ("2.", 2),
        ("#3", 3),
        ("the second one", 2),
        ("Second option please", 2),
        ("le deuxième", 2),
        ("la première", 1),
        ("второй", 2),
        ("вариант 3", 3),
        ("drugi", 2),
        ("opcja 1", 1),
        ("第二个", 2),
        ("选3", 3),
        ("hello", None),
        ("2 or 3", None),
        ("one", None),
        ("how do I return 2 jackets", None),
    ],
)
def test_typed_numbers_and_ordinals_in_five_languages(text: str, number: int | None) -> None:
    assert typed_number(text) == number


def test_a_pick_is_a_payload_a_number_in_range_or_a_label() -> None:
    by_payload = resolve_pick("When will I get my refund?", "choose:refund-status", OFFERED)
    assert by_payload is not None and (by_payload.number, by_payload.method) == (1, PickMethod.PAYLOAD)
    by_number = resolve_pick("the 2nd", None, OFFERED)
    assert by_number is not None and by_number.choice == OFFERED[1] and by_number.method == PickMethod.NUMBER
    by_label = resolve_pick("talk to a person!", None, OFFERED)
    assert by_label is not None and by_label.choice.payload == HUMAN_CHOICE and by_label.method == PickMethod.LABEL
    assert resolve_pick("4", None, OFFERED) is None  # out of range
    assert resolve_pick("x", "choose:gift-cards", OFFERED) is None  # a button we did not offer this time
    assert resolve_pick("2", None, []) is None  # nothing was offered


# The engine with the real model


def decide(
    engine: Engine,
    text: str,
    state: ConversationState,
    at: datetime = SATURDAY_NIGHT,
    choice_payload: str | None = None,
) -> Decision:
    return engine.decide(InboundMessage(text=text, sender_name="Anna", choice_payload=choice_payload), state, at)


def test_an_ambiguous_question_is_offered_the_entries_it_is_unsure_between(engine: Engine) -> None:
    decision = decide(engine, AMBIGUOUS, ConversationState())
    assert decision.kind == DecisionKind.CLARIFICATION and decision.action == Action.ANSWER, decision.reasons
    assert decision.confidence < engine.intents.kb_threshold
    payloads = [c.payload for c in decision.choices]
    assert {"choose:refund-status", "choose:exchange-size"} <= set(payloads)
    assert payloads[-1] == HUMAN_CHOICE and len(payloads) <= engine.settings.policy.max_choices + 1
    # The text lists them numbered, for platforms without buttons.
    assert decision.reply is not None and "Anna" in decision.reply
    for number, choice in enumerate(decision.choices, 1):
        assert f"{number}. {choice.label}" in decision.reply
    assert decision.entry_id is None and decision.reason == EscalationReason.LOW_CONFIDENCE


def test_choices_are_labelled_and_introduced_in_the_senders_language(engine: Engine) -> None:
    decision = decide(engine, "échange ou remboursement, lequel ?", ConversationState())
    assert decision.kind == DecisionKind.CLARIFICATION and decision.language == "fr", decision.reasons
    for choice in decision.choices[:-1]:
        kb_entry = engine.kb.get(choice.entry_id or "")
        assert kb_entry is not None and choice.label == kb_entry.questions["fr"][0]
    assert decision.choices[-1].label == "Parler à une personne"
    assert decision.reply is not None and decision.reply.startswith("Bonjour Anna !")


def test_choices_are_offered_in_business_hours_too(engine: Engine) -> None:
    decision = decide(engine, AMBIGUOUS, ConversationState(), TUESDAY_MORNING)
    assert decision.kind == DecisionKind.CLARIFICATION and decision.choices


def test_offer_choices_off_asks_to_rephrase_instead(engine: Engine) -> None:
    config = engine.policy.config.model_copy(update={"offer_choices": False})
    plain = dataclasses.replace(engine, policy=dataclasses.replace(engine.policy, config=config))
    decision = decide(plain, AMBIGUOUS, ConversationState())
    assert decision.kind == DecisionKind.CLARIFICATION and decision.reply_kind == "rephrase" and not decision.choices


def test_choices_are_offered_once_per_question_then_it_escalates(engine: Engine) -> None:
    decision = decide(engine, AMBIGUOUS, ConversationState(rephrase_asked=True))
    assert decision.kind == DecisionKind.ESCALATION and decision.action == Action.ESCALATE
    assert decision.reason == EscalationReason.LOW_CONFIDENCE and not decision.choices


def offered_state(engine: Engine) -> tuple[ConversationState, list[Choice]]:
    """The state after the real clarification: its choices offered, a clarification asked."""
    first = decide(engine, AMBIGUOUS, ConversationState())
    assert first.kind == DecisionKind.CLARIFICATION, first.reasons
    return ConversationState(rephrase_asked=True, offered_choices=list(first.choices)), first.choices


def test_a_typed_number_is_answered_with_that_entry_at_once(engine: Engine) -> None:
    state, choices = offered_state(engine)
    decision = decide(engine, "2", state)
    assert decision.kind == DecisionKind.KB_ANSWER and decision.action == Action.ANSWER, decision.reasons
    assert decision.entry_id == choices[1].entry_id and decision.picked == PickMethod.NUMBER
    kb_entry = engine.kb.get(choices[1].entry_id or "")
    assert kb_entry is not None and kb_entry.answers["en"].split()[0] in (decision.reply or "")
    assert decision.read_as == choices[1].label


def test_a_tapped_button_is_answered_with_its_entry(engine: Engine) -> None:
    state, choices = offered_state(engine)
    decision = decide(engine, choices[0].label, state, choice_payload=choices[0].payload)
    assert decision.kind == DecisionKind.KB_ANSWER and decision.entry_id == choices[0].entry_id
    assert decision.picked == PickMethod.PAYLOAD
    # A tap with no text at all is still a pick.
    bare = decide(engine, "", state, choice_payload=choices[1].payload)
    assert bare.kind == DecisionKind.KB_ANSWER and bare.entry_id == choices[1].entry_id


def test_a_pick_in_business_hours_follows_the_answer_rule(engine: Engine) -> None:
    # The sample config keeps answer_in_business_hours off: the team answers, with the picked entry suggested.
    state, choices = offered_state(engine)
    decision = decide(engine, "1", state, TUESDAY_MORNING)
    assert decision.kind == DecisionKind.ESCALATION and decision.reply is None
    assert decision.reason == EscalationReason.IN_HOURS_POLICY and decision.entry_id == choices[0].entry_id
    assert decision.suggested_answer and decision.picked == PickMethod.NUMBER


def test_picking_the_person_escalates_as_a_request_for_a_person(engine: Engine) -> None:
    state, choices = offered_state(engine)
    for message in (InboundMessage(text=str(len(choices))), InboundMessage(text="", choice_payload=HUMAN_CHOICE)):
        decision = engine.decide(message, state, SATURDAY_NIGHT)
        assert decision.kind == DecisionKind.ESCALATION and decision.action == Action.ESCALATE
        assert decision.reason == EscalationReason.HUMAN_REQUESTED and decision.picked is not None
        assert decision.reply is not None and "Monday at 9:00" in decision.reply


def test_a_message_that_picks_nothing_is_decided_as_a_new_message(engine: Engine) -> None:
    state, _ = offered_state(engine)
    other = decide(engine, "How do I reset my password?", state)
    assert other.kind == DecisionKind.KB_ANSWER and other.entry_id == "account-password-reset"
    assert other.picked is None
    # Out of range, or unclear: never a crash, never a confident answer from the list.
    assert decide(engine, "7", state).kind == DecisionKind.SILENCE
    unclear = decide(engine, "the fifth", state)
    assert unclear.picked is None and unclear.kind != DecisionKind.KB_ANSWER
    # A button from an older clarification is read as its text, like any message.
    stale = decide(engine, "Do you sell gift cards?", state, choice_payload="choose:gift-cards")
    assert stale.picked is None and stale.entry_id == "gift-cards" and stale.kind == DecisionKind.KB_ANSWER
