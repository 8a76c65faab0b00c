#!/usr/bin/env bash
# Installs what the tests need, then runs lint, type checks, the import contract and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-redis.sh
.venv/bin/ruff check .
.venv/bin/mypy assistant
.venv/bin/lint-imports
.venv/bin/pytest -q "$@"
