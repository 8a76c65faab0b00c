"""The store's side of decision kinds, clarifications and follow-ups, on SQLite and PostgreSQL: the kind, offered
choices, pick and reading are recorded; the conversation state brings back the language, the offered choices and the
previous question; reports count kinds and clarifications; migration 0006 fills the kind of older decisions; and
clarifications the sender gave up on reach the content-gap report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from assistant.domain.messages import (
    HUMAN_CHOICE,
    Action,
    Choice,
    Decision,
    DecisionKind,
    EscalationReason,
    PickMethod,
)
from assistant.store import Store, make_engine, migrate
from assistant.store.gap_queries import CHOICES_GIVEN_UP, REPHRASE_GIVEN_UP, gap_questions

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CHOICES = [Choice("When will I get my refund?", "choose:refund-status"), Choice("Talk to a person", HUMAN_CHOICE)]


def ask(store: Store, key: str, event: str, words: str, at: datetime, decision: Decision) -> int:
    conversation = store.conversation("telegram", key, "u-1")
    message_id = store.record_inbound(conversation.id, "telegram", event, words, "en", False, at)
    assert message_id is not None
    store.record_decision(message_id, decision, at=at)
    return conversation.id


def kb_answer(entry_id: str, **kwargs: object) -> Decision:
    return Decision(Action.ANSWER, "en", kind=DecisionKind.KB_ANSWER, entry_id=entry_id, reply="…", **kwargs)  # type: ignore[arg-type]


def choices() -> Decision:
    return Decision(
        Action.ANSWER,
        "en",
        kind=DecisionKind.CLARIFICATION,
        reply_kind="choices",
        reason=EscalationReason.LOW_CONFIDENCE,
        choices=list(CHOICES),
    )


def rephrase() -> Decision:
    return Decision(Action.ANSWER, "en", kind=DecisionKind.CLARIFICATION, reply_kind="rephrase")


def escalation(reason: EscalationReason = EscalationReason.LOW_CONFIDENCE) -> Decision:
    return Decision(Action.ESCALATE, "en", kind=DecisionKind.ESCALATION, reason=reason)


def test_kind_choices_pick_and_reading_are_recorded(store: Store) -> None:
    conversation_id = ask(store, "c", "e1", "refund or exchange?", T0, choices())
    ask(store, "c", "e2", "1", T0 + timedelta(seconds=30), kb_answer("refund-status", picked=PickMethod.NUMBER))
    first, second = [m.decision for m in store.history(conversation_id) if m.decision is not None]
    assert first.kind is DecisionKind.CLARIFICATION and first.choices == tuple(CHOICES) and first.picked is None
    assert second.kind is DecisionKind.KB_ANSWER and second.picked is PickMethod.NUMBER and second.choices == ()


def test_the_state_brings_back_the_offered_choices_of_the_last_reply_only(store: Store) -> None:
    conversation_id = ask(store, "c", "e1", "refund or exchange?", T0, choices())
    assert store.conversation_state(conversation_id).offered_choices == CHOICES
    ask(store, "c", "e2", "How do I reset my password?", T0 + timedelta(minutes=1), kb_answer("password-reset"))
    assert store.conversation_state(conversation_id).offered_choices == []


def test_the_state_brings_back_the_previous_question_as_it_was_read(store: Store) -> None:
    conversation_id = ask(store, "c", "e1", "Is there a warranty?", T0, kb_answer("product-warranty"))
    ask(store, "c", "e2", "hello", T0 + timedelta(minutes=1), Decision(Action.ANSWER, "en", kind=DecisionKind.TEMPLATE))
    state = store.conversation_state(conversation_id)
    # A greeting is no question: the warranty question is still the previous one.
    assert (state.previous_text, state.previous_entry_id, state.previous_at) == (
        "Is there a warranty?",
        "product-warranty",
        T0,
    )
    follow_up = kb_answer("product-warranty", read_as="Is there a warranty? how long?")
    ask(store, "c", "e3", "how long?", T0 + timedelta(minutes=2), follow_up)
    assert store.conversation_state(conversation_id).previous_text == "Is there a warranty? how long?"
    # A question that was not answered has no entry to repeat.
    ask(store, "c", "e4", "my parcel", T0 + timedelta(minutes=3), rephrase())
    state = store.conversation_state(conversation_id)
    assert (state.previous_text, state.previous_entry_id) == ("my parcel", None)


def test_the_state_brings_back_the_conversations_language(store: Store) -> None:
    conversation = store.conversation("telegram", "fr-chat", "u-2")
    assert store.conversation_state(conversation.id).language is None
    store.update_conversation(conversation.id, language="fr")
    assert store.conversation_state(conversation.id).language == "fr"


def test_reports_count_kb_answers_and_clarifications(store: Store) -> None:
    ask(store, "a", "a1", "refund or exchange?", T0, choices())
    ask(store, "a", "a2", "1", T0 + timedelta(seconds=10), kb_answer("refund-status", picked=PickMethod.NUMBER))
    ask(store, "b", "b1", "refund or exchange?", T0, choices())
    for key, method in (("b", PickMethod.NUMBER), ("e", PickMethod.PAYLOAD)):
        person = escalation(EscalationReason.HUMAN_REQUESTED)
        person.picked = method
        ask(store, key, f"{key}2", "2", T0 + timedelta(seconds=10), person)
    ask(store, "c", "c1", "my parcel", T0, rephrase())
    ask(store, "d", "d1", "hello", T0, Decision(Action.ANSWER, "en", kind=DecisionKind.TEMPLATE))
    since = T0 - timedelta(minutes=1)
    assert store.kind_counts(since) == {"clarification": 3, "kb_answer": 1, "escalation": 2, "template": 1}
    assert store.clarification_counts(since) == {
        "choices_offered": 2,
        "rephrase_asked": 1,
        "picks_resolved": 3,
        "picks_for_a_person": 2,
    }
    # Five replies were actions "answer"; only one of them answered from the KB.
    assert store.action_counts(since)["answer"] == 5


def test_migration_0006_fills_the_kind_of_older_decisions(database_url: str) -> None:
    migrate(database_url, "0005")
    engine = make_engine(database_url)
    rows = [
        ("answer", "faq", "kb_answer"),
        ("answer", "rephrase", "clarification"),
        ("answer", "intent_greet", "template"),
        ("escalate", "holding_out_of_hours", "escalation"),
        ("moderate", None, "moderation"),
        ("ignore", None, "silence"),
    ]
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO conversations (id, platform, conversation_key, handoff, rephrase_asked, "
                    "holding_reply_sent, created_at, updated_at) VALUES (1, 'cli', 'k', 'bot', false, false, "
                    ":at, :at)"
                ),
                {"at": T0},
            )
            for n, (action, reply_kind, _) in enumerate(rows, 1):
                connection.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, platform, direction, author, text, is_public, "
                        "created_at) VALUES (:n, 1, 'cli', 'in', 'customer', 'q', false, :at)"
                    ),
                    {"n": n, "at": T0},
                )
                connection.execute(
                    text(
                        "INSERT INTO decisions (message_id, action, reply_kind, confidence, reasons, scores, "
                        "latency_ms, created_at) VALUES (:n, :action, :reply_kind, 0, '[]', '{}', 0, :at)"
                    ),
                    {"n": n, "action": action, "reply_kind": reply_kind, "at": T0},
                )
        migrate(database_url)
        with engine.connect() as connection:
            found = connection.execute(text("SELECT kind FROM decisions ORDER BY message_id")).scalars().all()
        assert found == [kind for _, _, kind in rows]
    finally:
        engine.dispose()


def test_clarifications_given_up_reach_the_gap_report(store: Store) -> None:
    now = T0 + timedelta(hours=3)
    # Asked to rephrase, and nothing came back.
    ask(store, "a", "a1", "do you rent kayaks?", T0, rephrase())
    # Offered choices, then escalated at once: given up without waiting.
    ask(store, "b", "b1", "kayak or canoe?", now - timedelta(minutes=5), choices())
    ask(store, "b", "b2", "neither", now - timedelta(minutes=4), escalation())
    # Rephrased and answered: not a gap.
    ask(store, "c", "c1", "refund pls", T0, rephrase())
    ask(store, "c", "c2", "When will I get my refund?", T0 + timedelta(minutes=1), kb_answer("refund-status"))
    # Still within the hour it has to answer: not given up yet.
    ask(store, "d", "d1", "paddle sizes?", now - timedelta(minutes=10), rephrase())
    # A follow-up's clarification is listed as it was read, not as "how much?".
    follow_up = choices()
    follow_up.read_as = "Do you rent kayaks? how much?"
    ask(store, "e", "e1", "how much?", T0, follow_up)
    found = {q.text: q.reason for q in gap_questions(store.engine, now=now)}
    assert found == {
        "do you rent kayaks?": REPHRASE_GIVEN_UP,
        "kayak or canoe?": CHOICES_GIVEN_UP,
        "Do you rent kayaks? how much?": CHOICES_GIVEN_UP,
    }
    # The window applies to when the clarification was asked.
    assert {q.text for q in gap_questions(store.engine, since=now - timedelta(hours=1), now=now)} == {"kayak or canoe?"}
