"""The bot's note in words (assistant.domain.bot_notes) and a person's reply filled for the customer
(assistant.domain.canned_replies): every escalation reason reads as a sentence, a close-but-unsure entry is
named, and placeholders are checked with the KB answers' rule and filled as the bot fills KB answers."""

from __future__ import annotations

import pytest

from assistant.domain.bot_notes import explain, reason_in_words
from assistant.domain.canned_replies import check_canned_reply, fill_for_customer
from assistant.domain.messages import Action, DecisionKind, EscalationReason
from assistant.domain.voice import BrandVoice
from assistant.errors import InputError
from assistant.settings import BrandConfig


@pytest.mark.parametrize("reason", list(EscalationReason))
def test_every_escalation_reason_reads_as_a_sentence(reason: EscalationReason) -> None:
    words = reason_in_words(reason.value)
    assert words.endswith(".") and "_" not in words and words[0].isupper()


def test_a_close_entry_is_named_only_where_the_bot_was_unsure() -> None:
    unsure = explain(Action.ESCALATE, "low_confidence", "refund_status", DecisionKind.ESCALATION)
    assert unsure.summary == "Handed to a person. The bot was not sure enough of an answer."
    assert unsure.closest == "closest entry: refund_status (not sure enough to answer)"
    asked = explain(Action.ESCALATE, "human_requested", "refund_status", DecisionKind.ESCALATION)
    assert asked.summary == "Handed to a person. The customer asked to talk to a person." and asked.closest is None
    answered = explain(Action.ANSWER, None, "refund_status", DecisionKind.KB_ANSWER)
    assert answered.summary == "Answered from the knowledge base (entry refund_status)." and answered.closest is None
    rephrase = explain(Action.ANSWER, "low_confidence", "refund_status", DecisionKind.CLARIFICATION)
    assert rephrase.closest is not None and "say more" in rephrase.summary
    assert reason_in_words("something_new") == "Something new."


VOICE = BrandVoice({}, BrandConfig(name="Northpine"), "en")


def test_a_reply_is_filled_with_the_customers_name_and_the_brand() -> None:
    assert fill_for_customer(VOICE, "Hi {first_name}, {brand} here.", "en", "Anna Smith") == "Hi Anna, Northpine here."


def test_without_a_name_the_placeholder_goes_as_in_kb_answers() -> None:
    assert fill_for_customer(VOICE, "Hi {first_name}, sorry for the wait.", "en", None) == "Hi, sorry for the wait."
    assert fill_for_customer(VOICE, "{first_name}, thanks!", "en", None) == "thanks!"


def test_an_unknown_or_broken_placeholder_is_refused_not_sent() -> None:
    with pytest.raises(InputError, match=r"unknown placeholder\(s\) \{frist_name\}"):
        fill_for_customer(VOICE, "Hi {frist_name}", "en", "Anna")
    with pytest.raises(InputError, match="malformed placeholder braces"):
        check_canned_reply("sorry", "en", "Hi {first_name")
    with pytest.raises(InputError, match="malformed placeholder braces"):
        fill_for_customer(VOICE, "Hi {first", "en", "Anna")
    with pytest.raises(InputError, match=r"unknown placeholder\(s\) \{order_id\}"):
        check_canned_reply("sorry", "en", "Your order {order_id}")
    with pytest.raises(InputError, match="shortcode"):
        check_canned_reply("Bad Code", "en", "x")
    check_canned_reply("sorry", "pt-BR", "Oi {first_name}, veja {help_center_url}")
