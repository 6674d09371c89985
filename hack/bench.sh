#!/usr/bin/env bash
# `make bench`: the Go micro-benchmarks, then each front's whole-process
# comparison (hack/bench-*.sh). Each script prints its figures as a
# markdown table; docs/BENCHMARKS.md records them with how to reproduce.
# BENCH_QUICK=1 makes the scripts run fewer, smaller rounds (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## Go benchmarks"
go test -run '^$' -bench . -benchmem -count "${BENCH_COUNT:-1}" ./transformer/... ./manifest/... ./fn/... ./webhook/... 2>/dev/null || \
  go test -run '^$' -bench . -benchmem -count "${BENCH_COUNT:-1}" ./...
for script in hack/bench-*.sh; do
  [ "$script" = hack/bench-lib.sh ] && continue # the library they source
  echo
  echo "## $script"
  "$script"
done
