"""Service benchmarks on this machine: webhook acknowledgement latency at a fixed request rate against
gunicorn (open loop, so slow answers are not hidden), and message-in → reply-out latency with one worker.

Usage: .venv/bin/python benchmarks/service_latency.py [--rate 500] [--seconds 20] [--replies 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    SECRET,
    WEBHOOK_HEADERS,
    TelegramDouble,
    latency_summary,
    start_worker,
    stop_worker,
    telegram_update,
    write_config,
)

PORT = 8765
REDIS_URL = "redis://127.0.0.1:6379/14"


async def open_loop(rate: float, seconds: float, first_id: int) -> dict[str, float]:
    """Send at a fixed rate whatever the answers do; latency counts from each request's scheduled time."""
    url = f"http://127.0.0.1:{PORT}/webhooks/telegram"
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                async with session.post(
                    url, data=telegram_update(first_id + i, "How long does delivery take?"), headers=WEBHOOK_HEADERS
                ) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    return {
        "requests": total,
        "errors": errors,
        "achieved_rps": total / elapsed,
        **latency_summary(latencies, (50, 90, 99)),
    }


def wrk_load(rate: float, seconds: float, connections: int = 50) -> dict[str, float]:
    """The same load from wrk (C, a fraction of the CPU of a Python client on the same two cores). wrk is
    closed-loop: each connection waits connections/rate seconds between requests, so latency excludes queueing
    in the client; the open-loop figure above is the stricter one. Many connections, each with a long pause,
    come closer to open loop: with 10, every millisecond an answer took came out of the rate (10 connections
    pausing 17 ms reach 500 requests/s only if every answer takes 3 ms)."""
    # Each connection waits `pace` after every answer; 3 ms less than its share leaves room for the answer itself.
    pace_ms = max(1, int(1000 * connections / rate) - 3)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "-s",
            str(ROOT / "benchmarks" / "webhook_ack.lua"),
            f"http://127.0.0.1:{PORT}/webhooks/telegram",
            "--",
            str(pace_ms),
            SECRET,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = next(line for line in out.splitlines() if line.startswith("WRK ")).split()[1:]
    requests, errors = int(fields[0]), int(fields[1])
    p50, p90, p99, worst, duration = (float(x) for x in fields[2:])
    return {
        "client": "wrk",
        "connections": connections,
        "requests": requests,
        "errors": errors,
        "achieved_rps": requests / duration,
        "p50_ms": p50,
        "p90_ms": p90,
        "p99_ms": p99,
        "max_ms": worst,
    }


def wait_http(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--replies", type=int, default=100)
    parser.add_argument("--drain", type=int, default=500, help="messages posted at once to time the queue's drain")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "service_latency.json")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "assistant.cli", "ready-or-train"], cwd=ROOT, check=True)
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp, TelegramDouble() as double:
        config = write_config(
            Path(tmp) / "bench.toml",
            data_dir=ROOT / ".data",
            redis_url=REDIS_URL,
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            api_url=double.url,
            extra="[policy]\nanswer_in_business_hours = true",
        )
        env = {**os.environ, "CA_CONFIG": str(config)}
        web = subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                str(args.gunicorn_workers),
                "webhooks.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        results: dict[str, object] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": platform.platform(),
            "cpus": os.cpu_count(),
            "gunicorn_workers": args.gunicorn_workers,
        }
        try:
            wait_http(f"http://127.0.0.1:{PORT}/healthz")
            asyncio.run(open_loop(50, 2, 10_000_000))  # warm-up
            # wrk first: the Python client below can fall behind and leave gunicorn a backlog to work off, which
            # would be measured by whatever ran next.
            if shutil.which("wrk"):
                results["ack_wrk"] = {"rate": args.rate, "seconds": args.seconds, **wrk_load(args.rate, args.seconds)}
                print("webhook acknowledgement (wrk):", json.dumps(results["ack_wrk"]))
            else:
                print("wrk not installed (apt-get install wrk): wrk figures skipped")
            redis.flushdb()
            results["ack"] = {
                "rate": args.rate,
                "seconds": args.seconds,
                **asyncio.run(open_loop(args.rate, args.seconds, 20_000_000)),
            }
            print("webhook acknowledgement:", json.dumps(results["ack"]))
            redis.flushdb()  # drop the queued load-test events before the worker starts
            worker = start_worker(config, Path(tmp) / "worker.log")
            try:
                results["reply"] = reply_latency(args.replies, double.received)
                print("message in → reply out:", json.dumps(results["reply"]))
                results["drain"] = queue_drain(args.drain, double.received)
                print("queue drain, one worker:", json.dumps(results["drain"]))
            finally:
                stop_worker(worker)
        finally:
            web.terminate()
            web.wait(timeout=30)
            redis.flushdb()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"→ {args.out}")


def reply_latency(count: int, received: dict[int, float]) -> dict[str, float]:
    """One message every 200 ms (a busy but realistic inbox), each timed until its reply reaches Telegram
    (`received`: when each chat's reply arrived)."""
    import httpx

    texts = [
        "How long does delivery take?",
        "我忘记密码了",
        "Как вернуть товар?",
        "Où est ma commande ?",
        "Jak usunąć konto?",
    ]
    sent: dict[int, float] = {}
    # The first message waits for the worker to finish loading the model: not counted.
    warm = 30_000_000
    httpx.post(
        f"http://127.0.0.1:{PORT}/webhooks/telegram", content=telegram_update(warm, texts[0]), headers=WEBHOOK_HEADERS
    )
    deadline = time.monotonic() + 120
    while warm not in received and time.monotonic() < deadline:
        time.sleep(0.05)
    with httpx.Client() as client:
        for i in range(count):
            n = 40_000_000 + i
            sent[n] = time.perf_counter()
            client.post(
                f"http://127.0.0.1:{PORT}/webhooks/telegram",
                content=telegram_update(n, texts[i % len(texts)]),
                headers=WEBHOOK_HEADERS,
            )
            time.sleep(0.2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(n in received for n in sent):
        time.sleep(0.05)
    values = [(received[n] - t) * 1000 for n, t in sent.items() if n in received]
    return {"messages": count, "replied": len(values), **latency_summary(values, (50, 90, 99))}


def queue_drain(count: int, received: dict[int, float]) -> dict[str, float]:
    """`count` messages posted as fast as one client can (a backlog, as after a night of traffic or a worker
    restart), then timed until the last reply reaches Telegram: the worker's throughput, messages per second."""
    import httpx

    texts = ["How long does delivery take?", "Où est ma commande ?", "Как вернуть товар?", "Jak usunąć konto?"]
    first = 50_000_000
    started = time.perf_counter()
    with httpx.Client() as client:
        for i in range(count):
            client.post(
                f"http://127.0.0.1:{PORT}/webhooks/telegram",
                content=telegram_update(first + i, texts[i % len(texts)]),
                headers=WEBHOOK_HEADERS,
            )
    posted = time.perf_counter() - started
    wanted = range(first, first + count)
    deadline = time.monotonic() + max(120.0, count / 10)
    while time.monotonic() < deadline and not all(n in received for n in wanted):
        time.sleep(0.05)
    done = [received[n] for n in wanted if n in received]
    seconds = (max(done) - started) if done else float("nan")
    return {
        "messages": count,
        "replied": len(done),
        "posting_seconds": round(posted, 2),
        "drain_seconds": round(seconds, 2),
        "messages_per_second": round(len(done) / seconds, 1) if done else 0.0,
    }


if __name__ == "__main__":
    main()
