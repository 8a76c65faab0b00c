"""The worker carries a conversation's context from one message to the next (real engine, real Redis, a SQLite file):
the conversation's language is the hint for a short "ok merci", offered choices are remembered and a typed "2" is
answered with that entry, and a clarification is asked once per question."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from redis import Redis

from assistant.domain.channels import InboundEvent
from assistant.domain.messages import DecisionKind, InboundMessage, PickMethod
from assistant.pipeline import Engine
from assistant.services.inbound import process_event
from assistant.settings import load_settings
from assistant.store import DecisionRecord
from tests.conftest import ROOT, TEST_REDIS_URL
from webhooks.runtime import Runtime

SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 30, tzinfo=ZoneInfo("Europe/Warsaw"))
_events = itertools.count(1)


def processor(engine: Engine, trained_data_dir: Path, tmp_path: Path) -> Runtime:
    settings = load_settings(
        kb_dir=ROOT / "knowledge_base",
        data_dir=trained_data_dir,
        nlu_file=ROOT / "training" / "nlu.yml",
        service={"redis_url": TEST_REDIS_URL, "database_url": f"sqlite:///{tmp_path / 'context.db'}"},
    )
    runtime = Runtime(settings)
    runtime.engine = engine
    return runtime


@dataclass(frozen=True)
class Seen:
    """What the store recorded about one customer message: its decision, and the language it was decided in."""

    decision: DecisionRecord
    language: str | None
    event_id: str


def send(worker: Runtime, text: str, minute: int, chat: str = "chat-1") -> Seen:
    event_id = f"evt-{next(_events)}"
    event = InboundEvent("telegram", event_id, chat, "message", InboundMessage(text=text, sender_id="u-1"))
    assert process_event(worker.inbound(), event, SATURDAY_NIGHT + timedelta(minutes=minute)).outcome == "decided"
    conversation = worker.store.conversation("telegram", chat)
    last = [m for m in worker.store.history(conversation.id) if m.decision is not None][-1]
    assert last.decision is not None and last.platform_event_id == event_id
    return Seen(last.decision, last.language, event_id)


def test_the_conversation_language_and_offered_choices_carry_to_the_next_message(
    engine: Engine, trained_data_dir: Path, tmp_path: Path, redis_client: Redis
) -> None:
    worker = processor(engine, trained_data_dir, tmp_path)
    store = worker.store
    question = send(worker, "Combien coûte la livraison ?", 0)
    assert (question.decision.kind, question.decision.entry_id, question.language) == (
        DecisionKind.KB_ANSWER,
        "shipping-costs",
        "fr",
    )
    conversation = store.conversation("telegram", "chat-1")
    assert store.conversation_state(conversation.id).language == "fr"

    thanks = send(worker, "ok merci", 1)
    assert thanks.decision.kind == DecisionKind.TEMPLATE and thanks.language == "fr", thanks.decision.reasons

    unsure = send(worker, "échange ou remboursement, lequel ?", 2)
    assert unsure.decision.kind == DecisionKind.CLARIFICATION and unsure.decision.choices, unsure.decision.reasons
    state = store.conversation_state(conversation.id)
    assert state.offered_choices == list(unsure.decision.choices) and state.rephrase_asked
    outbound = store.outbound_by_key(f"reply:telegram:{unsure.event_id}")
    assert outbound is not None and outbound.choices == unsure.decision.choices

    picked = send(worker, "2", 3)
    assert (
        picked.decision.kind == DecisionKind.KB_ANSWER
        and picked.decision.entry_id == unsure.decision.choices[1].entry_id
    ), picked.decision.reasons
    assert picked.decision.picked == PickMethod.NUMBER and picked.language == "fr"
    state = store.conversation_state(conversation.id)
    assert state.offered_choices == [] and not state.rephrase_asked


def test_a_second_unsure_question_escalates(
    engine: Engine, trained_data_dir: Path, tmp_path: Path, redis_client: Redis
) -> None:
    worker = processor(engine, trained_data_dir, tmp_path)
    assert send(worker, "exchange or refund, which one?", 0, chat="chat-2").decision.kind == DecisionKind.CLARIFICATION
    again = send(worker, "shipping and returns", 1, chat="chat-2")  # picks nothing, still unsure
    assert again.decision.kind == DecisionKind.ESCALATION and again.decision.picked is None, again.decision.reasons
