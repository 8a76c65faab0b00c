#!/usr/bin/env bash
# The main job on embedded defaults: install, build the index, train, and run the multilingual demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/assistant demo "$@"
