"""The service end to end: webhook → durable inbox → Celery worker → engine → reply to the platform
double; duplicates, forged requests, send failures and human ownership never produce a second reply."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient

from assistant.domain.messages import HandoffState
from assistant.store import Store, migrate
from tests.adapters.platform_double import webhook_request
from tests.live_service import SLACK_SIGNING_SECRET, TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET, post_telegram, telegram_update
from tests.service.conftest import Service, sweep_now
from tests.workers import start_worker, stop_worker
from webhooks.runtime import RUNTIME_EXTENSION

_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)
SEND_PATH = f"/bot{TELEGRAM_BOT_TOKEN}/sendMessage"


def replies_to(service: Service, chat_id: int) -> list[dict[str, object]]:
    return [r.json() for r in service.sends(SEND_PATH) if r.json().get("chat_id") == chat_id]


def test_a_question_is_answered_once_through_the_platform(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    assert post_telegram(client, telegram_update("How long does delivery take?", chat)) == 200
    service.wait_for(lambda: replies_to(service, chat), what="the reply")
    (reply,) = replies_to(service, chat)
    assert "Anna" in str(reply["text"])
    conversation = service.store.conversation("telegram", str(chat))
    service.wait_for(
        lambda: (
            service.store.conversation_state(conversation.id).handoff == HandoffState.BOT
            and any(m.author == "bot" for m in service.store.history(conversation.id))
        ),
        what="the reply to be recorded as delivered",
    )
    assert not [e for e in service.store.escalations(status="open", limit=500) if e.conversation_id == conversation.id]
    request = next(r for r in service.sends(SEND_PATH) if r.json().get("chat_id") == chat)
    assert request.method == "POST" and request.headers["content-type"].startswith("application/json")


def test_the_same_update_three_times_and_out_of_order_gives_one_reply_each(
    service: Service, client: FlaskClient
) -> None:
    chat = next(_ids)
    first = telegram_update("What payment methods do you accept?", chat)
    second = telegram_update("How long does delivery take?", chat)
    assert int(str(first["update_id"])) < int(str(second["update_id"]))  # Telegram's order: `first` before `second`
    for update in (second, first, second, first, second, first):  # arrival: `second` first, then each again
        assert post_telegram(client, update) == 200
    # Duplicates are stopped at the door: one task per update, whatever arrived after.
    for update in (second, first):
        assert service.wait_processed("telegram", str(update["update_id"]), queued=1) == ["decided"]
        service.wait_for(
            lambda u=update: service.reply_status("telegram", str(u["update_id"])) == "sent",
            what="the reply to be sent",
        )
    # Every task these updates caused has finished: a duplicate reply could only have come from them.
    conversation = service.store.conversation("telegram", str(chat))
    decided = {m.text: m.decision for m in service.store.history(conversation.id) if m.author == "customer"}
    answers = {text: d.reply for text, d in decided.items() if d is not None}
    assert {text: d.entry_id for text, d in decided.items() if d is not None} == {
        "How long does delivery take?": "shipping-times",
        "What payment methods do you accept?": "payment-methods",
    }
    # What the README promises about order: by arrival (decided one at a time), not by the platform's numbering.
    recorded = [service.store.inbound_message_id("telegram", str(u["update_id"])) for u in (second, first)]
    assert recorded[0] is not None and recorded[1] is not None and recorded[0] < recorded[1]
    assert [r["text"] for r in replies_to(service, chat)] == [
        answers["How long does delivery take?"],
        answers["What payment methods do you accept?"],
    ]


def test_a_redelivery_is_stopped_by_the_inbox_and_a_second_task_by_the_database(
    service: Service, client: FlaskClient
) -> None:
    from webhooks.adapters.telegram import TelegramAdapter
    from webhooks.celery_app import queue_decision

    chat = next(_ids)
    update = telegram_update("How long does delivery take?", chat)
    event_id = str(update["update_id"])
    assert post_telegram(client, update) == 200
    service.wait_for(lambda: service.reply_status("telegram", event_id) == "sent", what="the reply to be sent")
    assert post_telegram(client, update) == 200  # Telegram's redelivery: the inbox has it, nothing is queued
    # A second task for the same event (a sweep that queued it while the first was still running) reaches the
    # worker, which finds the message recorded and decided: it queues no send, so the one reply below is final.
    [event] = TelegramAdapter(service.settings.platforms["telegram"]).parse(webhook_request(json.dumps(update)))
    queue_decision(client.application.extensions["celery"], event)
    assert service.wait_processed("telegram", event_id, queued=2) == ["decided", "duplicate"]
    assert len(replies_to(service, chat)) == 1


def test_forged_or_missing_secret_is_refused_and_nothing_is_stored(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(client, update, secret="wrong") == 401
    response = client.post("/webhooks/telegram", data=json.dumps(update), headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    # Refused before the queue: no task was ever queued (queueing happens inside the request), so nothing can
    # be stored or sent later, and the event id is not claimed, so a genuine delivery of it still goes through.
    assert service.tasks_for("telegram", str(update["update_id"])) == []
    assert service.redis.get(f"ca:event:telegram:{update['update_id']}") is None
    assert service.store.inbound_message_id("telegram", str(update["update_id"])) is None
    assert not replies_to(service, chat)


def slack_headers(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(SLACK_SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slack_event(text: str, channel: str) -> bytes:
    event_id = f"Ev{next(_ids)}"
    ts = f"{time.time():.6f}"
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": channel,
                "user": "U123",
                "text": text,
                "ts": ts,
                "channel_type": "im",
            },
        }
    ).encode()


def test_slack_retries_are_duplicates_and_stale_signatures_are_refused(service: Service, client: FlaskClient) -> None:
    channel = f"D{next(_ids)}"
    body = slack_event("How long does delivery take?", channel)
    assert client.post("/webhooks/slack", data=body, headers=slack_headers(body)).status_code == 200
    retry_headers = {**slack_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert client.post("/webhooks/slack", data=body, headers=retry_headers).status_code == 200
    stale = slack_headers(body, timestamp=int(time.time()) - 600)
    assert client.post("/webhooks/slack", data=body, headers=stale).status_code == 401
    forged = {**slack_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert client.post("/webhooks/slack", data=body, headers=forged).status_code == 401

    def posted() -> list[object]:
        return [r for r in service.sends("/chat.postMessage") if r.json().get("channel") == channel]

    # The adapter names a message event by team, channel and ts; the retry carried the same ones and was not queued.
    [event_id] = {e for _, p, e in service.published if p == "slack" and f":{channel}:" in e}
    assert service.wait_processed("slack", event_id, queued=1) == ["decided"]
    service.wait_for(lambda: service.reply_status("slack", event_id) == "sent", what="the Slack reply to be sent")
    (request,) = posted()
    assert request.headers["authorization"] == "Bearer xoxb-test-token"  # type: ignore[attr-defined]


def test_slack_url_verification_answers_the_challenge(client: FlaskClient) -> None:
    body = json.dumps(
        {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    ).encode()
    response = client.post("/webhooks/slack", data=body, headers=slack_headers(body))
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.get_data(as_text=True)


def test_a_server_error_is_retried_until_the_reply_goes_through(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    service.api.reply(500, json={"ok": False, "description": "Internal"}, path=SEND_PATH, times=2)
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(client, update) == 200
    event_id = str(update["update_id"])
    service.wait_for(
        lambda: service.reply_status("telegram", event_id) == "sent", timeout=45, what="two failures then success"
    )
    # A sent reply is never sent again (the store refuses), so the count is final.
    assert len(replies_to(service, chat)) == 3  # two refused attempts, one delivered, no extra
    conversation = service.store.conversation("telegram", str(chat))
    assert [m.author for m in service.store.history(conversation.id)] == ["customer", "bot"]
    assert service.store.conversation_state(conversation.id).handoff == HandoffState.BOT


def worker_tasks_since(service: Service, offset: int) -> list[str]:
    """The message tasks (deciding, sending) the worker received after byte `offset` of its log."""
    with service.worker_log.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode("utf-8", "replace").splitlines()
    received = [line for line in lines if "Task ca." in line and "] received" in line]
    names = [line.split("Task ", 1)[1].split("[", 1)[0] for line in received]
    return [name for name in names if name in ("ca.process_event", "ca.deliver_reply")]


def test_the_deciding_task_sends_the_reply_and_only_a_retry_takes_a_second_task(
    service: Service, client: FlaskClient
) -> None:
    chat = next(_ids)
    start = service.worker_log.stat().st_size
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(client, update) == 200
    service.wait_for(lambda: service.reply_status("telegram", str(update["update_id"])) == "sent", what="the reply")
    assert worker_tasks_since(service, start) == ["ca.process_event"]
    # A send that has to wait goes on as ca.deliver_reply, with its retries.
    chat = next(_ids)
    start = service.worker_log.stat().st_size
    service.api.reply(500, json={"ok": False, "description": "Internal"}, path=SEND_PATH, times=1)
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(client, update) == 200
    service.wait_for(
        lambda: service.reply_status("telegram", str(update["update_id"])) == "sent", timeout=30, what="the retry"
    )
    assert worker_tasks_since(service, start) == ["ca.process_event", "ca.deliver_reply"]
    assert len(replies_to(service, chat)) == 2  # one refused, one delivered


def test_a_message_waiting_for_its_busy_conversation_is_answered_and_not_counted_as_failing(
    service: Service, client: FlaskClient
) -> None:
    from webhooks.runtime import LOCK_PREFIX

    chat = next(_ids)
    # Another worker deciding this conversation's previous message, for longer than the lock wait (5 s).
    held = service.redis.lock(f"{LOCK_PREFIX}telegram:{chat}", timeout=30)
    assert held.acquire()
    update = telegram_update("How long does delivery take?", chat)
    event_id = str(update["update_id"])
    assert post_telegram(client, update) == 200
    service.wait_for(
        lambda: "ConversationBusyError" in service.worker_log.read_text(errors="replace"),
        timeout=15,
        what="the worker to find the conversation busy",
    )
    held.release()
    service.wait_for(lambda: service.reply_status("telegram", event_id) == "sent", timeout=15, what="the reply")
    assert len(replies_to(service, chat)) == 1
    stored = service.store.inbox_event("telegram", event_id)
    # Waiting was not a failed attempt: none recorded, and nobody was handed the message.
    assert stored is not None and stored.status == "done" and stored.last_error is None
    conversation = service.store.conversation("telegram", str(chat))
    assert not [e for e in service.store.escalations(status="open", limit=500) if e.conversation_id == conversation.id]


def test_429_is_retried_after_the_platforms_delay(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    service.api.reply(429, json={"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, path=SEND_PATH)
    assert post_telegram(client, telegram_update("What payment methods do you accept?", chat)) == 200
    service.wait_for(lambda: len(replies_to(service, chat)) >= 2, timeout=30, what="retry after 429")
    times = [r for r in service.sends(SEND_PATH) if r.json().get("chat_id") == chat]
    assert len(times) == 2
    conversation = service.store.conversation("telegram", str(chat))
    service.wait_for(
        lambda: any(m.author == "bot" for m in service.store.history(conversation.id)),
        what="the retried reply to be recorded as delivered",
    )


def test_a_timeout_with_unknown_outcome_is_not_resent_but_handed_to_a_person(
    service: Service, client: FlaskClient
) -> None:
    chat = next(_ids)
    service.api.reply(200, json={"ok": True, "result": {"message_id": 1}}, path=SEND_PATH, delay=3.0)
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(client, update) == 200
    conversation = service.store.conversation("telegram", str(chat))

    def reasons() -> list[str]:
        escalations = service.store.escalations(status="open", limit=500)
        return [e.reason for e in escalations if e.conversation_id == conversation.id]

    # The send timed out: the reply is marked unknown (never retried from there) and handed to a person.
    service.wait_for(
        lambda: service.reply_status("telegram", str(update["update_id"])) == "unknown" and reasons(),
        what="the unknown outcome to reach a person",
    )
    assert len(replies_to(service, chat)) == 1
    assert service.store.conversation_state(conversation.id).handoff == HandoffState.WAITING_FOR_HUMAN
    assert reasons() == ["delivery_failed"]


def test_a_conversation_owned_by_a_person_gets_no_bot_reply(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    conversation = service.store.conversation("telegram", str(chat))
    service.store.set_handoff(conversation.id, HandoffState.HUMAN)
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(client, update) == 200
    # Decided and finished without reserving a reply: no send was queued, so none can come later.
    assert service.wait_processed("telegram", str(update["update_id"]), queued=1) == ["decided"]
    assert service.reply_status("telegram", str(update["update_id"])) is None
    assert not replies_to(service, chat)
    history = service.store.history(conversation.id)
    assert history[-1].decision is not None and history[-1].decision.action == "ignore"


def test_a_request_for_a_person_escalates_once_and_is_pushed_to_the_helpdesk(
    service: Service, client: FlaskClient
) -> None:
    chat = next(_ids)
    assert post_telegram(client, telegram_update("I want to talk to a human", chat)) == 200
    service.wait_for(lambda: replies_to(service, chat), what="the holding reply")
    again = telegram_update("hello??", chat)
    assert post_telegram(client, again) == 200
    service.wait_for(lambda: len(service.sends("/helpdesk/tickets")) >= 1, what="the helpdesk push")
    # The second message was decided without reserving a reply: the holding reply is sent once, not every time.
    assert service.wait_processed("telegram", str(again["update_id"]), queued=1) == ["decided"]
    assert service.reply_status("telegram", str(again["update_id"])) is None
    assert len(replies_to(service, chat)) == 1
    conversation = service.store.conversation("telegram", str(chat))
    open_ones = [e for e in service.store.escalations(status="open", limit=500) if e.conversation_id == conversation.id]
    assert len(open_ones) == 1 and open_ones[0].reason == "human_requested"
    ticket = service.sends("/helpdesk/tickets")[-1]
    assert ticket.headers["webhook-id"].startswith("escalation-")  # type: ignore[attr-defined]
    assert ticket.headers["webhook-signature"].startswith("v1,")  # type: ignore[attr-defined]


def test_bad_requests_get_clear_4xx(service: Service, client: FlaskClient) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert client.post("/webhooks/telegram", data=b"{not json", headers=headers).status_code == 400
    assert client.post("/webhooks/nowhere", data=b"{}", headers=headers).status_code == 404
    huge = b'{"update_id": 1, "pad": "' + b"x" * (service.settings.service.max_body_bytes + 10) + b'"}'
    response = client.post("/webhooks/telegram", data=huge, headers=headers)
    assert response.status_code == 413 and "larger than" in response.get_json()["error"]
    assert client.get("/webhooks/telegram").status_code in (404, 405)


def test_with_redis_down_the_event_is_stored_acknowledged_and_answered_once_redis_is_back(
    service: Service, client: FlaskClient
) -> None:
    from webhooks.app import create_app

    settings = service.settings.model_copy(
        update={"service": service.settings.service.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})}
    )
    down = create_app(settings).test_client()
    chat = next(_ids)
    update = telegram_update("How long does delivery take?", chat)
    assert post_telegram(down, update) == 200  # stored in the inbox: acknowledged although nothing was queued
    stored = service.store.inbox_event("telegram", str(update["update_id"]))
    assert stored is not None and stored.status == "received" and not replies_to(service, chat)
    # Redis is back (the service's own app): the sweep, once the grace period has passed, queues it again.
    sweep_now(client, service.settings, after_seconds=service.settings.reliability.inbox_grace_seconds + 1)
    service.wait_for(lambda: replies_to(service, chat), what="the reply to the stored event")
    assert service.store.inbox_event("telegram", str(update["update_id"])).status == "done"
    assert len(replies_to(service, chat)) == 1


def test_a_database_that_refuses_the_event_answers_503_so_the_platform_retries(
    service: Service, tmp_path: Path
) -> None:
    from webhooks.app import create_app

    app = create_app(service.settings)
    runtime = app.extensions[RUNTIME_EXTENSION]
    locked = tmp_path / "locked.db"
    runtime.store = Store.from_url(f"sqlite:///{locked}", busy_timeout_ms=100)
    migrate(f"sqlite:///{locked}")
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock past the busy timeout
    try:
        update = telegram_update("How long does delivery take?", next(_ids))
        assert post_telegram(app.test_client(), update) == 503
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert runtime.store.inbox_event("telegram", str(update["update_id"])) is None


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"]["index"]["ok"]


def test_a_worker_killed_mid_send_leaves_exactly_one_reply(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    service.api.reply(200, json={"ok": True, "result": {"message_id": 7}}, path=SEND_PATH, delay=2.5)
    update = telegram_update("What payment methods do you accept?", chat)
    assert post_telegram(client, update) == 200
    service.wait_for(lambda: replies_to(service, chat), what="the send to start")
    stop_worker(service.worker, kill=True)
    service.worker = start_worker(service.config, service.worker_log)
    # Past the visibility timeout the unacknowledged send task is redelivered. It cannot know whether the
    # platform got the reply: it marks the reply unknown instead of resending, and a person is told.
    conversation = service.store.conversation("telegram", str(chat), None, None)
    service.wait_for(
        lambda: (
            service.reply_status("telegram", str(update["update_id"])) == "unknown"
            and [
                e.reason
                for e in service.store.escalations(status="open", limit=500)
                if e.conversation_id == conversation.id
            ]
            == ["delivery_failed"]
        ),
        what="the redelivered send to hand the unknown outcome to a person",
    )
    assert len(replies_to(service, chat)) == 1


def test_meta_replies_outside_the_24_hour_window_go_to_a_person(service: Service) -> None:
    from datetime import UTC, datetime, timedelta

    from assistant.services.delivery import deliver_reply
    from webhooks.runtime import Runtime

    platforms = dict(service.settings.platforms)
    platforms["messenger"] = platforms["messenger"].model_copy(
        update={"enabled": True, "api_base_url": service.api.url, "access_token": "page-token", "app_secret": "s"}
    )
    runtime = Runtime(service.settings.model_copy(update={"platforms": platforms}))
    store = service.store
    now = datetime.now(UTC)
    conversation = store.conversation("messenger", f"page:{next(_ids)}", "psid-1", "Anna")
    message_id = store.record_inbound(
        conversation.id, "messenger", f"mid.{next(_ids)}", "hi", "en", False, now - timedelta(hours=25)
    )
    assert message_id is not None
    record, _ = store.reserve_outbound(
        f"reply:test:{message_id}", conversation.id, message_id, "messenger", "reply", "late answer"
    )
    before = len(service.sends("/me/messages"))
    delivery = deliver_reply(runtime.outbox(clock=lambda: now), record.id, {"recipient_id": "psid-1"})
    assert delivery.outcome == "failed"
    assert len(service.sends("/me/messages")) == before  # nothing sent outside the window
    reasons = [e.reason for e in store.escalations(status="open", limit=500) if e.conversation_id == conversation.id]
    assert reasons == ["delivery_failed"]


def test_a_closed_conversation_reopens_with_the_bot(service: Service, client: FlaskClient) -> None:
    chat = next(_ids)
    conversation = service.store.conversation("telegram", str(chat))
    service.store.set_handoff(conversation.id, HandoffState.CLOSED)
    assert post_telegram(client, telegram_update("How long does delivery take?", chat)) == 200
    service.wait_for(lambda: replies_to(service, chat), what="the bot's reply")
    assert service.store.conversation_state(conversation.id).handoff == HandoffState.BOT


def test_operators_move_conversations_between_bot_and_people(service: Service, client: FlaskClient) -> None:
    from click.testing import CliRunner

    from assistant.cli import main

    chat = next(_ids)
    assert post_telegram(client, telegram_update("I want to talk to a human", chat)) == 200
    service.wait_for(lambda: replies_to(service, chat), what="the holding reply")
    conversation = service.store.conversation("telegram", str(chat))
    runner = CliRunner(env={"CA_CONFIG": str(service.config)})
    listed = runner.invoke(main, ["conversations", "list", "--limit", "500"])
    assert f"conversation {conversation.id} [telegram] waiting_for_human" in listed.output
    assert runner.invoke(main, ["conversations", "handoff", str(conversation.id), "human"]).exit_code == 0
    refused = runner.invoke(main, ["conversations", "handoff", str(conversation.id), "waiting_for_human"])
    assert refused.exit_code == 2 and "cannot go from human to waiting_for_human" in refused.output
    silent = telegram_update("are you there?", chat)
    assert post_telegram(client, silent) == 200
    # A person owns it: decided without a reply reserved, so the bot stays silent for good.
    assert service.wait_processed("telegram", str(silent["update_id"]), queued=1) == ["decided"]
    assert service.reply_status("telegram", str(silent["update_id"])) is None
    assert len(replies_to(service, chat)) == 1
    assert runner.invoke(main, ["conversations", "handoff", str(conversation.id), "bot"]).exit_code == 0
    assert not [e for e in service.store.escalations(status="open", limit=500) if e.conversation_id == conversation.id]
    assert post_telegram(client, telegram_update("How long does delivery take?", chat)) == 200
    service.wait_for(lambda: len(replies_to(service, chat)) == 2, what="the bot answering again")


def test_a_silent_decision_still_completes_a_discord_slash_command(service: Service) -> None:
    """Discord shows "thinking…" until the deferred response is edited: a conversation a person owns gets no
    bot answer, but the command is still completed with an honest word, never left spinning."""
    from datetime import UTC, datetime

    from assistant.domain.channels import InboundEvent
    from assistant.domain.messages import InboundMessage
    from assistant.services.delivery import deliver_reply
    from assistant.services.inbound import process_event
    from webhooks.runtime import Runtime

    platforms = dict(service.settings.platforms)
    platforms["discord"] = platforms["discord"].model_copy(update={"enabled": True, "api_base_url": service.api.url})
    runtime = Runtime(service.settings.model_copy(update={"platforms": platforms}))
    channel = f"chan-{next(_ids)}"
    conversation = service.store.conversation("discord", channel, "user-1", "Anna")
    service.store.set_handoff(conversation.id, HandoffState.HUMAN)
    target = {"application_id": "app-1", "interaction_token": f"tok-{next(_ids)}", "channel_id": channel}
    event = InboundEvent(
        platform="discord",
        event_id=f"int-{next(_ids)}",
        conversation_key=channel,
        kind="message",
        message=InboundMessage(text="How long does delivery take?", sender_id="user-1", platform="discord"),
        reply_target=target,
    )
    processed = process_event(runtime.inbound(), event, datetime.now(UTC))
    assert processed.outcome == "decided" and processed.outbound_id is not None
    decision = service.store.history(conversation.id)[-1].decision
    assert decision is not None and decision.reply is None  # the engine itself stayed silent
    assert deliver_reply(runtime.outbox(), processed.outbound_id, target).outcome == "sent"
    [edit] = service.sends(f"/webhooks/app-1/{target['interaction_token']}/messages/@original")
    assert edit.method == "PATCH"  # type: ignore[attr-defined]
    assert "our team" in edit.json()["content"]  # type: ignore[attr-defined]


def test_a_large_delivery_is_stored_at_once_and_queued_by_the_worker_every_message_answered_once(
    service: Service, client: FlaskClient
) -> None:
    from assistant.services import intake
    from webhooks.adapters.telegram import TelegramAdapter
    from webhooks.celery_app import intake_for

    # Telegram sends one update per request; Meta batches: the intake use case takes the batch either way.
    adapter = TelegramAdapter(service.settings.platforms["telegram"])
    chats = [next(_ids) for _ in range(service.settings.reliability.direct_enqueue_max + 5)]
    events = [
        event
        for chat in chats
        for event in adapter.parse(webhook_request(json.dumps(telegram_update("How long does delivery take?", chat))))
    ]
    app = client.application
    accepted = intake.accept(
        intake_for(app.extensions[RUNTIME_EXTENSION], app.extensions["celery"]), events, datetime.now(UTC)
    )
    assert (accepted.stored, accepted.deferred) == (len(chats), False)
    assert not any(service.tasks_for("telegram", e.event_id) for e in events)  # one task queues them, in the worker
    service.wait_for(lambda: all(replies_to(service, chat) for chat in chats), what="every reply", timeout=90)
    assert all(len(replies_to(service, chat)) == 1 for chat in chats)
