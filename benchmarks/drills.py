"""Failure drills as a benchmark: does every acknowledged message end answered or handed to a person?

Each drill starts its own service on loopback — gunicorn (`webhooks.wsgi:app`), one Celery worker, Celery beat (the
sweepers), a Telegram double (`benchmarks/drill_faults.py`), a redis-server of its own on ports 6391-6397 and a
fresh SQLite database and data folder (a copy of one index trained at the start) — sends a bounded number of
Telegram messages, one per chat, as Telegram does (a delivery that is not answered 200 is sent again), injects one
fault, waits (bounded) until every message is answered or escalated, and counts:

- recorded: inbound rows in the messages table; answered: chats the double delivered a reply to;
- escalated: chats with an escalation row; lost: sent but neither answered nor escalated;
- doubled: chats that got the reply more than once. Target: 0 lost and 0 doubled in every drill.

Drills: duplicates (each update 3 times, shuffled, 8 concurrent senders), worker `kill -9` mid-task and mid-send
(the double 2 s per answer), Redis `kill -9` with AOF (appendfsync everysec) and without persistence, the SQLite
database write-locked for 5 s (`BEGIN EXCLUSIVE`), platform 500s / 429 with Retry-After / timeouts.

The drills shorten the service's timings so that recovery shows within a drill: visibility timeout
`--visibility-timeout` (10 s), send timeout 2 s, and, where the settings have them, `[reliability]` grace 5 s,
sweep every 2 s, reply deadline 30 s. A killed worker or beat is started again, as a supervisor would.

Usage: .venv/bin/python benchmarks/drills.py [--messages 40] [--drill-seconds 75] [--only NAME ...]
       [--out benchmarks/out/drills.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.settings import Settings  # noqa: E402
from benchmarks.common import WEBHOOK_HEADERS, telegram_update, write_config  # noqa: E402
from benchmarks.drill_faults import (  # noqa: E402
    Fault,
    FaultScript,
    FaultyTelegram,
    RedisServer,
    Service,
    hold_write_lock,
    wait_until,
)

TEXTS = (
    "How long does delivery take?",
    "我忘记密码了",
    "Как вернуть товар?",
    "Où est ma commande ?",
    "Jak usunąć konto?",
)
# The [reliability] values the drills want; only the fields the settings know are written (extra="forbid").
RELIABILITY = {
    "inbox_grace_seconds": 5,
    "outbox_grace_seconds": 5,
    "outbox_deadline_seconds": 45,
    "sweep_interval_seconds": 2,
}
SEND_TIMEOUT_SECONDS = 2
SETTLE_SECONDS = 2.0  # after the last message is accounted for: time for a second copy of a reply to show
# Work the service still owes: stored events not decided (the durable inbox, where it exists) and replies neither
# sent nor given a final outcome.
UNSETTLED = (
    "SELECT COUNT(*) FROM inbox WHERE status = 'received'",
    "SELECT COUNT(*) FROM outbound WHERE status IN ('pending', 'sending', 'failed')",
)


class Sender:
    """Posts updates from `threads` concurrent senders, each retrying a delivery until it is answered 200 or the
    deadline passes; `acked` holds the update ids answered 200 at least once."""

    def __init__(self, url: str, updates: list[int], threads: int, interval: float, deadline: float) -> None:
        self.url, self.interval, self.deadline = url, interval, deadline
        self._queue = deque(updates)
        self._lock = threading.Lock()
        self.acked: set[int] = set()
        self.refused = 0  # answers other than 200, and connection errors
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> Sender:
        for thread in self._threads:
            thread.start()
        return self

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=max(0.0, self.deadline - time.monotonic()) + 15)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < self.deadline:
                with self._lock:
                    if not self._queue:
                        return
                    n = self._queue.popleft()
                self._deliver(client, n)
                time.sleep(self.interval)

    def _deliver(self, client: httpx.Client, n: int) -> None:
        body = telegram_update(n, TEXTS[n % len(TEXTS)])
        while time.monotonic() < self.deadline:
            try:
                if client.post(self.url, content=body, headers=WEBHOOK_HEADERS).status_code == 200:
                    with self._lock:
                        self.acked.add(n)
                    return
            except httpx.HTTPError:
                pass
            with self._lock:
                self.refused += 1
            time.sleep(0.5)


@dataclass
class Run:
    """One drill's running pieces, handed to its fault."""

    service: Service
    double: FaultyTelegram
    redis: RedisServer
    database: Path
    ids: list[int]
    deadline: float
    notes: list[str] = field(default_factory=list)

    def recorded(self) -> int:
        return count_rows(self.database, "SELECT COUNT(DISTINCT platform_event_id) FROM messages WHERE direction='in'")

    def stuck(self) -> int:
        return sum(count_rows(self.database, sql) for sql in UNSETTLED)

    def send(self, updates: list[int], threads: int, seconds: float) -> Sender:
        """Spread `updates` over about `seconds` (0: as fast as the senders go)."""
        interval = threads * seconds / max(1, len(updates))
        return Sender(self.service.webhook_url, updates, threads, interval, self.deadline).start()


def count_rows(database: Path, sql: str) -> int:
    rows = query(database, sql)
    return int(rows[0][0]) if rows else 0


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read-only rows, or none while the database is locked or not created yet."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2) as connection:
            return list(connection.execute(sql))
    except sqlite3.Error:
        return []


def escalated_chats(database: Path) -> dict[int, int]:
    sql = (
        "SELECT c.conversation_key, COUNT(*) FROM escalations e JOIN conversations c ON c.id = e.conversation_id "
        "GROUP BY c.conversation_key"
    )
    return {int(key): int(n) for key, n in query(database, sql) if str(key).lstrip("-").isdigit()}


def trigger(run: Run, ready: Callable[[], bool], what: str, timeout: float = 60) -> bool:
    if wait_until(ready, min(timeout, run.deadline - time.monotonic()), 0.05):
        return True
    run.notes.append(f"{what} never came: fault not injected")
    return False


# The faults: each sends the drill's messages and injects one fault, returning the senders.


def duplicates(run: Run) -> Sender:
    updates = [n for n in run.ids for _ in range(3)]
    random.Random(13).shuffle(updates)
    return run.send(updates, threads=8, seconds=0)


def kill_worker_mid_task(run: Run) -> Sender:
    sender = run.send(run.ids, threads=4, seconds=0)
    if trigger(run, lambda: run.recorded() >= len(run.ids) // 4, "a quarter of the messages recorded"):
        run.service.kill_worker()
        run.notes.append(f"worker killed with {run.recorded()} recorded, {run.double.delivered_count()} answered")
        time.sleep(1)
        run.service.start_worker()
    return sender


def kill_worker_mid_send(run: Run) -> Sender:
    run.double.delay_seconds = 2.0
    sender = run.send(run.ids, threads=4, seconds=0)
    in_flight = trigger(run, lambda: run.double.delivered_count() >= 2 and run.double.in_flight > 0, "a send")
    if in_flight:
        run.service.kill_worker()
        run.notes.append(f"worker killed with a send in flight, {run.double.delivered_count()} answered")
    run.double.delay_seconds = 0.0
    if in_flight:
        time.sleep(1)
        run.service.start_worker()
    return sender


def kill_redis(run: Run) -> Sender:
    sender = run.send(run.ids, threads=4, seconds=8)
    if trigger(run, lambda: sender.acked_count() >= len(run.ids) // 2, "half the messages acknowledged"):
        run.redis.kill9()
        run.notes.append(f"redis killed with {sender.acked_count()} acknowledged, {run.recorded()} recorded")
        time.sleep(2)
        run.redis.start()
    return sender


def lock_database(run: Run) -> Sender:
    sender = run.send(run.ids, threads=4, seconds=8)
    if trigger(run, lambda: sender.acked_count() >= len(run.ids) // 3, "a third of the messages acknowledged"):
        hold_write_lock(run.database, 5.0).join(timeout=30)
        run.notes.append("database write-locked for 5 s")
    return sender


def platform_faults(run: Run) -> Sender:
    return run.send(run.ids, threads=4, seconds=0)


def scripted_failures(chat: int, attempt: int) -> Fault | None:
    """Chat mod 4 = 0: 500 on the first two attempts; 1: one 429 (Retry-After 1); mod 8 = 2: one timeout."""
    if chat % 4 == 0 and attempt < 2:
        return "500"
    if chat % 4 == 1 and attempt < 1:
        return "429"
    if chat % 8 == 2 and attempt < 1:
        return "timeout"
    return None


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    inject: Callable[[Run], Sender]
    persistent_redis: bool = True
    script: FaultScript | None = None


DRILLS = (
    Drill("duplicates", "duplicate + out-of-order delivery (x3, 8 senders)", duplicates),
    Drill("worker_kill_task", "worker kill -9 mid-task", kill_worker_mid_task),
    Drill("worker_kill_send", "worker kill -9 mid-send (2 s sends)", kill_worker_mid_send),
    Drill("redis_kill_aof", "Redis kill -9, AOF everysec", kill_redis),
    Drill("redis_kill_volatile", "Redis kill -9, no persistence", kill_redis, persistent_redis=False),
    Drill("database_locked", "SQLite write-locked 5 s", lock_database),
    Drill("platform_faults", "platform 500 / 429 / timeouts", platform_faults, script=scripted_failures),
)


def reliability_settings() -> dict[str, int]:
    """The drills' [reliability] values that the settings know (written only once the fields exist)."""
    reliability = Settings.model_fields.get("reliability")
    known = getattr(reliability.annotation, "model_fields", {}) if reliability is not None else {}
    return {key: value for key, value in RELIABILITY.items() if key in known}


def drill_config(folder: Path, template: Path, redis_url: str, api_url: str, visibility_timeout: int) -> Path:
    data_dir = folder / "data"
    shutil.copytree(template, data_dir)
    lines = [f"celery_visibility_timeout = {visibility_timeout}"]
    wanted = reliability_settings()
    if wanted:
        lines += ["[reliability]", *(f"{key} = {value}" for key, value in wanted.items())]
    lines += ["[policy]", "answer_in_business_hours = true"]
    return write_config(
        folder / "drill.toml",
        data_dir=data_dir,
        redis_url=redis_url,
        database_url=f"sqlite:///{folder / 'drill.db'}",
        api_url=api_url,
        extra="\n".join(lines),
    )


def run_drill(drill: Drill, number: int, template: Path, args: argparse.Namespace) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix=f"drill-{drill.name}-"))
    ids = [number * 1000 + i for i in range(1, args.messages + 1)]
    redis = RedisServer(6390 + number, folder / "redis", persistent=drill.persistent_redis)
    started = time.monotonic()
    with FaultyTelegram(drill.script, hang_seconds=SEND_TIMEOUT_SECONDS + 2) as double:
        config = drill_config(folder, template, redis.url, double.url, args.visibility_timeout)
        service = Service(config, folder, {**os.environ, "CA_CONFIG": str(config)}, args.gunicorn_workers)
        run: Run | None = None
        restarts = 0
        try:
            redis.start()
            service.start()
            run = Run(service, double, redis, folder / "drill.db", ids, time.monotonic() + args.drill_seconds)
            sender = drill.inject(run)
            sender.join()

            def settled() -> bool:
                nonlocal restarts
                restarts += service.supervise()
                done = set(double.deliveries) | set(escalated_chats(run.database))
                return all(n in done for n in ids) and run.stuck() == 0

            complete = wait_until(settled, run.deadline - time.monotonic(), 0.5)
            time.sleep(SETTLE_SECONDS)
            row = measure(run, sender)
            row["complete_in_time"] = complete
        finally:
            service.stop()
            redis.stop()
    row.update(
        drill=drill.name,
        title=drill.title,
        seconds=round(time.monotonic() - started, 1),
        worker_starts=service.worker_starts,
        supervisor_restarts=restarts,
        notes=run.notes if run else [],
    )
    if args.keep:
        row["folder"] = str(folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return row


def measure(run: Run, sender: Sender) -> dict[str, object]:
    escalated = escalated_chats(run.database)
    delivered = {n: len(times) for n, times in run.double.deliveries.items() if n in set(run.ids)}
    outbound = {
        str(status): int(n)
        for status, n in query(run.database, "SELECT status, COUNT(*) FROM outbound GROUP BY status")
    }
    lost = [n for n in run.ids if n not in delivered and n not in escalated]
    return {
        "sent": len(run.ids),
        "acked": len(sender.acked),
        "refused_deliveries": sender.refused,
        "recorded": run.recorded(),
        "answered": len(delivered),
        "escalated": sum(1 for n in run.ids if n in escalated),
        "escalation_rows": sum(escalated.values()),
        "lost": len(lost),
        "doubled": sum(1 for count in delivered.values() if count > 1),
        "stuck": run.stuck(),
        "lost_ids": lost,
        "outbound_by_status": outbound,
    }


COLUMNS = ("sent", "acked", "recorded", "answered", "escalated", "lost", "doubled", "stuck", "seconds")


def table(rows: list[dict[str, object]]) -> str:
    width = max(len(str(row["title"])) for row in rows)
    lines = [f"{'drill':<{width}}  " + "  ".join(f"{name:>9}" for name in COLUMNS)]
    lines += [f"{row['title']!s:<{width}}  " + "  ".join(f"{row[name]!s:>9}" for name in COLUMNS) for row in rows]
    return "\n".join(lines)


def train_template(folder: Path) -> Path:
    """One index for every drill (each copies it): `assistant ready-or-train` on a data folder of its own."""
    template = folder / "data"
    config = write_config(
        folder / "train.toml",
        data_dir=template,
        redis_url="redis://127.0.0.1:1/0",
        database_url="sqlite://",
        api_url="",
    )
    env = {**os.environ, "CA_CONFIG": str(config)}
    subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ready-or-train"], cwd=ROOT, env=env, check=True, timeout=300
    )
    return template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=40, help="messages per drill (one chat each)")
    parser.add_argument("--drill-seconds", type=float, default=75, help="bound on one drill's sending and waiting")
    parser.add_argument("--visibility-timeout", type=int, default=10)
    parser.add_argument("--gunicorn-workers", type=int, default=1)
    parser.add_argument("--total-seconds", type=float, default=570, help="drills not started by then are skipped")
    parser.add_argument("--only", action="append", choices=[drill.name for drill in DRILLS])
    parser.add_argument("--keep", action="store_true", help="keep each drill's folder (logs, database)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "drills.json")
    args = parser.parse_args()
    total_deadline = time.monotonic() + args.total_seconds
    # In the environment, not the TOML (common.write_config owns [service]): start_worker passes os.environ on.
    os.environ["CA_SERVICE__SEND_TIMEOUT_SECONDS"] = str(SEND_TIMEOUT_SECONDS)
    rows: list[dict[str, object]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="drills-") as tmp:
        template = train_template(Path(tmp))
        for number, drill in enumerate(DRILLS, start=1):
            if args.only and drill.name not in args.only:
                continue
            if time.monotonic() + args.drill_seconds > total_deadline:
                skipped.append(drill.name)
                continue
            print(f"drill {drill.name} …", flush=True)
            rows.append(run_drill(drill, number, template, args))
            print(table(rows[-1:]).splitlines()[1], flush=True)
    print()
    print(table(rows))
    if skipped:
        print(f"skipped, out of time (--total-seconds {args.total_seconds:.0f}): {', '.join(skipped)}")
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "messages": args.messages,
        "drill_seconds": args.drill_seconds,
        "visibility_timeout": args.visibility_timeout,
        "reliability": reliability_settings(),
        "send_timeout_seconds": SEND_TIMEOUT_SECONDS,
        "skipped": skipped,
        "drills": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
