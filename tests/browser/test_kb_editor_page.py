"""An editor in real headless Chromium: creates an entry through the KB page, sees the missing translations flagged,
previews a question against the trained engine (htmx), sends the entry for review and publishes it with the status
buttons (a re-index is requested), then rolls an edit back from the history; screenshots of each page."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.store import KbStore
from tests.browser.conftest import LiveServer, sign_in
from webhooks.console.kb.context import REINDEX_EXTENSION, STORE_EXTENSION


# The trained engine (the marker's data folder) makes the preview real; the worker itself is not used here:
# re-index requests are recorded, the Celery side is tests/console/test_live_reindex.py.
@pytest.mark.live_worker
def test_editor_publishes_an_entry_through_the_page(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    reindexed: list[str] = []
    live_server.app.extensions[REINDEX_EXTENSION] = reindexed.append
    store: KbStore = live_server.app.extensions[STORE_EXTENSION]()
    live_server.make_user("editor", username="edna", display_name="Edna Editor")
    page = browser_page
    sign_in(page, live_server, "edna")

    page.locator("nav.queue-nav").get_by_role("link", name="Knowledge base").click()
    page.wait_for_url("**/console/kb")
    page.get_by_role("link", name="New entry").click()
    page.fill("input[name=entry_id]", "sunday-hours")
    page.fill("input[name=tags]", "store, hours")
    page.fill("textarea[name=q_en]", "Are you open on Sunday?\nsunday opening hours")
    page.fill("textarea[name=a_en]", "On Sundays the showroom is open 10:00-14:00. <b>Welcome!</b>")
    page.fill("textarea[name=q_pl]", "Czy jesteście otwarci w niedzielę?")
    page.click("[data-testid=save]")
    page.wait_for_url("**/console/kb/sunday-hours")
    assert page.locator("[data-testid=entry-status]").inner_text() == "draft"
    # Languages side by side; those without an answer are flagged.
    assert page.locator("fieldset.kb-lang-missing[data-lang=pl]").is_visible()
    assert page.locator("fieldset.kb-lang-missing[data-lang=fr]").is_visible()
    assert not page.locator("fieldset.kb-lang-missing[data-lang=en]").count()
    assert "pl (answer)" in page.locator("[data-testid=missing-translations]").inner_text()

    # Preview: the current bot's decision and the draft's similarity, without saving anything.
    page.fill("#preview-question", "is the shop open on sundays?")
    page.click("[data-testid=preview]")
    page.wait_for_selector("[data-testid=preview-similarity]")
    result = page.locator("[data-testid=preview-result]").inner_text()
    assert "Confidence" in result and "sunday" in result.lower()
    assert "<b>Welcome!</b>" in result  # the HTML is shown as text
    screenshot(page, "kb-entry-preview")

    page.click("button[data-action=review]")
    page.wait_for_selector("[data-testid=entry-status]:text('review')")
    assert reindexed == []
    page.click("button[data-action=published]")
    page.wait_for_selector("[data-testid=entry-status]:text('published')")
    assert page.locator("[data-testid=live-version]").inner_text() == "live: v3"
    assert reindexed == ["published sunday-hours v3 by edna"]
    live = store.published_kb().get("sunday-hours")
    assert live is not None and live.answers["en"].startswith("On Sundays the showroom is open 10:00-14:00.")
    screenshot(page, "kb-entry-published")

    # An edit is a draft: customers keep v3 until it is published; then rolling back to v3 makes it live again.
    page.fill("textarea[name=a_en]", "Closed on Sundays.")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=entry-status]:text('draft')")
    assert store.published_kb().get("sunday-hours").answers["en"] != "Closed on Sundays."  # type: ignore[union-attr]
    assert page.locator("[data-testid=live-version]").inner_text() == "live: v3"
    page.click("button[data-action=review]")
    page.wait_for_selector("[data-testid=entry-status]:text('review')")
    page.click("button[data-action=published]")
    page.wait_for_selector("[data-testid=live-version]:text('live: v6')")
    assert store.published_kb().get("sunday-hours").answers["en"] == "Closed on Sundays."  # type: ignore[union-attr]
    page.click("button[data-action=rollback-3]")
    page.wait_for_selector("[data-testid=live-version]:text('live: v7')")
    assert store.published_kb().get("sunday-hours").answers["en"].startswith("On Sundays")  # type: ignore[union-attr]
    assert reindexed[-1] == "rollback sunday-hours to v3 by edna" and len(reindexed) == 3
    screenshot(page, "kb-entry-rolled-back")

    page.goto(f"{live_server.url}/console/kb?q=sunday")
    assert page.locator("[data-entry=sunday-hours]").is_visible()
    screenshot(page, "kb-list")
    assert page.js_errors == []
    actions = [entry.action for entry in live_server.accounts.audit_entries(object_type="kb_entry")]
    assert sorted(actions) == sorted(
        ["kb.create", "kb.review", "kb.published", "kb.save", "kb.review", "kb.published", "kb.rollback"]
    )
