"""A clarification's options on Telegram, end to end: a decision's choices go out as an inline keyboard and survive
the reserve-then-send retry path; a tap (callback_query) is answered at once, queued with its payload, decided by the
worker and answered in the chat, once."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from assistant.domain.channels import InboundEvent
from assistant.domain.messages import HUMAN_CHOICE, Action, Choice, ConversationState, Decision, InboundMessage
from tests.adapters import platform_rules
from tests.adapters.platform_double import webhook_request
from tests.live_service import TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET, telegram_update
from tests.service.conftest import Service

_ids = itertools.count(int(time.time()) % 1_000_000 * 1000 + 400_000)
SEND_PATH = f"/bot{TELEGRAM_BOT_TOKEN}/sendMessage"
CHOICES = [
    Choice("How long does delivery take?", "choose:shipping-times"),
    Choice("How do I return an item?", "choose:returns-how-to"),
    Choice("Talk to a person", HUMAN_CHOICE),
]
TEXT = "Did you mean:\n1. How long does delivery take?\n2. How do I return an item?\n3. Talk to a person"


def sends_to(service: Service, chat: int) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = [r.json() for r in service.api.requests if r.path == SEND_PATH]
    return [body for body in bodies if body.get("chat_id") == chat]


def tap(chat: int, payload: str, query_id: str) -> dict[str, Any]:
    """The update Telegram delivers when the person taps a button of the keyboard we sent."""
    keyboard = {"inline_keyboard": [[{"text": c.label, "callback_data": c.payload}] for c in CHOICES]}
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": query_id,
            "from": {"id": chat, "is_bot": False, "first_name": "Anna", "language_code": "en"},
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "Anna"},
                "text": TEXT,
                "reply_markup": keyboard,
            },
            "chat_instance": "-2836182742848475",
            "data": payload,
        },
    }


def post(client: FlaskClient, update: dict[str, Any]) -> Any:
    return client.post(
        "/webhooks/telegram",
        data=json.dumps(update),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )


class Clarifying:
    """The real engine, each decision turned into a clarification with CHOICES. Which decisions the engine makes a
    clarification is the policy's business and tested with it; here the worker must carry whatever options the
    decision holds to the platform."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def decide(self, message: InboundMessage, state: ConversationState, now: datetime) -> Decision:
        decision: Decision = self._engine.decide(message, state, now)
        decision.action, decision.reply, decision.choices = Action.ANSWER, TEXT, list(CHOICES)
        return decision


def test_a_decisions_choices_go_out_as_an_inline_keyboard_and_survive_a_retry(service: Service) -> None:
    from assistant.services.delivery import deliver_reply
    from assistant.services.inbound import process_event
    from webhooks.runtime import Runtime

    runtime = Runtime(service.settings)
    runtime.engine = Clarifying(runtime.engine)  # type: ignore[assignment]
    chat = next(_ids)
    update = telegram_update("Something about delivery and returns?", chat)
    [event] = runtime.adapters["telegram"].parse(webhook_request(json.dumps(update)))
    processed = process_event(runtime.inbound(), event, datetime.now(UTC))
    assert processed.outcome == "decided" and processed.outbound_id is not None
    assert service.store.outbound(processed.outbound_id).choices == tuple(CHOICES)
    service.api.reply(500, json={"ok": False, "error_code": 500, "description": "Internal"}, path=SEND_PATH)
    assert deliver_reply(runtime.outbox(), processed.outbound_id, event.reply_target).outcome == "retry"
    assert deliver_reply(runtime.outbox(), processed.outbound_id, event.reply_target).outcome == "sent"
    first, retried = sends_to(service, chat)
    assert first == retried  # the retry offers exactly the same options
    assert platform_rules.telegram(retried) == []
    assert retried["text"] == TEXT
    keyboard = retried["reply_markup"]["inline_keyboard"]
    assert [(row[0]["text"], row[0]["callback_data"]) for row in keyboard] == [(c.label, c.payload) for c in CHOICES]


def test_a_tap_is_answered_at_once_queued_with_its_payload_and_answered_once(
    service: Service, client: FlaskClient, tmp_path: Path
) -> None:
    from webhooks.app import create_app

    chat = next(_ids)
    query_id = f"cbq-{next(_ids)}"
    update = tap(chat, "choose:shipping-times", query_id)

    # What the web process queues for the worker (captured here instead of sent to Celery), stored in an inbox of
    # its own, so the real app below stores and queues the event as new.
    queued: list[InboundEvent] = []
    own_inbox = service.settings.service.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'capture.db'}"})
    capturing = create_app(service.settings.model_copy(update={"service": own_inbox}), enqueue=queued.append)
    capturing_client = capturing.test_client()
    response = post(capturing_client, update)
    assert response.status_code == 200 and response.is_json
    assert response.get_json() == {"method": "answerCallbackQuery", "callback_query_id": query_id}
    [event] = queued
    carried = InboundEvent.from_dict(json.loads(json.dumps(event.to_dict()))).message  # as the task receives it
    assert carried is not None
    assert (carried.choice_payload, carried.text) == ("choose:shipping-times", "How long does delivery take?")

    # The real path: the Celery worker decides and answers in the chat, once, however often Telegram delivers.
    for _ in range(3):
        assert post(client, update).status_code == 200
    # Queued once (the redeliveries stop at the inbox), decided, and its one reply sent: nothing else is left to run.
    assert service.wait_processed("telegram", event.event_id, queued=1) == ["decided"]
    service.wait_for(lambda: service.reply_status("telegram", event.event_id) == "sent", what="the answer to the tap")
    assert len(sends_to(service, chat)) == 1
    conversation = service.store.conversation("telegram", str(chat))
    decided = [m.decision for m in service.store.history(conversation.id) if m.decision is not None]
    assert [d.entry_id for d in decided] == ["shipping-times"]
