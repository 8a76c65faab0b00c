"""Shared fixtures: one engine trained per test session on the shipped sample KB (the real model), and
the real Redis the suite runs against."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from assistant.errors import NotReady
from assistant.knowledge.index_migration import published_pointer
from assistant.knowledge.index_versions import read_pointer, refuse_stale, version_dir
from assistant.nlu.embeddings import shared_encoder
from assistant.pipeline import Engine, train_engine
from assistant.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
# CA_TEST_REDIS_SERVER lets two checkouts run the suite at once, each on its own Redis server.
REDIS_SERVER = os.environ.get("CA_TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
TEST_REDIS_URL = f"{REDIS_SERVER}/15"


@pytest.fixture(scope="session")
def trained_data_dir() -> Path:
    """An index version and signal models trained on the sample KB, kept in .data/test-models between runs of one
    checkout: reused while they load for the KB on disk (a folder in the legacy layout is migrated first); a fresh
    clone, as in CI, trains them once."""
    data_dir = ROOT / ".data" / "test-models"
    settings = engine_settings(data_dir)
    try:
        pointer = published_pointer(settings, shared_encoder())
        refuse_stale(settings, pointer)
        Engine.load(settings, version=pointer.version)
    except (FileNotFoundError, NotReady, ValueError):
        train_engine(settings, reason="test session")
    return data_dir


def write_legacy_layout(trained: Path, target: Path) -> Path:
    """`target` as a data folder of older releases: the served version's index in <data>/index/faq.*, its intent
    model in <data>/models/intent_model.*, the signal models beside it, and no pointer (nor any version)."""
    pointer = read_pointer(trained / "index")
    assert pointer is not None
    served = version_dir(trained / "index", pointer.version)
    (target / "index").mkdir(parents=True)
    shutil.copytree(trained / "models", target / "models")
    for name in ("faq.faiss", "faq.json"):
        shutil.copy2(served / name, target / "index" / name)
    for name in ("intent_model.pkl", "intent_model.json"):
        shutil.copy2(served / name, target / "models" / name)
    return target


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
