"""The answer engine end to end on the shipped sample KB with the real embedding model: one decision per
message, in the sender's language, with reasons; escalation wherever answering would be a risk."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.domain.messages import (
    Action,
    ConversationState,
    DecisionKind,
    EscalationReason,
    HandoffState,
    InboundMessage,
    Priority,
)
from assistant.pipeline import Engine

WARSAW = ZoneInfo("Europe/Warsaw")
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 30, tzinfo=WARSAW)  # closed; back Monday 9:00
TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW)  # open


def decide(engine: Engine, text: str, at: datetime = SATURDAY_NIGHT, **kwargs: object) -> object:
    state = kwargs.pop("state", None) or ConversationState()
    return engine.decide(InboundMessage(text=text, **kwargs), state, at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "lang", "entry"),
    [
        ("How long does delivery take?", "en", "shipping-times"),
        ("我忘记密码了，怎么重置？", "zh", "account-password-reset"),
        ("Как вернуть товар?", "ru", "returns-how-to"),
        ("Quels moyens de paiement acceptez-vous ?", "fr", "payment-methods"),
        ("Jak mogę usunąć swoje konto?", "pl", "account-deletion"),
    ],
)
def test_routine_question_after_hours_is_answered_in_the_senders_language(
    engine: Engine, text: str, lang: str, entry: str
) -> None:
    decision = engine.decide(InboundMessage(text=text, sender_name="Anna Nowak"), ConversationState(), SATURDAY_NIGHT)
    assert decision.action == Action.ANSWER, decision.reasons
    assert decision.entry_id == entry
    assert decision.language == lang
    kb_entry = engine.kb.get(entry)
    assert kb_entry is not None
    assert decision.reply is not None and "Anna" in decision.reply
    assert decision.confidence >= engine.intents.threshold
    assert any(entry in reason for reason in decision.reasons)


def test_in_hours_routine_question_goes_to_the_team_with_a_suggested_answer(engine: Engine) -> None:
    decision = engine.decide(InboundMessage(text="How long does delivery take?"), ConversationState(), TUESDAY_MORNING)
    assert decision.action == Action.ESCALATE
    assert decision.reason == EscalationReason.IN_HOURS_POLICY
    assert decision.suggested_answer and decision.entry_id == "shipping-times"
    assert decision.reply is None


def test_human_owner_means_silence(engine: Engine) -> None:
    state = ConversationState(handoff=HandoffState.HUMAN)
    decision = engine.decide(InboundMessage(text="How long does delivery take?"), state, SATURDAY_NIGHT)
    assert decision.action == Action.IGNORE and decision.reply is None
    assert any("person owns" in r for r in decision.reasons)


def test_waiting_for_a_person_adds_to_the_escalation_without_a_second_holding_reply(engine: Engine) -> None:
    state = ConversationState(handoff=HandoffState.WAITING_FOR_HUMAN, holding_reply_sent=True)
    decision = engine.decide(InboundMessage(text="hello? anyone?"), state, SATURDAY_NIGHT)
    assert decision.action == Action.ESCALATE and decision.reply is None


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a real person please?",
        "转人工",
        "Позовите оператора",
        "Je veux parler à un humain",
        "Chcę rozmawiać z człowiekiem",
    ],
)
def test_asking_for_a_person_escalates_and_says_when_they_are_back(engine: Engine, text: str) -> None:
    decision = engine.decide(InboundMessage(text=text), ConversationState(), SATURDAY_NIGHT)
    assert decision.action == Action.ESCALATE, decision.reasons
    assert decision.reason == EscalationReason.HUMAN_REQUESTED
    assert decision.reply is not None
    assert any("back" in r for r in decision.reasons)


def test_out_of_hours_holding_reply_names_monday_nine(engine: Engine) -> None:
    decision = engine.decide(InboundMessage(text="I want to talk to a human"), ConversationState(), SATURDAY_NIGHT)
    assert decision.reply is not None and "Monday at 9:00" in decision.reply


@pytest.mark.parametrize(
    "text",
    [
        "This is the third time my order is late. Unacceptable, I'm really disappointed.",
        "Your customer service is useless, nobody answers my emails",
        "Это уже третья задержка, я очень недоволен вашим сервисом",
    ],
)
def test_complaints_escalate_with_high_priority_and_no_canned_faq(engine: Engine, text: str) -> None:
    decision = engine.decide(InboundMessage(text=text), ConversationState(), SATURDAY_NIGHT)
    assert decision.action == Action.ESCALATE, decision.reasons
    assert decision.reason in (EscalationReason.COMPLAINT, EscalationReason.NEGATIVE_SENTIMENT)
    assert decision.priority == Priority.HIGH
    assert decision.reply_kind is not None and decision.reply_kind.startswith("complaint")


@pytest.mark.parametrize("text", ["ma carte ne marche pas sur votre site", "Toujours pas reçu mon remboursement"])
def test_problem_report_the_kb_answers_is_not_escalated_for_mild_negativity(engine: Engine, text: str) -> None:
    decision = engine.decide(InboundMessage(text=text), ConversationState(), SATURDAY_NIGHT)
    policy = engine.settings.policy
    # The message does read negative: without the stricter bar for confident FAQ matches it would be escalated.
    assert policy.negative_sentiment_threshold <= decision.scores["negative"] < policy.negative_with_answer_threshold
    assert decision.action == Action.ANSWER, decision.reasons
    assert any("problem report" in reason for reason in decision.reasons)


@pytest.mark.parametrize(
    ("text", "topic_word"),
    [
        ("My lawyer will sue you if I don't get my money back", "legal"),
        ("The stove caught fire and burned my hand", "safety"),
        ("Someone hacked my account and changed my address", "data_breach"),
        ("I don't want to live anymore", "self_harm"),
    ],
)
def test_risky_topics_escalate_urgently(engine: Engine, text: str, topic_word: str) -> None:
    decision = engine.decide(InboundMessage(text=text), ConversationState(), SATURDAY_NIGHT)
    assert decision.action == Action.ESCALATE, decision.reasons
    assert decision.reason == EscalationReason.RISKY_TOPIC
    assert decision.priority == Priority.URGENT
    assert any(topic_word in r for r in decision.reasons)


@pytest.mark.parametrize("is_public", [True, False], ids=["public comment", "private message"])
def test_spam_comment_is_moderated_not_answered(engine: Engine, is_public: bool) -> None:
    text = "EARN $500/DAY from home!!! DM me now http://x.example http://y.example http://z.example"
    decision = engine.decide(InboundMessage(text=text, is_public=is_public), ConversationState(), SATURDAY_NIGHT)
    # The action taken, in the decision's own fields: moderated (not answered, not escalated as a question), put in
    # the moderation queue at low priority, and nothing said back to the spammer.
    assert (decision.action, decision.kind, decision.reason) == (
        Action.MODERATE,
        DecisionKind.MODERATION,
        EscalationReason.SPAM,
    ), decision.reasons
    assert decision.queue == engine.settings.policy.moderation_queue
    assert decision.priority == Priority.LOW
    assert decision.reply is None and decision.reply_kind is None and not decision.choices


def test_unknown_question_is_not_answered(engine: Engine) -> None:
    decision = engine.decide(
        InboundMessage(text="What is the capital of Mongolia?"), ConversationState(rephrase_asked=True), SATURDAY_NIGHT
    )
    assert decision.action == Action.ESCALATE
    assert decision.reason in (EscalationReason.OUT_OF_SCOPE, EscalationReason.LOW_CONFIDENCE)


def test_greeting_gets_a_greeting(engine: Engine) -> None:
    decision = engine.decide(InboundMessage(text="hello!", sender_name="Mia"), ConversationState(), SATURDAY_NIGHT)
    assert decision.action == Action.ANSWER and decision.reply_kind == "intent_greet"


@pytest.mark.parametrize(
    ("text", "action", "kind", "detail"),
    [
        # No words at all: silence, never an answer or a person's time.
        ("", Action.IGNORE, DecisionKind.SILENCE, None),
        ("   \t\n", Action.IGNORE, DecisionKind.SILENCE, None),
        ("😀👍🎉", Action.IGNORE, DecisionKind.SILENCE, None),
        ("\x00\x01\x02", Action.IGNORE, DecisionKind.SILENCE, None),
        # 100,000 repeated letters: read from the start only, and the repetition is evidence of spam.
        ("a" * 100_000, Action.MODERATE, DecisionKind.MODERATION, EscalationReason.SPAM),
        # Five languages in one line is still a greeting; emoji around a question leave the question.
        ("Hello 你好 Привет bonjour cześć", Action.ANSWER, DecisionKind.TEMPLATE, "intent_greet"),
        ("🙂 where is my order 🙂", Action.ANSWER, DecisionKind.KB_ANSWER, "order-tracking"),
    ],
    ids=["empty", "whitespace", "emoji only", "control characters", "100k characters", "five languages", "emoji"],
)
def test_bad_input_gets_a_decision_never_a_crash(
    engine: Engine, text: str, action: Action, kind: DecisionKind, detail: object
) -> None:
    decision = engine.decide(InboundMessage(text=text), ConversationState(), SATURDAY_NIGHT)
    assert (decision.action, decision.kind) == (action, kind), decision.reasons
    assert decision.reasons  # every decision says why
    if action == Action.IGNORE:
        assert decision.reply is None
    elif action == Action.MODERATE:
        assert decision.reason == detail and decision.reply is None
    elif kind == DecisionKind.KB_ANSWER:
        assert decision.entry_id == detail and decision.reply
    else:
        assert decision.reply_kind == detail and decision.reply


def test_batch_decisions_match_single_ones(engine: Engine) -> None:
    texts = ["How long does delivery take?", "转人工", "hello!", "😀"]
    batch = engine.decide_batch([InboundMessage(text=t) for t in texts], None, SATURDAY_NIGHT)
    single = [engine.decide(InboundMessage(text=t), ConversationState(), SATURDAY_NIGHT) for t in texts]
    assert [(d.action, d.entry_id, d.reason) for d in batch] == [(d.action, d.entry_id, d.reason) for d in single]


def test_entry_without_the_senders_language_answers_in_its_own_and_says_so(engine: Engine) -> None:
    entry = engine.kb.get("shipping-times")
    assert entry is not None
    saved = dict(entry.answers)
    try:
        del entry.answers["pl"]
        decision = engine.decide(InboundMessage(text="Ile trwa dostawa?"), ConversationState(), SATURDAY_NIGHT)
    finally:
        entry.answers.clear()
        entry.answers.update(saved)
    assert decision.action == Action.ANSWER and decision.entry_id == "shipping-times"
    assert any("no pl answer: answered in en" in r for r in decision.reasons)
