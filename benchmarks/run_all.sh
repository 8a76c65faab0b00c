#!/usr/bin/env bash
# Runs every benchmark through `assistant eval` and, for a full run, copies the report and its plot to
# benchmarks/RESULTS.md and benchmarks/risk_coverage.png. Extra arguments go to `assistant eval`
# (for example `--only latency` or `--quick`). DATA and OUT override the data and output folders.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-../shared/data}"
OUT="${OUT:-benchmarks/out}"
started=$(date +%s)
.venv/bin/python -m assistant.cli eval --data "$DATA" --out "$OUT" "$@"
echo "wall time: $(( $(date +%s) - started )) s"
case " $* " in
  *" --quick "*) echo "quick run: benchmarks/RESULTS.md left as it was" ;;
  *)
    cp "$OUT/report.md" benchmarks/RESULTS.md
    if [ -f "$OUT/risk_coverage.png" ]; then cp "$OUT/risk_coverage.png" benchmarks/risk_coverage.png; fi
    echo "copied $OUT/report.md → benchmarks/RESULTS.md"
    ;;
esac
