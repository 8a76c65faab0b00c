"""How long the webhook takes to acknowledge a large Meta delivery (Messenger batches many events in one POST):
5,000 messages in one signed body, posted to the real Flask app with its real Redis broker and a SQLite database,
timed from the request to the answer; then how many events were stored and how the queueing was done.

Usage: .venv/bin/python benchmarks/large_delivery.py [--events 5000] [--runs 3] [--redis redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.settings import load_settings  # noqa: E402
from webhooks.app import create_app  # noqa: E402
from webhooks.runtime import RUNTIME_EXTENSION  # noqa: E402

APP_SECRET = "bench-meta-secret"


def messenger_delivery(events: int, run: int) -> bytes:
    now = int(time.time() * 1000)
    messaging = [
        {
            "sender": {"id": f"psid-{run}-{n}"},
            "recipient": {"id": "page-1"},
            "timestamp": now,
            "message": {"mid": f"m.{run}.{n}", "text": "How long does delivery take?"},
        }
        for n in range(events)
    ]
    return json.dumps({"object": "page", "entry": [{"id": "page-1", "time": now, "messaging": messaging}]}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    Redis.from_url(args.redis).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp),
            service={"redis_url": args.redis, "database_url": f"sqlite:///{Path(tmp) / 'bench.db'}"},
            platforms={"messenger": {"enabled": True, "app_secret": APP_SECRET, "access_token": "t"}},
        )
        app = create_app(settings)
        client = app.test_client()
        store = app.extensions[RUNTIME_EXTENSION].store
        seconds: list[float] = []
        for run in range(args.runs):
            body = messenger_delivery(args.events, run)
            signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            response = client.post(
                "/webhooks/messenger",
                data=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            )
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_data(as_text=True)
        stored = sum(store.inbox_counts().values())
        queued = Redis.from_url(args.redis).llen("community-assistant")
        Redis.from_url(args.redis).flushdb()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "events_per_delivery": args.events,
        "body_bytes": len(body),
        "ack_seconds": [round(s, 3) for s in seconds],
        "ack_median_seconds": round(statistics.median(seconds), 3),
        "stored": stored,
        "tasks_queued_by_the_webhook": queued,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
