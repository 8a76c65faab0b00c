"""A real Celery worker for integration tests: started on the settings file a test wrote (whose Redis is its
broker), waited for until it consumes, stopped or killed (the crash drills), its log kept for assertions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from tests.conftest import ROOT

QUEUE = "community-assistant"


def log_tail(log_path: Path, chars: int = 3000) -> str:
    return log_path.read_text(errors="replace")[-chars:] if log_path.exists() else ""


def start_worker(config: Path, log_path: Path, timeout: float = 90.0) -> subprocess.Popen[bytes]:
    """The worker `assistant worker` runs (`celery -A webhooks.worker_app:celery_app worker`), reading `config` and
    logging to `log_path`; returns once it says it is ready, fails the test if it exits or never gets there."""
    # A short visibility timeout: a task a killed worker left unacknowledged comes back within the test.
    env = {**os.environ, "CA_CONFIG": str(config), "CA_CELERY_VISIBILITY_TIMEOUT": "4"}
    celery = Path(sys.executable).with_name("celery")
    # The solo pool runs tasks in the process the crash drills kill; without gossip, mingle and heartbeat it waits
    # for no other worker; the unique name lets several run against one Redis.
    arguments = [str(celery), "-A", "webhooks.worker_app:celery_app", "worker", "--pool", "solo", "-Q", QUEUE]
    arguments += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    arguments += ["-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
    with log_path.open("ab") as handle:
        process = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if b" ready." in log_path.read_bytes():
            return process
        if process.poll() is not None:
            raise AssertionError(f"celery worker exited: {log_tail(log_path)}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"celery worker did not start: {log_tail(log_path)}")


def stop_worker(process: subprocess.Popen[bytes] | None, kill: bool = False) -> None:
    """SIGTERM (a warm shutdown: the task at hand finishes) or, with `kill`, SIGKILL as a crash would."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_until(predicate: Callable[[], object], what: str, log_path: Path, timeout: float = 30.0) -> None:
    """Poll `predicate` every 100 ms; on timeout fail with the worker's log tail (what it did instead)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log tail:\n{log_tail(log_path)}")


class WorkerWaits:
    """A test's handle on a running service waits on what its worker does, the log tail in the failure."""

    worker_log: Path
    # How long a wait may take unless the call says: a first message waits for the worker to load the model.
    wait_seconds: ClassVar[float] = 30.0

    def wait_for(self, predicate: Callable[[], object], what: str = "condition", timeout: float | None = None) -> None:
        wait_until(predicate, what, self.worker_log, self.wait_seconds if timeout is None else timeout)
