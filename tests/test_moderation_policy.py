"""Through the real engine (sample KB, real embedding model): angry customers are escalated as complaints with an
empathetic reply in every language, ordinary money questions are not moderated, and real abuse and spam still are."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.domain.messages import (
    Action,
    ConversationState,
    Decision,
    DecisionKind,
    EscalationReason,
    InboundMessage,
    Priority,
)
from assistant.pipeline import Engine

SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 30, tzinfo=ZoneInfo("Europe/Warsaw"))  # closed


def decide(engine: Engine, text: str, is_public: bool = False) -> Decision:
    return engine.decide(InboundMessage(text=text, is_public=is_public), ConversationState(), SATURDAY_NIGHT)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Вы издеваетесь?! Третий раз пишу, никто не отвечает!!!", "ru"),
        ("C'est scandaleux, vous êtes des voleurs !!!", "fr"),
        ("Jesteście beznadziejni!!! Oszuści!", "pl"),
    ],
)
def test_angry_customers_escalate_as_complaints_not_moderation(engine: Engine, text: str, lang: str) -> None:
    decision = decide(engine, text)
    assert decision.action == Action.ESCALATE, decision.reasons
    assert decision.reason in (EscalationReason.COMPLAINT, EscalationReason.NEGATIVE_SENTIMENT), decision.reasons
    assert decision.priority == Priority.HIGH
    assert decision.queue == engine.settings.policy.complaint_queue
    assert decision.language == lang
    assert decision.reply_kind is not None and decision.reply_kind.startswith("complaint")
    assert decision.reply  # the empathetic holding reply, in the sender's language
    assert decision.scores["abuse"] < engine.settings.policy.abuse_threshold


@pytest.mark.parametrize(
    "text",
    [
        "transfer $100 from my checking to saving account",
        "i would like help moving money between accounts",
        "do you speak english",
        "Can I pay for my order with a bank transfer?",
    ],
)
def test_ordinary_questions_about_money_are_not_moderated(engine: Engine, text: str) -> None:
    decision = decide(engine, text)
    assert decision.action != Action.MODERATE, decision.reasons
    assert decision.kind != DecisionKind.MODERATION


@pytest.mark.parametrize(
    ("text", "reason", "why"),
    [
        ("@hikerdave nobody asked you, you faggot", EscalationReason.ABUSE, "slur"),
        ("I know where you live, Marta. Watch your back.", EscalationReason.ABUSE, "threat"),
        (
            "Bitcoin doubler is live! Send 0.1 BTC and get 0.2 back, guaranteed returns: https://btc-double.top",
            EscalationReason.SPAM,
            "spam phrases",
        ),
    ],
)
def test_real_abuse_and_spam_are_still_moderated(engine: Engine, text: str, reason: EscalationReason, why: str) -> None:
    decision = decide(engine, text, is_public=True)
    assert decision.action == Action.MODERATE, decision.reasons
    assert decision.reason == reason
    assert decision.reply is None
    assert any(why in r for r in decision.reasons), decision.reasons
