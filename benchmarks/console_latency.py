"""Agent console benchmarks on this machine: server time of the queue page (and the queue list and the JSON
list) with N open escalations, and the time from a webhook POST until the new escalation is visible through
the console's polling endpoint, with one Celery worker.

Usage: .venv/bin/python benchmarks/console_latency.py [--escalations 10000] [--requests 200] [--arrivals 20]

Escalations are seeded through the store (conversation, customer message, decision, escalation: what the
worker writes). Page times are measured in process through the WSGI app (Flask's test client), so they are
the server's time without the network. Uses Redis db 9 (flushed) and a SQLite file in a temporary folder
unless --database-url is given; --data-dir must hold a built index and trained models (`assistant train`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.domain.messages import Action, Decision, EscalationReason, Priority  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.store import Store  # noqa: E402
from assistant.store.db import migrate  # noqa: E402
from benchmarks.common import (  # noqa: E402
    WEBHOOK_HEADERS,
    TelegramDouble,
    latency_summary,
    start_worker,
    stop_worker,
    telegram_update,
    write_config,
)

PASSWORD = "benchmark-password-123"
REASONS = [EscalationReason.HUMAN_REQUESTED, EscalationReason.OUT_OF_SCOPE, EscalationReason.LOW_CONFIDENCE]
# The console's own settings on top of the common ones: a session key, and no auto-assignment to move escalations.
CONSOLE_TABLES = """[security]
secret_key = "console-benchmark-secret-key"
[console]
assignment = "manual"
"""


def seed(store: Store, count: int) -> float:
    """`count` open escalations in the support queue, with mixed priorities and due times; seconds taken."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    for n in range(count):
        conversation = store.conversation("telegram", f"seed-{n}", f"user-{n}", f"Customer {n}")
        at = now - timedelta(minutes=n % 600)
        message_id = store.record_inbound(
            conversation.id,
            "telegram",
            f"seed-evt-{n}",
            f"Question number {n} about my order",
            "en",
            False,
            at,
            reply_target={"chat_id": str(n)},
        )
        assert message_id is not None
        reason = REASONS[n % len(REASONS)]
        priority = Priority(1 + n % 4)
        store.record_decision(
            message_id,
            Decision(Action.ESCALATE, "en", queue="support", priority=priority, reason=reason, confidence=0.3),
        )
        store.open_escalation(
            conversation.id,
            message_id,
            "support",
            int(priority),
            reason.value,
            None,
            now + timedelta(minutes=(n * 37) % 2000 - 300),
        )
        if n and n % 1000 == 0:
            print(f"  seeded {n}/{count}", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    call()  # warm: template compilation, first connection
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {"n": float(repeat), **latency_summary(samples, (50, 99))}


def signed_in(app: Flask) -> FlaskClient:
    """A client signed in as the benchmark's agent through the login form, CSRF token and all (only GETs follow)."""
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None, "no csrf-token on the login page"
    form = {"username": "bench-agent", "password": PASSWORD, "csrf_token": found.group(1)}
    assert client.post("/console/login", data=form).status_code == 302
    return client


def page_times(app: Flask, requests: int) -> dict[str, dict[str, float]]:
    accounts = app.extensions["console.accounts"]()
    accounts.create_user("bench-agent", PASSWORD, "agent", queues=("support",))
    client = signed_in(app)
    token = client.get("/api/v1/changes").get_json()["token"]

    def get(url: str, status: int = 200) -> Callable[[], None]:
        def call() -> None:
            response = client.get(url)
            assert response.status_code == status, (url, response.status_code)
            response.get_data()

        return call

    return {
        "queue page (GET /console/queues/support, first 50)": timed(get("/console/queues/support"), requests),
        "queue page, page 100": timed(get("/console/queues/support?page=100"), requests),
        "queue list (GET /console/queues)": timed(get("/console/queues"), requests),
        "JSON list (GET /api/v1/queues/support/escalations)": timed(
            get("/api/v1/queues/support/escalations"), requests
        ),
        "poll, nothing changed (204)": timed(get(f"/console/queues/support/poll?token={token}", 204), requests),
    }


def arrival_times(app: Any, config: Path, arrivals: int, log: Path) -> dict[str, float]:
    """Webhook POST → the queue list's poll answer shows one more open escalation, polled every 50 ms (the queue
    page itself lists the most urgent first, so a normal-priority newcomer need not be on its first page)."""
    client = signed_in(app)
    worker = start_worker(config, log)
    ids = itertools.count(int(time.time()) * 1000)
    samples = []
    try:
        for index in range(arrivals + 1):  # the first one loads the model in the worker: not counted
            n = next(ids)
            token = client.get("/api/v1/changes").get_json()["token"]
            before = open_count(client.get("/console/queues").get_data(as_text=True))
            update = telegram_update(n, f"I want to talk to a human, ticket {n}")
            started = time.perf_counter()
            assert client.post("/webhooks/telegram", data=update, headers=WEBHOOK_HEADERS).status_code == 200
            deadline = started + 60
            while True:
                poll = client.get(f"/console/queues/poll?token={token}")
                if poll.status_code == 200 and open_count(poll.get_data(as_text=True)) == before + 1:
                    break
                if time.perf_counter() > deadline:
                    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                    raise RuntimeError(f"escalation {n} not visible after 60 s; worker log:\n{tail}")
                time.sleep(0.05)
            if index:
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        stop_worker(worker)
    return {"n": float(len(samples)), **latency_summary(samples, (50, 99))}


def open_count(html: str) -> int:
    found = re.search(r'data-queue="support".*?data-count="open">(\d+)<', html, re.S)
    if found is None:
        raise RuntimeError("no support queue card on the page")
    return int(found.group(1))


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.node()} · {platform.platform()} · {os.cpu_count()} CPUs · "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--escalations", type=int, default=10_000, help="open escalations to seed")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--arrivals", type=int, default=20, help="webhook → visible measurements (0: skip)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data", help="index and models for the worker")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="flushed before and after")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "console_latency.json")
    args = parser.parse_args()

    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    with tempfile.TemporaryDirectory() as folder, TelegramDouble() as api:
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'console-bench.db'}"
        config = write_config(
            Path(folder) / "console-bench.toml",
            data_dir=args.data_dir,
            redis_url=args.redis_url,
            database_url=database_url,
            api_url=api.url,
            extra=CONSOLE_TABLES,
        )
        os.environ["CA_CONFIG"] = str(config)
        settings = load_settings()
        migrate(settings.service.database_url)
        store = Store.from_url(settings.service.database_url)
        print(f"seeding {args.escalations} open escalations…", file=sys.stderr, flush=True)
        seed_seconds = seed(store, args.escalations)
        from webhooks.app import create_app

        app = create_app(settings)
        pages = page_times(app, args.requests)
        arrival = arrival_times(app, config, args.arrivals, Path(folder) / "worker.log") if args.arrivals else None
        store.close()
    redis.flushdb()

    command = " ".join(
        shlex.quote(part) for part in [".venv/bin/python", "benchmarks/console_latency.py", *sys.argv[1:]]
    )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Command: `{command}`  ",
        f"Machine: {machine()}  ",
        f"Date: {when}; {args.escalations} open escalations in one queue (seeded in {seed_seconds:.1f} s), "
        f"database {database_url.split(':')[0]}",
        "",
        "| measurement | n | p50 (ms) | p99 (ms) | max (ms) | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, stats in pages.items():
        target = "≤ 200 ms" if name.startswith("queue page (") else ""
        lines.append(
            f"| {name} | {int(stats['n'])} | {stats['p50_ms']:.1f} | {stats['p99_ms']:.1f} | {stats['max_ms']:.1f} "
            f"| {target} |"
        )
    if arrival is not None:
        lines.append(
            f"| webhook POST → visible through the queue poll (one worker) | {int(arrival['n'])} | "
            f"{arrival['p50_ms']:.0f} | {arrival['p99_ms']:.0f} | {arrival['max_ms']:.0f} | ≤ 2000 ms |"
        )
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": command,
                "machine": machine(),
                "date": when,
                "escalations": args.escalations,
                "pages": pages,
                "arrival": arrival,
                "report": report,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
