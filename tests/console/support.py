"""Helpers shared by the console and browser tests: a test client that sends the CSRF token the way the
console's htmx does, and the token scraped from a page's meta tag."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from assistant.store import AccountStore, UserRecord

PASSWORD = "correct-horse-battery-staple"
TEST_SECRET_KEY = "console-tests-secret-key-not-for-production"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


MakeUser = Callable[..., UserRecord]


def user_maker(accounts: AccountStore) -> MakeUser:
    """make(role="agent", queues=(), username=None, password=PASSWORD, capacity=5, display_name=None): an account
    made through the real AccountStore, named role + a number unless a username is given."""
    counter = itertools.count(1)

    def make(
        role: str = "agent",
        queues: Iterable[str] = (),
        username: str | None = None,
        password: str = PASSWORD,
        capacity: int = 5,
        display_name: str | None = None,
    ) -> UserRecord:
        name = username or f"{role}{next(counter)}"
        return accounts.create_user(
            name, password, role, display_name=display_name, queues=tuple(queues), capacity=capacity
        )

    return make


def extract_csrf(html: str) -> str:
    found = _CSRF_META.search(html)
    if found is None:
        raise AssertionError("no csrf-token meta tag on the page")
    return found.group(1)


class ConsoleClient(FlaskClient):
    """A Flask test client; once `csrf_token` is set it sends it as X-CSRFToken on unsafe methods (as htmx
    does in the console), unless the call passes its own header or `auto_csrf` is off."""

    csrf_token: str = ""
    auto_csrf: bool = True

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        method = str(kwargs.get("method", "GET")).upper()
        if self.auto_csrf and self.csrf_token and method not in SAFE_METHODS:
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("X-CSRFToken", self.csrf_token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> TestResponse:
        """Sign in through the real login form (CSRF token included), then keep the session's token."""
        page = self.get("/console/login")
        response = self.post(
            "/console/login",
            data={"username": username, "password": password, "csrf_token": extract_csrf(page.get_data(as_text=True))},
            headers={"X-CSRFToken": ""},
        )
        if response.status_code == 302:
            self.refresh_csrf()
        return response

    def refresh_csrf(self) -> str:
        self.csrf_token = extract_csrf(self.get("/console/account").get_data(as_text=True))
        return self.csrf_token


# What the console handed to delivery, in the tests that run no worker: (outbound id, reply target, text).
Sent = list[tuple[int, dict[str, str], str]]
