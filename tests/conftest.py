"""Shared fixtures: one engine trained per test session on the shipped sample KB (the real model), and
the real Redis the suite runs against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from assistant.intent_model import ModelMismatchError
from assistant.pipeline import Engine, train_engine
from assistant.retrieval import IndexMismatchError
from assistant.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
# CA_TEST_REDIS_SERVER lets two checkouts run the suite at once, each on its own Redis server.
REDIS_SERVER = os.environ.get("CA_TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
TEST_REDIS_URL = f"{REDIS_SERVER}/15"


@pytest.fixture(scope="session")
def trained_data_dir() -> Path:
    """Index and models trained on the sample KB, kept in .data/test-models between runs of one checkout:
    reused while they load for the KB on disk (a fresh clone, as in CI, trains them once)."""
    data_dir = ROOT / ".data" / "test-models"
    try:
        Engine.load(engine_settings(data_dir))
    except (FileNotFoundError, IndexMismatchError, ModelMismatchError, ValueError):
        train_engine(engine_settings(data_dir))
    return data_dir


def engine_settings(data_dir: Path, **overrides: object) -> Settings:
    return load_settings(
        kb_dir=ROOT / "knowledge_base",
        data_dir=data_dir,
        nlu_file=ROOT / "training" / "nlu.yml",
        **overrides,
    )


@pytest.fixture(scope="session")
def engine(trained_data_dir: Path) -> Engine:
    return Engine.load(engine_settings(trained_data_dir))


@pytest.fixture()
def redis_client() -> Iterator[Redis]:
    client = Redis.from_url(TEST_REDIS_URL)
    client.ping()  # the suite needs a real Redis: fail loudly, never skip
    client.flushdb()
    yield client
    client.flushdb()
