"""Correctly signed deliveries to every platform's webhook endpoint: one secret and one signer per platform, settings
that enable all eight with those secrets, and the app built on them (`Edge`) with its queue captured. The tests that
drive the whole edge (verify, parse, clean, store, queue) with real bodies share these."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from nacl.signing import SigningKey
from redis import Redis

from assistant.domain.channels import InboundEvent
from assistant.settings import Settings, load_settings
from assistant.store import Store
from assistant.store.db import migrate
from tests.conftest import ROOT, TEST_REDIS_URL
from webhooks.runtime import RUNTIME_EXTENSION

TELEGRAM_SECRET = "tg-secret-token-bad-json"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DISCORD_KEY = SigningKey.generate()
X_SECRET = "x-consumer-secret-bad-json"
GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
META_SECRET = "meta-app-secret-bad-json"
META_PLATFORMS = ("messenger", "instagram", "whatsapp")

Signer = Callable[[bytes], dict[str, str]]


def _telegram(body: bytes) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def _slack(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _discord(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = DISCORD_KEY.sign(stamp.encode() + body).signature.hex()
    return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp}


def _x(body: bytes) -> dict[str, str]:
    digest = hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()
    return {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode()}


def _generic(body: bytes) -> dict[str, str]:
    # Standard Webhooks signs "<id>.<timestamp>.<body>" with the base64 key after "whsec_". The id is the event's
    # dedupe key: a new one per delivery.
    message_id, stamp = f"msg_{time.time_ns()}", str(int(time.time()))
    key = base64.b64decode(GENERIC_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": message_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{_b64(digest)}"}


def _meta(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


SIGNERS: dict[str, Signer] = {
    "telegram": _telegram,
    "slack": _slack,
    "discord": _discord,
    "x": _x,
    "generic": _generic,
    **dict.fromkeys(META_PLATFORMS, _meta),
}


def platform_settings() -> dict[str, dict[str, object]]:
    """Every platform enabled, with the secret its signer above uses."""
    secrets: dict[str, dict[str, object]] = {
        "telegram": {"secret_token": TELEGRAM_SECRET},
        "slack": {"signing_secret": SLACK_SECRET},
        "discord": {"public_key": DISCORD_KEY.verify_key.encode().hex()},
        "x": {"consumer_secret": X_SECRET},
        "generic": {"webhook_secret": GENERIC_SECRET},
        **{name: {"app_secret": META_SECRET} for name in META_PLATFORMS},
    }
    return {name: {"enabled": True, **values} for name, values in secrets.items()}


@dataclass
class Edge:
    """The webhook app on a SQLite file: its test client, the events it queued, its store and the database."""

    client: FlaskClient
    queued: list[InboundEvent]
    redis: Redis
    database: sa.Engine
    store: Store
    settings: Settings

    def post(self, platform: str, body: bytes, content_type: str = "application/json") -> int:
        headers = {"Content-Type": content_type, **SIGNERS[platform](body)}
        return self.client.post(f"/webhooks/{platform}", data=body, headers=headers).status_code

    def rows(self) -> dict[str, int]:
        with self.database.connect() as connection:
            names = sa.inspect(connection).get_table_names()
            return {name: connection.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() for name in names}


@contextmanager
def open_edge(folder: Path, redis: Redis) -> Iterator[Edge]:
    from webhooks.app import create_app

    database_url = f"sqlite:///{folder / 'edge.db'}"
    app_settings: Settings = load_settings(
        kb_dir=ROOT / "knowledge_base",
        data_dir=folder / "data",
        nlu_file=ROOT / "training" / "nlu.yml",
        service={"redis_url": TEST_REDIS_URL, "database_url": database_url},
        platforms=platform_settings(),
    )
    migrate(database_url)
    queued: list[InboundEvent] = []
    app = create_app(app_settings, enqueue=queued.append)
    runtime = app.extensions[RUNTIME_EXTENSION]
    # Every platform is enabled, and each has its signer here.
    assert sorted(runtime.adapters) == sorted(SIGNERS)
    database = sa.create_engine(database_url)
    try:
        yield Edge(app.test_client(), queued, redis, database, runtime.store, app_settings)
    finally:
        database.dispose()


@pytest.fixture(name="edge")
def edge_fixture(tmp_path: Path, redis_client: Redis) -> Iterator[Edge]:
    """A fresh app per test (an empty database, nothing queued, Redis flushed)."""
    with open_edge(tmp_path, redis_client) as edge:
        yield edge


@pytest.fixture(name="module_edge", scope="module")
def module_edge_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """One app for a whole module: tests that tell their events apart by id, not by an empty start."""
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        with open_edge(tmp_path_factory.mktemp("edge"), redis) as edge:
            yield edge
    finally:
        redis.close()
