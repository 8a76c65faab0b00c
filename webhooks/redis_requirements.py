"""What the service needs of its Redis, checked at start-up: an eviction policy that never drops a key without a TTL.

Celery's queue lists and unacknowledged-message hashes have no TTL. Under `maxmemory` pressure an `allkeys-*`
policy may evict them, and acknowledged webhooks would vanish without a trace; `noeviction` (writes fail loudly
and the webhook answers 503, so the platform retries) and `volatile-*` (only keys with a TTL: dedupe claims, rate
limits) keep them."""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from assistant.errors import ConfigurationError

log = logging.getLogger("community_assistant.webhooks")

# The policies that may evict any key, TTL or not (Redis 4+; `allkeys-lfu` since 4.0).
EVICTS_KEYS_WITHOUT_TTL = frozenset({"allkeys-lru", "allkeys-lfu", "allkeys-random"})


def check_redis_policy(redis: Redis) -> None:
    """ConfigurationError when the server's `maxmemory-policy` may evict the queue's keys.

    Managed services often rename or forbid CONFIG: then the policy cannot be read, and a warning says what to
    check by hand instead of refusing a deployment that may well be right. A Redis that does not answer at start is
    not a reason to refuse either: webhooks are stored in the database and queued once it is back."""
    try:
        answer = redis.config_get("maxmemory-policy")
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        log.warning(
            "Redis did not answer at start (%s); its maxmemory-policy is checked next start", type(error).__name__
        )
        return
    except ResponseError as error:
        log.warning(
            "cannot read Redis maxmemory-policy (CONFIG refused: %s); make sure it is noeviction or volatile-*",
            str(error)[:120],
        )
        return
    policy = str(answer.get("maxmemory-policy", ""))  # the client decodes CONFIG GET's pairs either way
    if policy in EVICTS_KEYS_WITHOUT_TTL:
        raise ConfigurationError(
            f"Redis maxmemory-policy is {policy}, which may evict queued tasks (their keys have no TTL); "
            "set `maxmemory-policy noeviction` in redis.conf (or CONFIG SET maxmemory-policy noeviction)"
        )
