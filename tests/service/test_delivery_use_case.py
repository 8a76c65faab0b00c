"""The delivery use case on its own: a SQLite store, a fake channel and a fixed clock, no Flask, Celery, Redis or
HTTP (what `assistant.services` promises its callers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.domain.business_hours import BusinessHours
from assistant.domain.channels import NO_RULES, OutboundMessage, PlatformRules, SendResult
from assistant.domain.messages import HandoffState
from assistant.services.delivery import DeliveryOutcome, Outbox, backoff_seconds, deliver_reply
from assistant.services.escalate import Escalations
from assistant.settings import load_settings
from assistant.store import Store
from assistant.store.db import migrate

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class FakeChannel:
    def __init__(self, results: list[SendResult], rules: PlatformRules = NO_RULES) -> None:
        self.results = results
        self.sent: list[OutboundMessage] = []
        self._rules = rules

    @property
    def rules(self) -> PlatformRules:
        return self._rules

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return self.results.pop(0)


def outbox(tmp_path: Path, channel: FakeChannel) -> tuple[Outbox, Store]:
    url = f"sqlite:///{tmp_path / 'delivery.db'}"
    migrate(url)
    settings = load_settings(service={"database_url": url, "send_max_retries": 2})
    store = Store.from_url(url)
    escalations = Escalations(store, settings, BusinessHours.from_config(settings.business_hours))
    return Outbox(store, {"telegram": channel}, lambda _p, _k: True, escalations, 2, lambda: NOW), store


def reserve(store: Store, received_at: datetime = NOW) -> int:
    conversation = store.conversation("telegram", "chat-1", "u-1", "Anna")
    message_id = store.record_inbound(conversation.id, "telegram", "ev-1", "hi", "en", False, received_at)
    assert message_id is not None
    record, _ = store.reserve_outbound("reply:telegram:ev-1", conversation.id, message_id, "telegram", "reply", "hello")
    return record.id


def test_a_retryable_failure_backs_off_and_the_retry_sends_once(tmp_path: Path) -> None:
    channel = FakeChannel([SendResult(ok=False, status=503, retryable=True), SendResult(ok=True, status=200)])
    deps, store = outbox(tmp_path, channel)
    outbound_id = reserve(store)
    first = deliver_reply(deps, outbound_id, {"chat_id": "chat-1"})
    assert (first.outcome, first.retry_after) == (DeliveryOutcome.RETRY, backoff_seconds(1, None))
    assert deliver_reply(deps, outbound_id, {"chat_id": "chat-1"}).outcome == "sent"
    assert deliver_reply(deps, outbound_id, {"chat_id": "chat-1"}).outcome == "already_done"
    assert [m.text for m in channel.sent] == ["hello", "hello"]
    assert channel.sent[0].idempotency_key == channel.sent[1].idempotency_key


def test_an_unknown_outcome_is_not_resent_and_goes_to_a_person(tmp_path: Path) -> None:
    channel = FakeChannel([SendResult(ok=False, outcome_unknown=True, error="timeout")])
    deps, store = outbox(tmp_path, channel)
    outbound_id = reserve(store)
    assert deliver_reply(deps, outbound_id, {"chat_id": "chat-1"}).outcome == DeliveryOutcome.UNKNOWN
    assert deliver_reply(deps, outbound_id, {"chat_id": "chat-1"}).outcome == DeliveryOutcome.ALREADY_DONE
    assert len(channel.sent) == 1
    assert [e.reason for e in store.escalations(status="open", limit=10)] == ["delivery_failed"]


def test_a_reply_outside_the_window_is_refused_without_a_send(tmp_path: Path) -> None:
    channel = FakeChannel([], PlatformRules(reply_window=timedelta(hours=24)))
    deps, store = outbox(tmp_path, channel)
    outbound_id = reserve(store, received_at=NOW - timedelta(hours=25))
    assert deliver_reply(deps, outbound_id, {"chat_id": "chat-1"}).outcome == DeliveryOutcome.FAILED
    assert channel.sent == []
    assert [e.reason for e in store.escalations(status="open", limit=10)] == ["delivery_failed"]


def test_a_bot_reply_failing_after_a_person_took_the_conversation_leaves_it_theirs(tmp_path: Path) -> None:
    """The bot's reply was queued, then an agent took the conversation, then the send failed for good: the failure
    reaches the team as an escalation, and the conversation stays with the person (no move back to "waiting")."""
    channel = FakeChannel([SendResult(ok=False, status=400, retryable=False, error="blocked")])
    deps, store = outbox(tmp_path, channel)
    outbound_id = reserve(store)
    conversation_id = store.outbound(outbound_id).conversation_id
    store.set_handoff(conversation_id, HandoffState.HUMAN)
    assert deliver_reply(deps, outbound_id, {"chat_id": "chat-1"}).outcome == DeliveryOutcome.FAILED
    assert store.conversation_by_id(conversation_id).handoff == HandoffState.HUMAN
    assert [e.reason for e in store.escalations(status="open", limit=10)] == ["delivery_failed"]
