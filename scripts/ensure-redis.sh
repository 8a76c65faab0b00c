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
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir "$PWD/.data/redis" \
  --logfile "$PWD/.data/redis/redis.log"
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && exit 0
  sleep 0.1
done
echo "redis-server did not come up; see .data/redis/redis.log" >&2
exit 1
