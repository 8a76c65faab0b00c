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
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import numpy as np
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765
SECRET = "bench-secret"
TOKEN = "1:BENCH"
REDIS_URL = "redis://127.0.0.1:6379/14"
received: dict[int, float] = {}


class TelegramDouble(BaseHTTPRequestHandler):
    """Telegram's sendMessage, recording when each chat's reply arrived."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        received.setdefault(int(body.get("chat_id", 0)), time.perf_counter())
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true, "result": {"message_id": 1}}')

    def log_message(self, *args: object) -> None:
        return


def write_config(folder: Path, api_url: str) -> Path:
    config = folder / "bench.toml"
    config.write_text(f"""
kb_dir = "{ROOT / "knowledge_base"}"
data_dir = "{ROOT / ".data"}"
nlu_file = "{ROOT / "training" / "nlu.yml"}"
[policy]
answer_in_business_hours = true
[service]
redis_url = "{REDIS_URL}"
database_url = "sqlite:///{folder / "bench.db"}"
[platforms.telegram]
enabled = true
api_base_url = "{api_url}"
secret_token = "{SECRET}"
bot_token = "{TOKEN}"
per_chat_per_second = 100
requests_per_second = 1000
""")
    return config


def update(n: int, text: str) -> bytes:
    return json.dumps(
        {
            "update_id": n,
            "message": {
                "message_id": n,
                "date": int(time.time()),
                "text": text,
                "from": {"id": n, "is_bot": False, "first_name": "Bench"},
                "chat": {"id": n, "type": "private"},
            },
        }
    ).encode()


async def open_loop(rate: float, seconds: float, first_id: int) -> dict[str, float]:
    """Send at a fixed rate whatever the answers do; latency counts from each request's scheduled time."""
    url = f"http://127.0.0.1:{PORT}/webhooks/telegram"
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
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
                    url, data=update(first_id + i, "How long does delivery take?"), headers=headers
                ) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    values = np.array(latencies)
    return {
        "requests": total,
        "errors": errors,
        "achieved_rps": total / elapsed,
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
    }


def wrk_load(rate: float, seconds: float, connections: int = 10) -> dict[str, float]:
    """The same load from wrk (C, a fraction of the CPU of a Python client on the same two cores). wrk is
    closed-loop: each connection waits connections/rate seconds between requests, so latency excludes queueing
    in the client; the open-loop figure above is the stricter one."""
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
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "service_latency.json")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "assistant.cli", "ready-or-train"], cwd=ROOT, check=True)
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    double = ThreadingHTTPServer(("127.0.0.1", 0), TelegramDouble)
    threading.Thread(target=double.serve_forever, daemon=True).start()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), f"http://127.0.0.1:{double.server_address[1]}")
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
            results["ack"] = {
                "rate": args.rate,
                "seconds": args.seconds,
                **asyncio.run(open_loop(args.rate, args.seconds, 20_000_000)),
            }
            print("webhook acknowledgement:", json.dumps(results["ack"]))
            if shutil.which("wrk"):
                redis.flushdb()
                results["ack_wrk"] = {"rate": args.rate, "seconds": args.seconds, **wrk_load(args.rate, args.seconds)}
                print("webhook acknowledgement (wrk):", json.dumps(results["ack_wrk"]))
            else:
                print("wrk not installed (apt-get install wrk): wrk figures skipped")
            redis.flushdb()  # drop the queued load-test events before the worker starts
            worker = subprocess.Popen(
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "webhooks.worker_app:celery_app",
                    "worker",
                    "--pool",
                    "solo",
                    "-Q",
                    "community-assistant",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                results["reply"] = reply_latency(args.replies)
                print("message in → reply out:", json.dumps(results["reply"]))
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        finally:
            web.terminate()
            web.wait(timeout=30)
            double.shutdown()
            redis.flushdb()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"→ {args.out}")


def reply_latency(count: int) -> dict[str, float]:
    """One message every 200 ms (a busy but realistic inbox), each timed until its reply reaches Telegram."""
    import httpx

    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
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
    httpx.post(f"http://127.0.0.1:{PORT}/webhooks/telegram", content=update(warm, texts[0]), headers=headers)
    deadline = time.monotonic() + 120
    while warm not in received and time.monotonic() < deadline:
        time.sleep(0.05)
    with httpx.Client() as client:
        for i in range(count):
            n = 40_000_000 + i
            sent[n] = time.perf_counter()
            client.post(
                f"http://127.0.0.1:{PORT}/webhooks/telegram", content=update(n, texts[i % len(texts)]), headers=headers
            )
            time.sleep(0.2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(n in received for n in sent):
        time.sleep(0.05)
    values = np.array([(received[n] - t) * 1000 for n, t in sent.items() if n in received])
    return {
        "messages": count,
        "replied": len(values),
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
    }


if __name__ == "__main__":
    main()
