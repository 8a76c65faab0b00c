"""Inbox and search benchmark: server time of the agents' inbox (API and page) and of a full-text search, with N
conversations in the store.

Usage: .venv/bin/python benchmarks/inbox_search.py [--conversations 100000] [--requests 30]
       [--database-url postgresql+psycopg://…]   (default: a SQLite file in a temporary folder)

Seeding is a bulk insert (executemany through SQLAlchemy Core, not the service's write path): per conversation a
customer message, the bot's holding reply and, for every third, an agent's reply, from a fixed vocabulary; an
escalation each (30 % open, 20 % claimed, 50 % resolved) in four queues. The search index is then filled the way
migration 0008 backfills it. Requests go in process through the WSGI app (Flask's test client), so the times are
the server's, without the network; the caller is one of 20 agents, a member of two of the four queues. On
PostgreSQL the tables go into a schema of their own, dropped afterwards. Redis (for sign-in) is the given db,
flushed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.settings import load_settings  # noqa: E402
from assistant.store import AccountStore, make_engine, migrate  # noqa: E402
from assistant.store.tables import Conversation, Escalation, Message  # noqa: E402
from benchmarks.common import latency_summary  # noqa: E402

PASSWORD = "benchmark-password-123"
QUEUES = ["support"] * 10 + ["complaints"] * 5 + ["urgent"] * 3 + ["moderation"] * 2
PLATFORMS = ["telegram", "slack", "messenger", "whatsapp"]
LANGUAGES = ["en", "en", "en", "de", "fr", "ru"]
VOCABULARY = (
    "order parcel delivery refund invoice payment card jacket tent stove zipper size exchange return account "
    "password login address courier tracking warehouse discount voucher coupon price shipping customs broken "
    "missing late wrong damaged colour boots sleeping bag backpack lamp battery charger warranty repair store "
    "opening hours weekend manager complaint help please thanks hello when where why how can could would my "
    "the a an is it was not never still already yesterday today week month again"
)
WORDS = VOCABULARY.split()
BATCH = 5000
AGENTS = 20  # who hold the claimed escalations; the first is the one who reads the inbox


def conversation_rows(n: int, now: datetime, rng: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    at = now - timedelta(minutes=n % 20_000)
    platform_name = PLATFORMS[n % len(PLATFORMS)]
    conversation = {
        "id": n + 1,
        "platform": platform_name,
        "conversation_key": f"c{n}",
        "sender_id": f"u{n % 70_000}",  # some customers write more than once
        "sender_name": f"Customer {n}",
        "language": LANGUAGES[n % len(LANGUAGES)],
        "handoff": "human",
        "rephrase_asked": False,
        "holding_reply_sent": True,
        "last_inbound_at": at,
        "created_at": at,
        "updated_at": at,
    }
    question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))) + f" order {100000 + n}"
    messages = [
        {"author": "customer", "direction": "in", "text": question, "created_at": at, "platform_event_id": f"e{n}"},
        {"author": "bot", "direction": "out", "text": "A colleague will get back to you.", "created_at": at},
    ]
    if n % 3 == 0:
        reply = "Hello, " + " ".join(rng.choice(WORDS) for _ in range(12))
        messages.append({"author": "agent", "direction": "out", "text": reply, "created_at": at + timedelta(minutes=3)})
    for message in messages:
        message.update(
            conversation_id=n + 1, platform=platform_name, language=conversation["language"], is_public=False
        )
        message.setdefault("platform_event_id", None)
    return conversation, messages


def seed(engine: Any, count: int) -> float:
    """`count` conversations with their messages and one escalation each, in batches; seconds taken."""
    started = time.perf_counter()
    rng = random.Random(13)
    now = datetime.now(UTC)
    message_id = 0
    for first in range(0, count, BATCH):
        conversations, messages, escalations = [], [], []
        for n in range(first, min(count, first + BATCH)):
            conversation, rows = conversation_rows(n, now, rng)
            conversations.append(conversation)
            for row in rows:
                message_id += 1
                row["id"] = message_id
            messages.extend(rows)
            share = rng.randrange(10)
            status = "open" if share < 3 else "claimed" if share < 5 else "resolved"
            escalations.append(
                {
                    "conversation_id": n + 1,
                    "message_id": rows[0]["id"],
                    "queue": rng.choice(QUEUES),
                    "priority": 1 + n % 4,
                    "reason": "human_requested",
                    "status": status,
                    "sla_due_at": conversation["created_at"] + timedelta(hours=4),
                    "created_at": conversation["created_at"],
                    "resolved_at": conversation["created_at"] + timedelta(hours=1) if status == "resolved" else None,
                    "assigned_agent_id": 1 + n % AGENTS if status == "claimed" else None,
                    "claimed_at": conversation["created_at"] if status == "claimed" else None,
                    "updated_at": conversation["created_at"],
                    "version": 1,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(Conversation), conversations)
            connection.execute(insert(Message), messages)
            connection.execute(insert(Escalation), escalations)
    with engine.begin() as connection:
        # As migration 0008 fills the index from the messages already stored.
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP INDEX ix_message_search_document"))
            connection.execute(text("INSERT INTO message_search SELECT id, to_tsvector('simple', text) FROM messages"))
            connection.execute(text("CREATE INDEX ix_message_search_document ON message_search USING gin (document)"))
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("INSERT INTO message_search (rowid, body) SELECT id, text FROM messages"))
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    call()  # warm-up (templates, statement caches)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return latency_summary(samples, (50, 99))


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.node()} · {platform.platform()} · {os.cpu_count()} CPUs · "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · Python {platform.python_version()}"
    )


def measure(database_url: str, data_dir: Path, redis_url: str, count: int, requests: int) -> dict[str, Any]:
    migrate(database_url)
    engine = make_engine(database_url)
    accounts = AccountStore(engine)
    agent = accounts.create_user("bench-agent", PASSWORD, "agent", queues=("support", "complaints"))
    assert agent.id == 1  # the seeded claims name users 1 to AGENTS
    for number in range(2, AGENTS + 1):
        accounts.create_user(f"bench-{number}", PASSWORD, "agent", queues=("support",))
    seconds = seed(engine, count)
    print(f"seeded {count} conversations in {seconds:.1f} s", file=sys.stderr)
    settings = load_settings(
        kb_dir=ROOT / "knowledge_base",
        data_dir=data_dir,
        nlu_file=ROOT / "training" / "nlu.yml",
        service={"redis_url": redis_url, "database_url": database_url},
        security={"secret_key": "inbox-benchmark-secret-key"},
        console={"assignment": "manual"},
    )
    from webhooks.app import create_app

    app = create_app(settings, enqueue=lambda _event: None)
    token = accounts.issue_token(agent.id, "bench")
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    page = app.test_client()
    login = page.get("/console/login").get_data(as_text=True)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', login)
    assert csrf is not None
    signed = page.post(
        "/console/login", data={"username": "bench-agent", "password": PASSWORD, "csrf_token": csrf.group(1)}
    )
    assert signed.status_code == 302, signed.status_code

    def get(client: Any, url: str) -> Callable[[], None]:
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    total = api.get("/api/v1/inbox").get_json()["total"]
    hits = {
        q: len(api.get(f"/api/v1/search?q={q}").get_json()["items"]) for q in ("zipper", "order", "zipper+tent+late")
    }
    cases = {
        "inbox API, all active (page 1)": get(api, "/api/v1/inbox"),
        "inbox API, unassigned, platform + language": get(
            api, "/api/v1/inbox?scope=unassigned&platform=slack&language=de"
        ),
        "inbox API, mine": get(api, "/api/v1/inbox?scope=mine"),
        "inbox API, resolved (page 20)": get(api, "/api/v1/inbox?status=resolved&page=20"),
        "inbox page (HTML)": get(page, "/console/inbox"),
        "search API, one common word (zipper)": get(api, "/api/v1/search?q=zipper"),
        "search API, very common word (order)": get(api, "/api/v1/search?q=order"),
        "search API, three words (zipper tent late)": get(api, "/api/v1/search?q=zipper+tent+late"),
        "search API, a single order number (order 150123)": get(api, "/api/v1/search?q=order+150123"),
        "inbox page with search (HTML)": get(page, "/console/inbox?q=zipper+tent"),
    }
    results = {name: timed(call, requests) for name, call in cases.items()}
    engine.dispose()
    return {"seed_seconds": seconds, "active_in_agents_queues": total, "search_results": hits, "times": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per case")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="flushed before and after")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "inbox_search.json")
    args = parser.parse_args()
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'inbox.db'}"
        schema = None
        if make_url(database_url).get_backend_name() == "postgresql":
            schema = f"bench_inbox_{uuid.uuid4().hex[:8]}"
            admin = create_engine(database_url)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            database_url = (
                make_url(database_url)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        try:
            found = measure(database_url, data_dir, args.redis_url, args.conversations, args.requests)
        finally:
            if schema is not None:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
            redis.flushdb()
    backend = make_url(database_url).get_backend_name()
    report = {
        "command": " ".join(shlex.quote(part) for part in [".venv/bin/python", *sys.argv]),
        "machine": machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "backend": backend,
        "conversations": args.conversations,
        **found,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"## Inbox and search, {args.conversations:,} conversations ({backend})\n")
    print(f"`{report['command']}` · {report['machine']} · {report['date']}\n")
    print(
        f"Seeded in {found['seed_seconds']:.0f} s; {found['active_in_agents_queues']:,} active escalations in the "
        "agent's queues; "
        f"search results: {found['search_results']}\n"
    )
    print("| request | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|")
    for name, summary in found["times"].items():
        print(f"| {name} | {summary['p50_ms']:.1f} | {summary['p99_ms']:.1f} | {summary['max_ms']:.1f} |")


if __name__ == "__main__":
    main()
