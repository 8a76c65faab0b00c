#!/usr/bin/env bash
# The whole service on embedded defaults: installs what it needs, starts Redis if none answers, builds the
# index and models if missing or stale, then runs gunicorn (webhooks) and one Celery worker (decisions).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-redis.sh
export CA_CONFIG="${CA_CONFIG:-community-assistant.toml}"
mkdir -p .data
if [ ! -s .data/generic-webhook-secret ]; then
  .venv/bin/python -c "import base64, secrets; print('whsec_' + base64.b64encode(secrets.token_bytes(24)).decode())" \
    > .data/generic-webhook-secret
fi
export CA_PLATFORMS__GENERIC__WEBHOOK_SECRET="$(cat .data/generic-webhook-secret)"
.venv/bin/assistant ready-or-train
# First run only: an `admin` account with a generated password in .data/admin-password (mode 600).
.venv/bin/assistant users ensure-admin
.venv/bin/assistant worker --concurrency 1 --beat &   # --beat: the console's SLA and assignment timers
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
cat <<'MSG'

community-assistant is starting on http://127.0.0.1:8000 (Ctrl-C stops it).
  Try the engine without any platform:  .venv/bin/assistant ask "How long does delivery take?" --at 2026-11-28T21:30
  Health:                               curl -s http://127.0.0.1:8000/readyz
  Agent console:                        http://127.0.0.1:8000/console/  (first admin: user admin, password in
                                        .data/admin-password; more users: .venv/bin/assistant users add NAME --role agent --queue support)
  Send a test message through the whole service (webhook → queue → worker → reply), from another terminal:
    .venv/bin/python scripts/send_test_message.py "How long does delivery take?"
MSG
.venv/bin/assistant serve --bind 127.0.0.1:8000 --workers 2
