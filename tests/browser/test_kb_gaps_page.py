"""An editor in real headless Chromium opens the content-gap report, sees unanswered questions grouped into topics
with their languages and an agent's reply, and turns a topic into a draft entry with one click."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.domain.messages import EscalationReason
from assistant.store import KbStore
from assistant.store.tables import GapCandidate
from tests.browser.conftest import LiveServer, sign_in
from tests.console.seeding import seed_escalation

QUESTIONS = [
    ("Can I get my money back for a broken gift card?", "en"),
    ("How do I get a refund on a gift card?", "en"),
    ("Czy mogę zwrócić kartę podarunkową i odzyskać pieniądze?", "pl"),
]
REPLY = "Gift cards can be refunded within 14 days of purchase."


# The report embeds questions with the trained engine's model: the marker's data folder provides it.
@pytest.mark.live_worker
def test_editor_turns_a_gap_topic_into_a_draft(live_server: LiveServer, browser_page: Any, screenshot: Any) -> None:
    store = live_server.store
    seeds = [
        seed_escalation(store, text=text, language=lang, reason=EscalationReason.OUT_OF_SCOPE, entry_id=None)
        for text, lang in QUESTIONS
    ]
    with store._write() as session:
        session.add(
            GapCandidate(
                escalation_id=seeds[0].escalation_id,
                conversation_id=seeds[0].conversation_id,
                question=QUESTIONS[0][0],
                language="en",
                reply=REPLY,
                reason="out_of_scope",
            )
        )
    live_server.make_user("editor", username="gina", display_name="Gina Editor")
    page = browser_page
    sign_in(page, live_server, "gina")
    page.goto(f"{live_server.url}/console/kb/gaps")
    # With the default threshold (0.35) the two English refund questions form one topic; the Polish one, further
    # away for this model, is a topic of its own.
    assert page.locator("li.gap-cluster").count() == 2
    cluster = page.locator("li.gap-cluster").first
    assert "2×" in cluster.inner_text() and "en 2" in cluster.inner_text()
    assert "pl 1" in page.locator("li.gap-cluster").nth(1).inner_text()
    cluster.locator("summary").click()
    assert REPLY in cluster.inner_text()
    screenshot(page, "kb-gaps")
    cluster.get_by_role("button", name="Create draft").click()
    page.wait_for_url("**/console/kb/*")
    entry_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.locator("[data-testid=entry-status]").inner_text() == "draft"
    record = KbStore(store.engine).get(entry_id)
    assert record.status == "draft" and record.content.answers["en"] == REPLY
    assert set(record.content.questions["en"]) == {QUESTIONS[0][0], QUESTIONS[1][0]}
    assert page.js_errors == []
    screenshot(page, "kb-gaps-draft")
