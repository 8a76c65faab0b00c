#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:6379: uses the one running, else starts redis-server (installing
# it from the distribution's packages when it is missing and we may).
set -euo pipefail
if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  exit 0
fi
if ! command -v redis-server >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "Redis is not running and redis-server is not installed; install Redis (apt install redis-server)." >&2
    exit 1
  fi
fi
mkdir -p .data/redis
# As production needs it: the append-only file (fsync once a second) so a restart keeps the queued tasks, and
# noeviction so memory pressure fails writes (the webhook answers 503, the platform retries) instead of evicting
# queue keys, which have no TTL. webhooks.redis_requirements.check_redis_policy refuses the allkeys-* policies.
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly yes --appendfsync everysec \
  --maxmemory-policy noeviction --dir "$PWD/.data/redis" --logfile "$PWD/.data/redis/redis.log"
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && exit 0
  sleep 0.1
done
echo "redis-server did not come up; see .data/redis/redis.log" >&2
exit 1
