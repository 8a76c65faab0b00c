"""Signing in and out of the console in real headless Chromium: the shell after login, an error for a wrong
password, the phone layout, and screenshots of both pages."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, sign_in
from tests.console.support import PASSWORD


def test_agent_signs_in_sees_the_shell_and_signs_out(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("agent", queues=("support", "complaints"), username="dana", display_name="Dana Agent")
    page = browser_page
    page.goto(f"{live_server.url}/console/account")
    # Anonymous: sent to the login page, which remembers where the person wanted to go.
    assert "/console/login?next=/console/account" in page.url
    screenshot(page, "login")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")
    assert page.url == f"{live_server.url}/console/account"
    nav = page.locator("nav.queue-nav")
    assert nav.get_by_role("link", name="Support").is_visible()
    assert nav.get_by_role("link", name="Complaints").is_visible()
    assert page.locator(".user-name").inner_text() == "Dana Agent"
    screenshot(page, "console-shell")

    # Signing in made dana online (issue 13); the toggle is an htmx POST with the CSRF header, recorded by the server.
    assert page.locator(".presence-toggle.online").is_visible()
    page.click("[data-testid=presence] button")
    page.wait_for_selector(".presence-toggle.offline")
    assert not live_server.accounts.user_by_username("dana").is_online  # type: ignore[union-attr]
    page.click("[data-testid=presence] button")
    page.wait_for_selector(".presence-toggle.online")
    assert live_server.accounts.user_by_username("dana").is_online  # type: ignore[union-attr]

    # "?" lists the keyboard shortcuts; Escape closes the list.
    page.keyboard.press("?")
    page.wait_for_selector("dialog.shortcut-help")
    assert "Go online / offline" in page.locator("dialog.shortcut-help").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog.shortcut-help", state="detached")

    page.click("details.user-menu summary")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/console/login")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto(f"{live_server.url}/console/account")
    assert "/console/login" in page.url
    assert page.js_errors == []
    actions = [entry.action for entry in live_server.accounts.audit_entries()]
    # Newest first: offline at sign-out, the sign-out, the two toggles, online at sign-in, the sign-in.
    assert actions[:6] == ["presence", "logout", "presence", "presence", "presence", "login"]


def test_wrong_password_shows_an_error_and_no_session(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("agent", username="erin")
    page = browser_page
    sign_in(page, live_server, "erin", "not-the-password")
    error = page.locator("[data-testid=login-error]")
    assert error.inner_text() == "Wrong username or password."
    assert page.locator("input[name=username]").input_value() == "erin"
    screenshot(page, "login-error")
    page.goto(f"{live_server.url}/console/account")
    assert "/console/login" in page.url
    assert [entry.action for entry in live_server.accounts.audit_entries()] == ["login_failed"]


def test_the_shell_fits_a_phone(live_server: LiveServer, phone_page: Any, screenshot: Any) -> None:
    live_server.make_user("agent", queues=("support", "complaints", "urgent", "moderation"), username="fay")
    page = phone_page
    sign_in(page, live_server, "fay")
    page.wait_for_selector("header.topbar")
    # Nothing sticks out sideways at 375 px: the queue links wrap onto rows of their own under the brand.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.locator("nav.queue-nav").get_by_role("link", name="Support").is_visible()
    screenshot(page, "console-shell-phone")
