"""A stand-in for a platform's HTTP API in tests: a local server in a thread that records every request and
answers with scripted responses (status, headers, body, optional delay); plus a builder for inbound WebhookRequests."""

# Usage, from any test module (the fixture is named `api`)::
#
#     from tests.adapters.platform_double import PlatformDouble, api_fixture  # (noqa F401)
#
#     def test_send(api: PlatformDouble) -> None:
#         api.reply(429, json={"retry_after": 1.5}, headers={"Retry-After": "2"})
#         ...  # point the code under test at api.url
#         assert api.last.method == "POST" and api.last.json() == {...}
#
# Scripted answers are consumed in order; `method` / `path` restrict which request an answer is for, `times` repeats it,
# and a request with no scripted answer gets `default` (200, `{}`). `delay` holds the answer back, to test timeouts.

from __future__ import annotations

import json as jsonlib
import socket
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from assistant.domain.channels import InboundEvent
from assistant.settings import PlatformConfig
from webhooks.adapters.base import PayloadError, PlatformAdapter, WebhookRequest

# The budget of every adapter's "any signed body" property test: parsers are slow to reach deep into.
FUZZ_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the platform would have seen it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class ScriptedResponse:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or self.path == path)


DEFAULT = ScriptedResponse(200, {"Content-Type": "application/json"}, b"{}")


class PlatformDouble:
    """The fake API server; use as a context manager (or the `api` fixture)."""

    def __init__(self, default: ScriptedResponse = DEFAULT) -> None:
        self.default = default
        self.requests: list[RecordedRequest] = []
        self._script: list[ScriptedResponse] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="platform-double", daemon=True
        )

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> PlatformDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> PlatformDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- scripting and inspection -------------------------------------------------------------------------------

    def reply(
        self,
        status: int = 200,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue an answer: `json` (serialised, JSON content type) or raw `body`."""
        merged = dict(headers or {})
        if json is not None:
            payload = jsonlib.dumps(json).encode()
            merged.setdefault("Content-Type", "application/json")
        else:
            payload = body.encode() if isinstance(body, str) else (body or b"")
        scripted = ScriptedResponse(status, merged, payload, delay, method, path)
        with self._lock:
            self._script.extend([scripted] * times)

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            if not self.requests:
                raise AssertionError("the platform double received no request")
            return self.requests[-1]

    def _record_and_pick(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            self.requests.append(request)
            for index, scripted in enumerate(self._script):
                if scripted.matches(request.method, request.path):
                    return self._script.pop(index)
            return self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                )
                scripted = double._record_and_pick(recorded)
                if scripted.delay:
                    time.sleep(scripted.delay)
                try:
                    self.send_response(scripted.status)
                    for name, value in scripted.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(scripted.body)))
                    self.end_headers()
                    self.wfile.write(scripted.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests): nothing to answer

            # http.server dispatches on these names.
            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return None  # keep test output quiet

        return Handler


@pytest.fixture(name="api")
def api_fixture() -> Iterator[PlatformDouble]:
    """A running PlatformDouble, stopped after the test."""
    with PlatformDouble() as double:
        yield double


def enabled_config(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> PlatformConfig:
    """An enabled platform's settings: a test module's defaults, with one test's overrides on top."""
    return PlatformConfig(**{"enabled": True, **defaults, **overrides})


def closed_url() -> str:
    """An http URL where nothing listens (connection refused: the request never left)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def webhook_request(
    body: bytes | str = b"",
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "POST",
    query: Mapping[str, str] | None = None,
    received_at: datetime | None = None,
) -> WebhookRequest:
    """An inbound request as the Flask view would build it (header names lower-cased, raw body bytes)."""
    return WebhookRequest(
        method=method,
        headers={name.lower(): value for name, value in (headers or {}).items()},
        query=dict(query or {}),
        body=body.encode() if isinstance(body, str) else body,
        received_at=received_at or datetime.now(UTC),
    )


def json_values(keys: Collection[str] = ()) -> st.SearchStrategy[Any]:
    """Arbitrary JSON whose object keys are mostly the given field names, so property tests reach deep into parsers."""
    key = st.sampled_from(sorted(keys)) | st.text(max_size=6) if keys else st.text(max_size=6)
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=False)
        | st.text(max_size=12)
        | st.sampled_from(["", "0", "1", "message", "1355517523.000005", "-100987"])
    )
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=6), max_leaves=30
    )


def loose(*plausible: Any) -> st.SearchStrategy[Any]:
    """Half the time one of the plausible values, half the time any JSON: valid shapes with junk in every field."""
    return st.sampled_from(plausible) | json_values()


def assert_well_formed(events: list[InboundEvent], platform: str) -> None:
    """What every adapter promises about parsed events, including that they survive the trip through the queue."""
    for event in events:
        assert event.platform == platform and event.event_id and isinstance(event.conversation_key, str)
        assert event.kind in ("message", "comment", "echo", "delivery", "read", "reaction", "other")
        assert all(isinstance(key, str) and isinstance(value, str) for key, value in event.reply_target.items())
        if event.message is not None:
            assert isinstance(event.message.text, str) and isinstance(event.message.sender_id, str)
            assert event.message.is_echo == (event.kind == "echo")
        assert InboundEvent.from_dict(event.to_dict()) == event


def assert_parses_or_refuses(adapter: PlatformAdapter, request: WebhookRequest) -> list[InboundEvent] | None:
    """A signed request passes `verify`; its body is then a PayloadError (None) or well-formed events the adapter
    can acknowledge (returned, for checks of the platform's own)."""
    adapter.verify(request)
    try:
        events = adapter.parse(request)
    except PayloadError:
        return None
    assert_well_formed(events, adapter.name)
    adapter.acknowledge(request, events)
    return events
