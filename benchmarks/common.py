"""What the service benchmarks share: the settings file they run on, a Telegram double that records when each
chat's reply arrived, the webhook's Telegram updates, the Celery worker they start (as `assistant worker` runs
it) and the latency summary. The benchmarks stand on their own: nothing here comes from tests/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
TOKEN = "1:BENCH"
WEBHOOK_HEADERS = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}


def write_config(
    path: Path, *, data_dir: Path, redis_url: str, database_url: str, api_url: str, extra: str = ""
) -> Path:
    """The sample KB, Telegram on `api_url` with limits no benchmark reaches, and `extra` TOML tables."""
    path.write_text(
        f"""
kb_dir = "{ROOT / "knowledge_base"}"
data_dir = "{data_dir}"
nlu_file = "{ROOT / "training" / "nlu.yml"}"
{extra}
[service]
redis_url = "{redis_url}"
database_url = "{database_url}"
[platforms.telegram]
enabled = true
api_base_url = "{api_url}"
secret_token = "{SECRET}"
bot_token = "{TOKEN}"
per_chat_per_second = 100
requests_per_second = 1000
""",
        encoding="utf-8",
    )
    return path


def telegram_update(n: int, text: str) -> bytes:
    """Update `n`: message `n` from user and private chat `n`."""
    sender = {"id": n, "is_bot": False, "first_name": "Bench"}
    message = {"message_id": n, "date": int(time.time()), "text": text, "from": sender}
    return json.dumps({"update_id": n, "message": {**message, "chat": {"id": n, "type": "private"}}}).encode()


class TelegramDouble:
    """Telegram's Bot API on a local port: every POST succeeds as sendMessage does, and `received` holds when
    (perf_counter) each chat's first reply arrived."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                received.setdefault(int(body.get("chat_id", 0)), time.perf_counter())
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true, "result": {"message_id": 1}}')

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> TelegramDouble:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def start_worker(config: Path, log_path: Path, timeout: float = 120.0) -> subprocess.Popen[bytes]:
    """One Celery worker (`celery -A webhooks.worker_app:celery_app worker`, one task at a time) on `config`, logging
    to `log_path`; returns once it consumes (its " ready." line needs INFO)."""
    celery = Path(sys.executable).with_name("celery")
    arguments = [str(celery), "-A", "webhooks.worker_app:celery_app", "worker", "--pool", "solo"]
    arguments += ["-Q", "community-assistant", "--loglevel", "INFO"]
    env = {**os.environ, "CA_CONFIG": str(config)}
    with log_path.open("ab") as log:
        process = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while b" ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(process)
            raise SystemExit(f"the celery worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """A warm shutdown (the task at hand finishes); killed if it takes longer than 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def latency_summary(samples_ms: Sequence[float], percentiles: Sequence[int]) -> dict[str, float]:
    """{"p50_ms": ..., "p99_ms": ..., "max_ms": ...} for the given percentiles."""
    values = np.array(samples_ms)
    summary = {f"p{p}_ms": float(np.percentile(values, p)) for p in percentiles}
    return {**summary, "max_ms": float(values.max())}
