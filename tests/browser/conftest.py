"""Browser tests: the real app served by werkzeug in a thread (real Redis db 12, a SQLite file, a local
platform double; a real Celery worker for tests marked `live_worker`), driven by Debian's Chromium through
Playwright. Screenshots go to tests/artifacts/ (gitignored)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from werkzeug.serving import BaseWSGIServer, make_server

from assistant.domain.channels import InboundEvent
from assistant.settings import Settings
from assistant.store import AccountStore, Store
from tests.adapters.platform_double import PlatformDouble
from tests.conftest import REDIS_SERVER, ROOT
from tests.console.support import PASSWORD, TEST_SECRET_KEY, MakeUser, user_maker
from tests.live_service import configured_service
from tests.workers import WorkerWaits, start_worker, stop_worker

BROWSER_REDIS_URL = f"{REDIS_SERVER}/12"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]
ARTIFACTS = ROOT / "tests" / "artifacts"
TELEGRAM_SECRET = "tg-browser-secret-token"
TELEGRAM_BOT_TOKEN = "123456:BROWSER-TEST-TOKEN"
SLACK_BOT_TOKEN = "xoxb-browser-test-token"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live_worker: the live_server also runs a real Celery worker")


class _Dispatch:
    """The WSGI callable the server starts with; the app is set once the port (and so the config) is known."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass
class LiveServer(WorkerWaits):
    url: str
    app: Flask
    settings: Settings
    config_path: Path
    accounts: AccountStore
    store: Store
    api: PlatformDouble
    redis: Redis
    worker_log: Path
    enqueued: list[InboundEvent] = field(default_factory=list)
    worker: Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.make_user: MakeUser = user_maker(self.accounts)

    def enqueue(self, event: InboundEvent) -> None:
        """With a worker: onto the Celery queue it consumes; without: recorded in `enqueued`."""
        if self.worker is None:
            self.enqueued.append(event)
            return
        # The app's own Celery app: its broker is this test's Redis, where the worker listens.
        celery_app = self.app.extensions["celery"]
        celery_app.send_task("ca.process_event", args=[event.to_dict()], queue="community-assistant")

    def start_worker(self) -> None:
        self.worker = start_worker(self.config_path, self.worker_log)


@pytest.fixture()
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    wants_worker = request.node.get_closest_marker("live_worker") is not None
    data_dir = request.getfixturevalue("trained_data_dir") if wants_worker else tmp_path / "data"
    dispatch = _Dispatch()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, dispatch, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    config = tmp_path / "live.toml"
    with configured_service(
        config,
        data_dir,
        BROWSER_REDIS_URL,
        f"sqlite:///{tmp_path / 'live.db'}",
        telegram=(TELEGRAM_SECRET, TELEGRAM_BOT_TOKEN),
        slack_bot_token=SLACK_BOT_TOKEN,
        service={"public_base_url": url, "send_timeout_seconds": 1.5, "send_max_retries": 3},
        security={"secret_key": TEST_SECRET_KEY},
    ) as configured:
        settings, api, redis = configured.settings, configured.api, configured.redis
        from webhooks.app import create_app

        holder: list[LiveServer] = []
        app = create_app(settings, enqueue=lambda event: holder[0].enqueue(event))
        dispatch.app = app
        accounts: AccountStore = app.extensions["console.accounts"]()
        store = Store.from_url(settings.service.database_url)
        live = LiveServer(url, app, settings, config, accounts, store, api, redis, tmp_path / "worker.log")
        holder.append(live)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            if wants_worker:
                live.start_worker()
            yield live
        finally:
            stop_worker(live.worker)
            server.shutdown()
            thread.join(timeout=10)
            store.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright's sync API (no `playwright install`: nothing downloads)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: run scripts/bootstrap.sh (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def _open_page(browser: Any, **context_options: Any) -> Iterator[Any]:
    """A fresh page in a context of its own (own cookies), 15 s for each step; the context closes after the test."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture()
def browser_page(browser: Any) -> Iterator[Any]:
    """A page in a laptop-sized window, its JavaScript errors in `page.js_errors`; `browser.new_context(viewport=...)`
    for others."""
    with _open_page(browser, viewport={"width": 1280, "height": 800}, locale="en-GB") as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        yield page


@pytest.fixture()
def phone_page(browser: Any) -> Iterator[Any]:
    """A page 375 px wide, touch and all, for the phone layout."""
    phone = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    with _open_page(browser, **phone) as page:
        yield page


@pytest.fixture()
def screenshot() -> Callable[[Any, str], Path]:
    """screenshot(page, name): a full-page PNG in tests/artifacts/NAME.png; the path is printed."""

    def take(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


def sign_in(page: Any, live: LiveServer, username: str, password: str = PASSWORD) -> None:
    """Fill in the login form like a person would."""
    page.goto(f"{live.url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
