"""The faults `benchmarks/drills.py` injects, and the processes it owns: a Telegram double that can be slow or
scripted to fail (500, 429 with Retry-After, a timeout), a Redis server that can be killed with SIGKILL and
restarted on the same folder (with or without its AOF), a SQLite write lock held from another connection, and the
service itself (gunicorn, one Celery worker, Celery beat) with a worker that can be killed mid-stream."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import start_worker, stop_worker  # noqa: E402

Fault = Literal["500", "429", "timeout"]
# (chat id, how many sendMessage calls this chat had before this one) → the fault to answer with, or None.
FaultScript = Callable[[int, int], Fault | None]


class FaultyTelegram:
    """Telegram's sendMessage on a local port. A reply counts as delivered when its request arrives and is not
    failed with 500/429 (Telegram has it, even if the answer is slow or the client times out), so a chat with two
    entries in `deliveries` got the reply twice. `delay_seconds` slows every answer; `script` fails chosen attempts;
    a "timeout" fault answers 200 only after `hang_seconds`, longer than the service waits."""

    def __init__(self, script: FaultScript | None = None, hang_seconds: float = 4.0) -> None:
        self.deliveries: dict[int, list[float]] = {}
        self.attempts: dict[int, int] = {}
        self.in_flight = 0
        self.delay_seconds = 0.0
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                if not self.path.endswith("/sendMessage"):
                    self._answer(200, {"ok": True, "result": True})
                    return
                chat = int(json.loads(raw or b"{}").get("chat_id", 0))
                fault = double._begin(chat, script)
                try:
                    if fault == "500":
                        self._answer(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
                        return
                    if fault == "429":
                        body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
                        self._answer(429, {**body, "parameters": {"retry_after": 1}}, {"retry-after": "1"})
                        return
                    double._delivered(chat)
                    time.sleep(hang_seconds if fault == "timeout" else double.delay_seconds)
                    self._answer(200, {"ok": True, "result": {"message_id": chat, "date": int(time.time())}})
                finally:
                    double._end()

            def _answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(json.dumps(body).encode())
                except OSError:
                    pass  # the client gave up (timed out, or its worker was killed): nothing to answer

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def _begin(self, chat: int, script: FaultScript | None) -> Fault | None:
        with self._lock:
            attempt = self.attempts.get(chat, 0)
            self.attempts[chat] = attempt + 1
            self.in_flight += 1
        return script(chat, attempt) if script else None

    def _delivered(self, chat: int) -> None:
        with self._lock:
            self.deliveries.setdefault(chat, []).append(time.monotonic())

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def delivered_count(self) -> int:
        with self._lock:
            return len(self.deliveries)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultyTelegram:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(done: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll `done` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(step)
    return done()


def end_process(
    process: subprocess.Popen[bytes] | None, grace: float = 15.0, first: signal.Signals = signal.SIGTERM
) -> None:
    """`first` (SIGTERM) to the process group it leads, SIGKILL after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, first)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class RedisServer:
    """A redis-server of the drill's own on `port`, in `folder`: with AOF (appendfsync everysec) or with no
    persistence at all. `kill9` and `start` again keep the folder, so an AOF server comes back with its data."""

    def __init__(self, port: int, folder: Path, *, persistent: bool) -> None:
        if port_in_use(port):
            raise SystemExit(f"port {port} is in use: the drills start their own Redis there")
        self.port, self.folder, self.persistent = port, folder, persistent
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent else ["--appendonly", "no"]
        )
        arguments = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence]
        arguments += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        self.process = subprocess.Popen(arguments, start_new_session=True, stdout=subprocess.DEVNULL)
        if not wait_until(self._answers, 10):
            raise SystemExit(f"redis-server on port {self.port} did not start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        end_process(self.process, grace=5)


def hold_write_lock(database: Path, seconds: float) -> threading.Thread:
    """Another connection takes SQLite's exclusive lock (`BEGIN EXCLUSIVE`) for `seconds`: every writer waits."""
    taken = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(database, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            taken.set()
            time.sleep(seconds)
            connection.execute("ROLLBACK")
        finally:
            taken.set()
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    taken.wait(timeout=30)
    return thread


class Service:
    """gunicorn (`webhooks.wsgi:app`), one Celery worker (`start_worker`) and Celery beat on `config`, logging into
    `folder`. The worker is killed with SIGKILL (`kill_worker`) and started again as a supervisor would."""

    def __init__(self, config: Path, folder: Path, env: dict[str, str], gunicorn_workers: int = 2) -> None:
        self.config, self.folder, self.env = config, folder, env
        self.gunicorn_workers = gunicorn_workers
        self.port = free_port()
        while self.port == 8765:
            self.port = free_port()
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None
        self._beat_arguments: list[str] = []
        self.worker_starts = 0

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/telegram"

    def _spawn(self, arguments: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.folder / log_name).open("ab") as log:
            return subprocess.Popen(
                arguments, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start(self) -> None:
        """All three at once (the schema migration is safe from several processes): the worker's model load and
        gunicorn's imports overlap on two cores."""
        bin_dir = Path(sys.executable).parent
        web = [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.gunicorn_workers)]
        self.web = self._spawn([*web, "--timeout", "60", "webhooks.wsgi:app"], "gunicorn.log")
        beat = [str(bin_dir / "celery"), "-A", "webhooks.worker_app:celery_app", "beat", "--loglevel", "INFO"]
        self._beat_arguments = [*beat, "-s", str(self.folder / "beat-schedule")]
        self.beat = self._spawn(self._beat_arguments, "beat.log")
        self.start_worker()
        if not wait_until(self._healthy, 60, 0.2):
            raise SystemExit(f"gunicorn did not answer /healthz; see {self.folder / 'gunicorn.log'}")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self) -> None:
        # A log of its own per start: start_worker waits for " ready." in it, which an old log already has.
        self.worker_starts += 1
        self.worker = start_worker(self.config, self.folder / f"worker-{self.worker_starts}.log")

    def kill_worker(self) -> None:
        # The solo pool is one process: SIGKILL to it is the whole worker, mid-task, with no warm shutdown.
        if self.worker is not None and self.worker.poll() is None:
            self.worker.kill()
            self.worker.wait(timeout=10)

    def supervise(self) -> int:
        """Start again the worker or beat if it exited (as systemd's Restart=always would); how many were."""
        restarted = 0
        if self.worker is not None and self.worker.poll() is not None:
            self.start_worker()
            restarted += 1
        if self.beat is not None and self.beat.poll() is not None:
            self.beat = self._spawn(self._beat_arguments, "beat.log")
            restarted += 1
        return restarted

    def stop(self) -> None:
        # Beat and gunicorn are told first, so that all three shut down together.
        for process, first in ((self.beat, signal.SIGTERM), (self.web, signal.SIGQUIT)):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, first)
        try:
            if self.worker is not None and self.worker.poll() is None:
                stop_worker(self.worker)
        finally:
            end_process(self.beat)
            end_process(self.web, grace=10, first=signal.SIGQUIT)  # quick shutdown: no request is in flight
