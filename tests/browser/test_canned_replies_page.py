"""Canned replies and resolving in real headless Chromium (no worker: replies are checked where they are
reserved for delivery). An editor manages canned replies on their page (an unknown placeholder is refused with
the text kept); an agent completes a shortcode prefix with Tab and sends a reply whose {first_name} arrives
filled; resolving an escalation nobody answered asks first (the server's confirm step); reply and resolve is one
click. Screenshots in tests/artifacts/."""

from __future__ import annotations

from typing import Any

from assistant.store import ConsoleStore
from tests.browser.conftest import LiveServer, sign_in
from tests.console.seeding import seed_escalation


def test_an_editor_manages_canned_replies_on_their_page(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("editor", username="edda", display_name="Edda Editor")
    console = ConsoleStore(live_server.store.engine)
    page = browser_page
    sign_in(page, live_server, "edda")
    page.locator("nav.queue-nav").get_by_role("link", name="Canned replies").click()
    page.wait_for_url("**/console/canned-replies")

    page.fill("[data-testid=canned-form] input[name=shortcode]", "sorry-delay")
    page.select_option("[data-testid=canned-form] select[name=queue]", "support")
    page.fill("[data-testid=canned-form] textarea[name=text]", "Hi {frist_name}, sorry for the delay.")
    page.click("[data-testid=canned-save]")
    error = page.locator("[data-testid=canned-error]")
    error.wait_for()
    assert "unknown placeholder(s) {frist_name}" in error.inner_text()
    assert page.locator("[data-testid=canned-form] textarea[name=text]").input_value() == (
        "Hi {frist_name}, sorry for the delay."
    )
    screenshot(page, "canned-replies-refused")
    assert console.canned_replies() == []

    page.fill("[data-testid=canned-form] textarea[name=text]", "Hi {first_name}, sorry for the delay.")
    page.click("[data-testid=canned-save]")
    row = page.locator("[data-testid=canned-row][data-shortcode=sorry-delay]")
    row.wait_for()
    assert "support" in row.inner_text() and "Hi {first_name}, sorry for the delay." in row.inner_text()
    page.fill("[data-testid=canned-form] input[name=shortcode]", "thanks")
    page.fill("[data-testid=canned-form] textarea[name=text]", "Thanks for waiting, {first_name}!")
    page.click("[data-testid=canned-save]")
    page.locator("[data-testid=canned-row][data-shortcode=thanks]").wait_for()

    row.locator("[data-testid=canned-edit]").click()
    page.wait_for_url("**/console/canned-replies/*")
    page.fill("[data-testid=canned-form] textarea[name=text]", "Hi {first_name}, sorry it is taking so long.")
    page.click("[data-testid=canned-save]")
    page.wait_for_url("**/console/canned-replies")
    assert "sorry it is taking so long" in row.inner_text()
    screenshot(page, "canned-replies-page")

    page.locator("[data-testid=canned-row][data-shortcode=thanks] [data-testid=canned-delete]").click()
    page.wait_for_selector("[data-testid=canned-row][data-shortcode=thanks]", state="detached")
    assert [(r.shortcode, r.queue) for r in console.canned_replies()] == [("sorry-delay", "support")]
    assert page.js_errors == []

    # At 390 px the page does not stick out sideways (the table scrolls in its own box).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    screenshot(page, "canned-replies-phone")


def test_an_agent_completes_a_shortcode_prefix_and_the_name_arrives_filled(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("agent", queues=("support",), username="gale", display_name="Gale Agent")
    console = ConsoleStore(live_server.store.engine)
    console.save_canned_reply("sorry-delay", "en", "Hi {first_name}, sorry for the delay.")
    console.save_canned_reply("sorry-refund", "en", "Hi {first_name}, your refund is on its way.")
    console.save_canned_reply("shipping", "en", "Orders ship within 2 days.")
    seeded = seed_escalation(live_server.store, sender_name="Anna Smith")
    page = browser_page
    sign_in(page, live_server, "gale")
    page.wait_for_selector("[data-testid=queue-cards]")
    page.goto(f"{live_server.url}/console/escalations/{seeded.escalation_id}")
    box = page.locator("[data-testid=reply-text]")
    box.click()

    page.keyboard.type("/shi")
    page.keyboard.press("Tab")  # one shortcode starts so: it becomes the reply
    assert box.input_value() == "Orders ship within 2 days."
    assert page.evaluate("document.activeElement.id") == "reply-text"  # Tab stayed in the box

    box.fill("")
    page.keyboard.type("/sor")
    page.keyboard.press("Tab")  # two start so: completed as far as they agree, both listed
    assert box.input_value() == "/sorry-"
    hints = page.locator("[data-canned-hints] [data-canned-code]")
    assert sorted(hints.evaluate_all("els => els.map(e => e.dataset.cannedCode)")) == ["sorry-delay", "sorry-refund"]
    screenshot(page, "canned-prefix-matches")
    page.keyboard.type("d")
    page.keyboard.press("Tab")
    assert box.input_value() == "Hi {first_name}, sorry for the delay."
    preview = page.locator("[data-canned-preview=sorry-delay]")
    assert preview.text_content() == "Hi Anna, sorry for the delay."  # the list shows it as Anna will read it

    page.click("[data-testid=send-reply]")
    pending = page.locator("[data-testid=pending-reply]")
    pending.wait_for()
    assert "Hi Anna, sorry for the delay." in pending.inner_text()
    (reserved,) = console.detail(seeded.escalation_id).undelivered
    assert reserved.text == "Hi Anna, sorry for the delay."
    screenshot(page, "canned-reply-filled")
    assert page.js_errors == []


def test_resolving_what_nobody_answered_asks_first_and_reply_and_resolve_is_one_click(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("agent", queues=("support",), username="rhea", display_name="Rhea Agent")
    console = ConsoleStore(live_server.store.engine)
    silent = seed_escalation(live_server.store, sender_name="Anna")
    page = browser_page
    sign_in(page, live_server, "rhea")
    page.wait_for_selector("[data-testid=queue-cards]")
    page.goto(f"{live_server.url}/console/escalations/{silent.escalation_id}")
    page.wait_for_selector("[data-testid=thread]")
    page.keyboard.press("x")  # the resolve shortcut: the server asks first
    confirm = page.locator("[data-testid=resolve-confirm]")
    confirm.wait_for()
    assert "Nobody has replied to Anna yet." in confirm.inner_text()
    assert live_server.store.escalation(silent.escalation_id).status == "open"
    screenshot(page, "resolve-warning")
    page.click("[data-testid=resolve-confirmed]")
    page.wait_for_url("**/console/queues")
    assert live_server.store.escalation(silent.escalation_id).status == "resolved"

    answered = seed_escalation(live_server.store, sender_name="Ben")
    page.goto(f"{live_server.url}/console/escalations/{answered.escalation_id}")
    page.fill("[data-testid=reply-text]", "Hi {first_name}, it is sorted: the parcel left today.")
    page.click("[data-testid=reply-resolve]")
    page.wait_for_url("**/console/queues")
    assert live_server.store.escalation(answered.escalation_id).status == "resolved"
    (reserved,) = console.detail(answered.escalation_id).undelivered
    assert reserved.text == "Hi Ben, it is sorted: the parcel left today."
    assert page.js_errors == []
