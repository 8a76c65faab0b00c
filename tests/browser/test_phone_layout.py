"""Every console page at 390 px wide (a common phone): nothing sticks out sideways and every link of the header's
queue strip is on the screen (it used to scroll out of sight). Screenshots of each page go to tests/artifacts/."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, sign_in
from tests.console.seeding import seed_escalation

PHONE_WIDTH = 390
QUEUES = ("support", "complaints", "urgent", "moderation", "billing", "partnerships")
# The fixed width of Swagger UI's own layout is its affair; the console page around it must still fit.
OVERFLOW_FREE = ".swagger-ui"


def offenders(page: Any) -> list[str]:
    """Elements wider than the screen (outside Swagger UI's own widgets), and queue links outside it."""
    return page.evaluate(
        """([width, skip]) => {
          const bad = [];
          if (document.documentElement.scrollWidth > document.documentElement.clientWidth) {
            for (const el of document.body.querySelectorAll("*")) {
              const box = el.getBoundingClientRect();
              if (box.right > width + 1 && !el.closest(skip) && getComputedStyle(el).position !== "fixed") {
                bad.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}`);
              }
            }
          }
          for (const link of document.querySelectorAll("nav.queue-nav a")) {
            const box = link.getBoundingClientRect();
            if (box.left < 0 || box.right > width + 1) bad.push(`queue link ${link.textContent.trim()} off screen`);
          }
          return bad.slice(0, 10);
        }""",
        [PHONE_WIDTH, OVERFLOW_FREE],
    )


def test_every_console_page_fits_a_phone(live_server: LiveServer, browser: Any, screenshot: Any) -> None:
    live_server.make_user("admin", queues=QUEUES, username="phil", display_name="Phil Admin")
    seeded = seed_escalation(live_server.store, text="My order never arrived and nobody answers " * 3)
    context = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        sign_in(page, live_server, "phil")
        page.wait_for_selector("header.topbar")
        pages = {
            "queues": "/console/",
            "queue": "/console/queues/support",
            "conversation": f"/console/escalations/{seeded.escalation_id}",
            "inbox": "/console/inbox",
            "kb": "/console/kb",
            "kb-new": "/console/kb/new",
            "kb-gaps": "/console/kb/gaps",
            "canned-replies": "/console/canned-replies",
            "account": "/console/account",
            "api-docs": "/api/docs",
        }
        found: dict[str, list[str]] = {}
        for name, path in pages.items():
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (path, response and response.status)
            page.wait_for_selector("header.topbar")
            links = page.locator("nav.queue-nav a")
            assert links.count() >= 3, path  # the configured queues and the KB
            if problems := offenders(page):
                found[path] = problems
            screenshot(page, f"phone-{name}")
        assert found == {}
    finally:
        context.close()
