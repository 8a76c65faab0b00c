#!/usr/bin/env bash
# Installs what the tests need, then runs lint, type checks, the import contract and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-redis.sh
# The browser tests drive Debian's Chromium through Playwright (no `playwright install`: nothing is downloaded
# but the distribution's package). CI runs as root; elsewhere sudo is used when needed.
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy assistant webhooks
.venv/bin/lint-imports
.venv/bin/pytest -q "$@"
