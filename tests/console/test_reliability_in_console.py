"""What the reliability rules leave for people is visible in the console: a message the service could not decide
waits in its queue as "processing failed" and the queue list counts such messages; a message cut at the edge says
how long it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from assistant.domain.channels import InboundEvent
from assistant.domain.inbound_text import clean_event
from assistant.domain.messages import InboundMessage
from assistant.services.inbound import Inbound, give_up
from assistant.store import Store
from tests.console.support import MakeUser
from webhooks.runtime import RUNTIME_EXTENSION, Runtime


def test_a_message_that_could_not_be_decided_is_counted_and_waits_in_its_queue(
    console_app: Flask, make_user: MakeUser, logged_in_client: Callable[..., Any]
) -> None:
    runtime: Runtime = console_app.extensions[RUNTIME_EXTENSION]
    store: Store = runtime.store
    page = logged_in_client(make_user("agent", queues=["support"]))
    assert 'data-testid="processing-failed"' not in page.get("/console/queues").get_data(as_text=True)

    message = InboundMessage(text="Why was I charged twice?", sender_id="u-9", sender_name="Ola", platform="telegram")
    event = InboundEvent("telegram", "ev-9", "chat-9", "message", message, reply_target={"chat_id": "9"})
    now = datetime.now(UTC)
    store.accept_events([event], now)
    deps = Inbound(store, lambda: runtime.engine, runtime.conversation_lock, runtime.escalations)
    escalation_id = give_up(deps, event, "RuntimeError: the engine crashed", now)
    assert escalation_id is not None

    listing = page.get("/console/queues").get_data(as_text=True)
    assert 'data-testid="processing-failed"' in listing and "1 message in the last 7 days" in listing
    queue = page.get("/console/queues/support").get_data(as_text=True)
    assert "processing failed" in queue and "Why was I charged twice?" in queue
    conversation = page.get(f"/console/escalations/{escalation_id}").get_data(as_text=True)
    assert "Why was I charged twice?" in conversation


def test_a_message_cut_at_the_edge_says_how_long_it_was(
    console_app: Flask, make_user: MakeUser, logged_in_client: Callable[..., Any]
) -> None:
    runtime: Runtime = console_app.extensions[RUNTIME_EXTENSION]
    store: Store = runtime.store
    long = InboundMessage(text="Help! " * 40_000, sender_id="u-7", platform="telegram")
    event = clean_event(InboundEvent("telegram", "ev-7", "chat-7", "message", long), max_text_chars=20_000)
    now = datetime.now(UTC)
    deps = Inbound(store, lambda: runtime.engine, runtime.conversation_lock, runtime.escalations)
    escalation_id = give_up(deps, event, "RuntimeError: test", now)
    page = logged_in_client(make_user("agent", queues=["support"]))
    html = page.get(f"/console/escalations/{escalation_id}").get_data(as_text=True)
    assert "Cut: the message had 240,000 characters; the first 20,000 are kept." in html
