"""The console end to end with a real Celery worker: webhook → worker → escalation → agent's reply through the
queues API → platform double; the bot stays silent while a person owns the conversation and answers again once it
is handed back. Real Redis (db 12), a SQLite file, the Flask app."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from assistant.domain.messages import HandoffState
from assistant.store import AccountStore, Store
from tests.adapters.platform_double import PlatformDouble
from tests.conftest import REDIS_SERVER
from tests.console.support import ConsoleClient
from tests.live_service import (
    TELEGRAM_BOT_TOKEN,
    TELEGRAM_SECRET,
    configured_service,
    post_telegram,
    telegram_update,
)
from tests.workers import WorkerWaits, start_worker, stop_worker

E2E_REDIS_URL = f"{REDIS_SERVER}/12"


@dataclass
class Worked(WorkerWaits):
    app: Flask
    store: Store
    api: PlatformDouble
    worker_log: Path
    worker: subprocess.Popen[bytes]

    def replies(self, chat: int) -> list[str]:
        sends = [r.json() for r in self.api.requests if r.path.endswith("/sendMessage")]
        return [str(body["text"]) for body in sends if body.get("chat_id") == chat]


@pytest.fixture(scope="module")
def worked(trained_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worked]:
    from tests.console.support import TEST_SECRET_KEY
    from webhooks.app import create_app

    tmp = tmp_path_factory.mktemp("console-e2e")
    config = tmp / "console.toml"
    with configured_service(
        config,
        trained_data_dir,
        E2E_REDIS_URL,
        f"sqlite:///{tmp / 'console.db'}",
        telegram=(TELEGRAM_SECRET, TELEGRAM_BOT_TOKEN),
        # The bot answers whatever the clock says when the test runs.
        policy={"answer_in_business_hours": True},
        service={"send_timeout_seconds": 1.5},
        security={"secret_key": TEST_SECRET_KEY},
    ) as configured:
        settings = configured.settings
        app = create_app(settings)
        app.test_client_class = ConsoleClient
        log = tmp / "worker.log"
        worker = start_worker(config, log)
        worked = Worked(app, Store.from_url(settings.service.database_url), configured.api, log, worker)
        try:
            yield worked
        finally:
            stop_worker(worked.worker)
            worked.store.close()


def test_an_agents_reply_reaches_the_platform_and_silences_the_bot_until_handed_back(worked: Worked) -> None:
    accounts: AccountStore = worked.app.extensions["console.accounts"]()
    agent = accounts.create_user("erin", "correct-horse-battery-staple", "agent", queues=("support",))
    client = worked.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.issue_token(agent.id, 'e2e')}"
    webhooks = worked.app.test_client()
    chat = int(time.time() * 1000) % 1_000_000_000
    assert post_telegram(webhooks, telegram_update("I want to talk to a human", chat)) == 200
    worked.wait_for(lambda: worked.replies(chat), "the holding reply")

    def escalation() -> dict[str, Any] | None:
        items = client.get("/api/v1/queues/support/escalations").get_json()["items"]
        return next((item for item in items if item["sender_name"] == "Anna"), None)

    worked.wait_for(escalation, "the escalation in the support queue")
    found = escalation()
    assert found is not None and found["reason"] == "human_requested"
    escalation_id = found["id"]
    assert (
        client.post(f"/api/v1/escalations/{escalation_id}/claim", json={"version": found["version"]}).status_code == 200
    )
    reply = client.post(
        f"/api/v1/escalations/{escalation_id}/reply", json={"text": "Hi Anna, Erin here.", "idempotency_key": "e2e-1"}
    )
    assert reply.status_code == 202, reply.get_json()
    worked.wait_for(lambda: "Hi Anna, Erin here." in worked.replies(chat), "the agent's reply at the platform")
    conversation = worked.store.conversation("telegram", str(chat))

    def agent_turn() -> bool:
        return any(m.author == "agent" and m.agent_id == agent.id for m in worked.store.history(conversation.id))

    worked.wait_for(agent_turn, "the agent's reply recorded as delivered")
    assert worked.store.conversation_state(conversation.id).handoff == HandoffState.HUMAN
    detail = client.get(f"/api/v1/escalations/{escalation_id}").get_json()
    assert [m["author"] for m in detail["messages"]] == ["customer", "bot", "agent"]
    assert detail["messages"][2]["agent"] == "erin" and detail["pending_replies"] == []
    assert detail["escalation"]["first_response_at"] is not None

    before = len(worked.replies(chat))
    followup = telegram_update("How long does delivery take?", chat)
    assert post_telegram(webhooks, followup) == 200
    worked.wait_for(
        lambda: worked.store.inbound_message_id("telegram", str(followup["update_id"])) is not None,
        "the follow-up to be recorded",
    )
    worked.wait_for(lambda: worked.store.history(conversation.id)[-1].decision is not None, "its decision")
    time.sleep(1.5)  # the time a bot reply would need to show up
    assert len(worked.replies(chat)) == before  # a person owns the conversation: the bot stays silent

    handed = client.post(f"/api/v1/escalations/{escalation_id}/hand-back", json={})
    assert handed.status_code == 200
    assert post_telegram(webhooks, telegram_update("How long does delivery take?", chat)) == 200
    worked.wait_for(lambda: len(worked.replies(chat)) == before + 1, "the bot answering again")
    assert worked.store.conversation_state(conversation.id).handoff == HandoffState.BOT
