"""`assistant serve`, `worker`, `beat`, `discord-gateway` and `telegram set-webhook`: the commands that start or set
up the runtime (`webhooks/`); the one part of the core allowed to import it (import-linter)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.cli.options import folder_options
from assistant.settings import load_settings


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@folder_options
def serve(bind: str, workers: int, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run the webhook service under gunicorn (production); settings come from TOML and environment."""
    import os

    _export_folders(kb_dir, data_dir)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.execv(  # noqa: S606 - replace this process with gunicorn, no shell involved
        str(gunicorn),
        [str(gunicorn), "--bind", bind, "--workers", str(workers), "--access-logfile", "-", "webhooks.wsgi:app"],
    )


@click.command()
@click.option("--concurrency", default=1, show_default=True)
@click.option(
    "--beat",
    is_flag=True,
    help="Also run Celery beat (the console's SLA and assignment timers) inside this worker; use it on one "
    "worker only, or run `assistant beat` once instead.",
)
@folder_options
def worker(concurrency: int, beat: bool, kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run a Celery worker that decides and replies; start as many as you like against one Redis."""
    import os

    _export_folders(kb_dir, data_dir)
    celery = Path(sys.executable).with_name("celery")
    arguments = [
        str(celery),
        "-A",
        "webhooks.worker_app:celery_app",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--queues",
        "community-assistant",
    ]
    if beat:
        arguments += ["--beat", "--schedule", str(_beat_schedule_file())]
    os.execv(str(celery), arguments)  # noqa: S606 - replace this process with the Celery worker, no shell involved


@click.command("discord-gateway")
@folder_options
def discord_gateway(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run the Discord Gateway bot (channel messages and DMs; slash commands come over HTTP): one process per bot
    token. Its messages are stored in the inbox and queued like a webhook's."""
    import os

    _export_folders(kb_dir, data_dir)
    python = sys.executable
    os.execv(python, [python, "-m", "webhooks.discord_gateway"])  # noqa: S606 - no shell involved


@click.command()
@folder_options
def beat(kb_dir: Path | None, data_dir: Path | None) -> None:
    """Run Celery beat: every `console.beat_interval_seconds` it flags SLA breaches and auto-assigns open
    escalations. Run exactly one per deployment."""
    import os

    _export_folders(kb_dir, data_dir)
    celery = Path(sys.executable).with_name("celery")
    os.execv(  # noqa: S606 - replace this process with Celery beat, no shell involved
        str(celery),
        [
            str(celery),
            "-A",
            "webhooks.worker_app:celery_app",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(_beat_schedule_file()),
        ],
    )


def _beat_schedule_file() -> Path:
    """Beat's own bookkeeping (last run times) lives with the other data, not in the working directory."""
    data_dir = load_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / "celerybeat-schedule"


def _export_folders(kb_dir: Path | None, data_dir: Path | None) -> None:
    import os

    if kb_dir:
        os.environ["CA_KB_DIR"] = str(kb_dir)
    if data_dir:
        os.environ["CA_DATA_DIR"] = str(data_dir)


@click.group()
def telegram() -> None:
    """Telegram set-up."""


@telegram.command("set-webhook")
@click.option("--url", help="Public HTTPS URL of /webhooks/telegram (default: service.public_base_url + path).")
def telegram_set_webhook(url: str | None) -> None:
    """Register the webhook with Telegram once (never on every start)."""
    import httpx

    from webhooks.adapters.telegram import set_webhook

    settings = load_settings()
    target = url or f"{settings.service.public_base_url.rstrip('/')}/webhooks/telegram"
    with httpx.Client(timeout=settings.service.send_timeout_seconds) as client:
        answer = set_webhook(client, settings.platforms["telegram"], target)
    click.echo(json.dumps(answer, ensure_ascii=False))
