"""An agent works the queue in real headless Chromium: a signed Slack webhook becomes an escalation that
appears on the open queue page without a reload, the agent claims it with the keyboard, inserts a canned
reply by shortcode, sends it, and the reply reaches the platform double through the real Celery worker.
Screenshots of the queue list, the queue view and the conversation view are kept in tests/artifacts/."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from assistant.domain.messages import HandoffState
from assistant.store import ConsoleStore
from tests.browser.conftest import LiveServer, sign_in
from tests.live_service import SLACK_SIGNING_SECRET


def slack_delivery(text: str, channel: str) -> tuple[bytes, dict[str, str]]:
    import hashlib
    import hmac

    now = time.time()
    body = json.dumps(
        {
            "token": "unused",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"Ev{int(now * 1000)}",
            "event_time": int(now),
            "event": {
                "type": "message",
                "channel": channel,
                "user": "U777",
                "text": text,
                "ts": f"{now:.6f}",
                "channel_type": "im",
            },
        }
    ).encode()
    stamp = str(int(now))
    digest = hmac.new(SLACK_SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return body, headers


@pytest.mark.live_worker
def test_an_agent_sees_a_new_escalation_claims_it_and_replies(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("agent", queues=("support",), username="gale", display_name="Gale Agent")
    console = ConsoleStore(live_server.store.engine)
    console.save_canned_reply("sorry", "en", "Sorry for the trouble, I am looking into it now.")
    page = browser_page
    sign_in(page, live_server, "gale")
    page.wait_for_selector("[data-testid=queue-cards]")
    page.goto(f"{live_server.url}/console/queues/support")
    page.wait_for_selector("[data-testid=queue-body]")
    assert page.locator("[data-testid=escalation-row]").count() == 0

    # A customer asks for a person on Slack; the page is not reloaded.
    channel = f"D{int(time.time() * 1000) % 10_000_000}"
    body, headers = slack_delivery("I want to talk to a human please", channel)
    answer = httpx.post(f"{live_server.url}/webhooks/slack", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200
    row = page.locator("[data-testid=escalation-row]", has_text="I want to talk to a human please")
    row.wait_for(timeout=45_000)  # the worker loads the model on its first message; polling shows it at once after
    screenshot(page, "queue-view")

    page.goto(f"{live_server.url}/console/queues")
    card = page.locator("[data-testid=queue-card-support]")
    assert "1 open" in " ".join(card.inner_text().split())
    screenshot(page, "queue-list")

    page.goto(f"{live_server.url}/console/queues/support")
    page.keyboard.press("1")  # the first row's shortcut opens it
    page.wait_for_selector("[data-testid=thread]")
    assert "I want to talk to a human please" in page.locator("[data-testid=thread]").inner_text()
    page.keyboard.press("c")  # claim
    page.wait_for_selector("[data-testid=status] >> text=@gale")

    page.keyboard.press("r")  # focus the reply box
    page.keyboard.type("Hi, Gale here. /sorry")
    page.keyboard.press("Tab")  # the shortcode becomes the canned reply
    reply_text = "Hi, Gale here. Sorry for the trouble, I am looking into it now."
    assert page.locator("[data-testid=reply-text]").input_value() == reply_text
    screenshot(page, "conversation-view")
    page.click("[data-testid=send-reply]")

    def delivered() -> bool:
        sends = [r.json() for r in live_server.api.requests if r.path.endswith("/chat.postMessage")]
        return any(body.get("channel") == channel and body.get("text") == reply_text for body in sends)

    live_server.wait_for(delivered, timeout=30, what="the agent's reply at the platform double")
    # The thread shows the delivered reply by itself (the conversation view polls).
    page.locator("[data-testid=thread] .bubble-agent:not(.bubble-pending)", has_text="Sorry for the trouble").wait_for(
        timeout=15_000
    )
    assert page.locator("[data-testid=reply-text]").input_value() == ""
    (claimed,) = live_server.store.escalations(status="claimed")
    assert live_server.store.conversation_state(claimed.conversation_id).handoff == HandoffState.HUMAN
    assert live_server.store.conversation_by_id(claimed.conversation_id).platform == "slack"
    screenshot(page, "conversation-view-replied")
    assert page.js_errors == []

    # Usable on a phone: nothing sticks out sideways, the reply box and the actions are reachable.
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    page.wait_for_selector("[data-testid=thread]")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert page.locator("[data-testid=resolve]").is_visible()
    page.locator("[data-testid=reply-text]").scroll_into_view_if_needed()
    assert page.locator("[data-testid=reply-text]").is_visible()
    screenshot(page, "conversation-view-phone")
