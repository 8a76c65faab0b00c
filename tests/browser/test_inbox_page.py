"""The agents' inbox in real headless Chromium: one list across the agent's queues with a "waiting" time on each
row and filters, a search over every message that opens the conversation, and the conversation page's customer
panel (loaded by htmx) with the sender's other conversation and labels added and removed there. Screenshots of
the inbox, the search results and the customer panel go to tests/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.domain.messages import Priority
from assistant.store import ConsoleStore
from tests.browser.conftest import LiveServer, sign_in
from tests.console.seeding import seed_escalation


def test_an_agent_works_from_the_inbox_searches_and_sees_the_customer(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    store = live_server.store
    live_server.make_user("agent", queues=("support", "complaints"), username="ines", display_name="Ines Agent")
    long_ago = datetime.now(UTC) - timedelta(minutes=42)
    first = seed_escalation(
        store,
        queue="support",
        text="Where is order 1001? It left Lyon a week ago",
        sender_name="Lea",
        received_at=long_ago,
    )
    seed_escalation(
        store,
        queue="complaints",
        text="The courier was rude",
        sender_name="Carl",
        platform="slack",
        priority=Priority.HIGH,
    )
    seed_escalation(store, queue="urgent", text="My stove burned my hand", sender_name="Uma")
    # Lea writes again in a new chat on the same platform, with the same platform user id.
    again = seed_escalation(store, queue="support", text="Any news about my parcel?", sender_name="Lea")
    sender = store.conversation_by_id(first.conversation_id).sender_id
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE conversations SET sender_id = ? WHERE id = ?", (sender, again.conversation_id)
        )

    page = browser_page
    sign_in(page, live_server, "ines")
    page.wait_for_selector("[data-nav=inbox]")
    page.click("[data-nav=inbox]")
    rows = page.locator("[data-testid=inbox-row]")
    rows.first.wait_for()
    assert rows.count() == 3  # support and complaints, never urgent
    assert "Uma" not in page.locator("[data-testid=inbox-body]").inner_text()
    lea_row = page.locator("[data-testid=inbox-row]", has_text="order 1001")
    assert "waiting 4" in lea_row.locator("[data-testid=waiting]").inner_text()  # 42 min
    screenshot(page, "inbox")

    page.select_option("[data-testid=filter-platform]", "slack")
    page.click("[data-testid=apply-filters]")
    page.wait_for_url("**platform=slack**")
    assert rows.count() == 1 and "Carl" in rows.first.inner_text()
    page.click("[data-testid=scope-unassigned]")
    page.wait_for_url("**scope=unassigned**")
    assert rows.count() == 1  # the platform filter is kept with the scope

    page.fill("[data-testid=search-input]", "lyon ORDER")
    page.keyboard.press("Enter")
    hits = page.locator("[data-testid=search-hit]")
    hits.first.wait_for()
    assert hits.count() == 1 and "order 1001" in hits.first.inner_text()
    screenshot(page, "inbox-search")
    hits.first.click()
    page.wait_for_selector("[data-testid=thread]")
    assert "order 1001" in page.locator("[data-testid=thread]").inner_text()

    # The customer panel: Lea's other conversation, then a label added and removed without a reload.
    panel = page.locator("[data-testid=customer-panel]")
    panel.wait_for()
    assert "Any news about my parcel?" in panel.locator("[data-testid=other-conversations]").inner_text()
    page.fill("[data-testid=label-input]", "Late Parcel")
    page.locator("[data-testid=label-form] button").click()
    page.locator("[data-testid=labels] [data-label=late-parcel]").wait_for()
    assert ConsoleStore(store.engine).labels(first.conversation_id) == ("late-parcel",)
    screenshot(page, "customer-panel")
    page.locator("[data-testid=labels] [data-label=late-parcel] [data-testid=remove-label]").click()
    page.locator("[data-testid=labels] [data-label=late-parcel]").wait_for(state="detached")
    assert ConsoleStore(store.engine).labels(first.conversation_id) == ()

    ConsoleStore(store.engine).add_label(again.conversation_id, "vip", None)
    page.goto(f"{live_server.url}/console/inbox?label=vip")
    assert rows.count() == 1 and "Any news" in rows.first.inner_text()
    assert page.js_errors == []

    # On a phone the inbox, its filters and its rows fit the width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/console/inbox")
    rows.first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert page.locator("[data-testid=search-input]").is_visible()
    screenshot(page, "inbox-phone")
