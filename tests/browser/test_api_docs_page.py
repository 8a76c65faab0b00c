"""/api/docs in real Chromium: Swagger UI from the packaged copy (nothing fetched from another origin), behind the
sign-in, and a call tried from the page runs as the signed-in person, with the CSRF token a change needs."""

from __future__ import annotations

import json
from typing import Any

from tests.browser.conftest import LiveServer, sign_in


def test_a_signed_in_person_tries_a_call_from_the_api_docs(
    live_server: LiveServer, browser_page: Any, screenshot: Any
) -> None:
    live_server.make_user("agent", queues=("support",), username="dana", display_name="Dana Agent")
    page = browser_page
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url))
    page.goto(f"{live_server.url}/api/docs")
    assert "/console/login" in page.url  # anonymous: sent to sign in first
    sign_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector("#swagger-ui .opblock")
    assert page.locator("#swagger-ui .opblock-summary-path", has_text="/api/v1/me/presence").count() == 1
    screenshot(page, "api-docs")

    # Try PUT /api/v1/me/presence with the example body Swagger UI fills in ({"online": true}).
    presence = page.locator("#operations-accounts-put_api_v1_me_presence")
    presence.locator(".opblock-summary").click()
    presence.locator("button.try-out__btn").click()
    body = presence.locator("textarea.body-param__text")
    assert json.loads(body.input_value()) == {"online": True}
    presence.locator("button.execute").click()
    status = presence.locator(".live-responses-table tr.response td.response-col_status").first
    status.wait_for()
    answer = status.inner_text()
    assert answer.strip().startswith("200"), answer
    assert live_server.accounts.user_by_username("dana").is_online  # type: ignore[union-attr]
    screenshot(page, "api-docs-tried")
    assert outside == []
