"""A running service for integration tests: real Redis (db 15), a SQLite file, a real Celery worker
process and the real Flask app, with a local double standing in for the platforms' APIs."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.signals import after_task_publish
from flask.testing import FlaskClient
from redis import Redis

from assistant.services import sweeps
from assistant.services.sweeps import Swept
from assistant.settings import Settings
from assistant.store import Store
from tests.adapters.platform_double import PlatformDouble
from tests.conftest import TEST_REDIS_URL
from tests.live_service import SLACK_BOT_TOKEN, TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET, configured_service
from tests.workers import WorkerWaits, start_worker, stop_worker
from webhooks.runtime import RUNTIME_EXTENSION, Runtime


@dataclass
class Service(WorkerWaits):
    settings: Settings
    config: Path
    api: PlatformDouble
    store: Store
    redis: Redis
    worker: subprocess.Popen[bytes] | None
    worker_log: Path

    # Every ca.process_event task published from this process (the webhook views run here): task id and event.
    published: list[tuple[str, str, str]] = field(default_factory=list)

    def sends(self, path_suffix: str) -> list[object]:
        return [r for r in self.api.requests if r.path.endswith(path_suffix)]

    def tasks_for(self, platform: str, event_id: str) -> list[str]:
        """The ids of the process_event tasks queued for one platform event, in the order they were queued."""
        return [task_id for task_id, p, e in self.published if (p, e) == (platform, str(event_id))]

    def task_outcome(self, task_id: str) -> str | None:
        """What the worker's task returned, from Celery's own log line; None while it has not finished."""
        log = self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""
        found = re.search(rf"Task ca\.process_event\[{re.escape(task_id)}\] succeeded in [0-9.e-]+s: '(\w+)'", log)
        return found.group(1) if found else None

    def wait_processed(self, platform: str, event_id: str, queued: int) -> list[str]:
        """Wait until the worker has finished every process_event task queued for the event (there must be
        `queued` of them) and return their outcomes (decided, duplicate, resumed, ...), in queueing order."""
        tasks = self.tasks_for(platform, event_id)
        assert len(tasks) == queued, f"{platform}:{event_id} was queued {len(tasks)} times, expected {queued}"
        self.wait_for(
            lambda: all(self.task_outcome(task) is not None for task in tasks),
            what=f"the worker to finish processing {platform}:{event_id}",
        )
        return [str(self.task_outcome(task)) for task in tasks]

    def reply_status(self, platform: str, event_id: str) -> str | None:
        """The status of the reply reserved for an event (pending, sending, sent, failed, unknown, dead), if any."""
        record = self.store.outbound_by_key(f"reply:{platform}:{event_id}")
        return record.status if record is not None else None


@pytest.fixture(scope="module")
def service(trained_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("service")
    config = tmp / "service.toml"
    with configured_service(
        config,
        trained_data_dir,
        TEST_REDIS_URL,
        f"sqlite:///{tmp / 'service.db'}",
        telegram=(TELEGRAM_SECRET, TELEGRAM_BOT_TOKEN),
        slack_bot_token=SLACK_BOT_TOKEN,
        policy={"answer_in_business_hours": True},
        service=lambda api_url: {
            "send_timeout_seconds": 1.5,
            "send_max_retries": 3,
            "helpdesk_url": f"{api_url}/helpdesk/tickets",
            "helpdesk_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
    ) as configured:
        settings = configured.settings
        store = Store.from_url(settings.service.database_url)
        log_path = tmp / "worker.log"
        worker = start_worker(config, log_path)
        service = Service(settings, config, configured.api, store, configured.redis, worker, log_path)

        def record_publish(
            sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None, **_: Any
        ) -> None:
            # Protocol 2: the body is (args, kwargs, embed) and the only argument is the event's dict.
            if sender == "ca.process_event" and headers is not None:
                event = body[0][0]
                service.published.append((str(headers["id"]), str(event["platform"]), str(event["event_id"])))

        after_task_publish.connect(record_publish, weak=False)
        try:
            yield service
        finally:
            after_task_publish.disconnect(record_publish)
            stop_worker(service.worker)


@pytest.fixture()
def client(service: Service) -> FlaskClient:
    from webhooks.app import create_app

    app = create_app(service.settings)
    return app.test_client()


def sweep_now(client: FlaskClient, settings: Settings, after_seconds: float) -> Swept:
    """Run the inbox and outbox sweepers as beat would `after_seconds` from now, queueing on the app's real broker
    (the running worker then does what they queued); what the two did, summed."""
    from webhooks.celery_app import queue_decision, queue_delivery

    app = client.application
    runtime: Runtime = app.extensions[RUNTIME_EXTENSION]
    celery = app.extensions["celery"]
    later = datetime.now(UTC) + timedelta(seconds=after_seconds)
    config = settings.reliability
    inbox = sweeps.sweep_inbox(runtime.inbound(), functools.partial(queue_decision, celery), config, later)
    outbox = sweeps.sweep_outbox(runtime.outbox(lambda: later), functools.partial(queue_delivery, celery), config)
    return Swept(inbox.requeued + outbox.requeued, inbox.to_person + outbox.to_person)
