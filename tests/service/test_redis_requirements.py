"""The service refuses a Redis that may evict its queue: `allkeys-*` policies raise ConfigurationError with what to
set; `noeviction` and `volatile-*` pass; a server that refuses CONFIG (managed Redis) gets a warning, not a refusal.
Run against real redis-servers: one started here (its policy changed with CONFIG SET) and the suite's own."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from assistant.errors import ConfigurationError
from tests.conftest import TEST_REDIS_URL
from webhooks.redis_requirements import check_redis_policy

PORT = 6384


@pytest.fixture(scope="module")
def evicting_redis() -> Iterator[Redis]:
    """A redis-server of our own on PORT, started with `allkeys-lru` and stopped afterwards."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory-policy",
            "allkeys-lru",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Redis(port=PORT, socket_timeout=2)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except RedisConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture()
def policy_restored(evicting_redis: Redis) -> Iterator[Redis]:
    evicting_redis.config_set("maxmemory-policy", "allkeys-lru")
    yield evicting_redis
    evicting_redis.config_set("maxmemory-policy", "allkeys-lru")


def test_an_allkeys_policy_is_refused_with_what_to_set(policy_restored: Redis) -> None:
    with pytest.raises(ConfigurationError, match=r"allkeys-lru.*maxmemory-policy noeviction"):
        check_redis_policy(policy_restored)


@pytest.mark.parametrize("policy", ["allkeys-lfu", "allkeys-random"])
def test_every_policy_that_evicts_keys_without_a_ttl_is_refused(policy_restored: Redis, policy: str) -> None:
    policy_restored.config_set("maxmemory-policy", policy)
    with pytest.raises(ConfigurationError, match=policy):
        check_redis_policy(policy_restored)


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "noeviction"])
def test_policies_that_keep_keys_without_a_ttl_pass(policy_restored: Redis, policy: str) -> None:
    policy_restored.config_set("maxmemory-policy", policy)
    assert policy_restored.config_get("maxmemory-policy") == {"maxmemory-policy": policy}
    check_redis_policy(policy_restored)


def test_the_suites_redis_passes() -> None:
    redis = Redis.from_url(TEST_REDIS_URL)
    try:
        assert redis.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        check_redis_policy(redis)
    finally:
        redis.close()


def test_a_server_that_refuses_config_gets_a_warning_not_a_refusal(
    policy_restored: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Managed services rename or forbid CONFIG; a user without the command sees the same ResponseError.
    policy_restored.acl_setuser(
        "no-config", enabled=True, passwords=["+pw"], keys=["~*"], commands=["+@all", "-config"]
    )
    limited = Redis(port=PORT, username="no-config", password="pw", socket_timeout=2)
    try:
        with caplog.at_level(logging.WARNING, logger="community_assistant.webhooks"):
            check_redis_policy(limited)  # the server's policy is allkeys-lru: only CONFIG's refusal lets it pass
    finally:
        limited.close()
        policy_restored.acl_deluser("no-config")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cannot read Redis maxmemory-policy" in message for message in warnings)


def test_the_web_process_and_the_worker_refuse_to_start_on_an_evicting_redis(
    policy_restored: Redis, tmp_path: Path
) -> None:
    from assistant.settings import load_settings
    from webhooks.app import create_app  # what gunicorn's wsgi module and the worker's entry point both call

    settings = load_settings(
        service={"redis_url": f"redis://127.0.0.1:{PORT}/0", "database_url": f"sqlite:///{tmp_path / 'x.db'}"},
        data_dir=tmp_path,
    )
    with pytest.raises(ConfigurationError, match="maxmemory-policy noeviction"):
        create_app(settings)


def test_a_redis_that_does_not_answer_at_start_is_not_a_refusal(tmp_path: Path) -> None:
    from assistant.settings import load_settings
    from webhooks.app import create_app

    settings = load_settings(
        service={"redis_url": "redis://127.0.0.1:1/0", "database_url": f"sqlite:///{tmp_path / 'x.db'}"},
        data_dir=tmp_path,
    )
    assert create_app(settings).test_client().get("/healthz").status_code == 200
