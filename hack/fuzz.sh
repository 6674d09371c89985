#!/usr/bin/env bash
# Fuzzes every target for a while (default 60s each). An input that fails
# is written by `go test` to <package>/testdata/fuzz/<Target>/, where plain
# `go test` replays it: commit it with the fix. The inputs that merely
# widened coverage stay in Go's fuzz cache ($(go env GOCACHE)/fuzz), so the
# next run starts from them; they are not committed (the repo keeps the seed inputs,
# written as f.Add in the targets, and crashers).
#   hack/fuzz.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-60s}"
# every Fuzz target of the module, found where it is declared
mapfile -t targets < <(git grep -n -E '^func Fuzz[A-Za-z0-9_]+\(' -- '*_test.go' | sed -E 's#^(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]+)\(.*#./\1 \2#' | sort)
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "== $pkg $name ($time)"
  # Minimizing each new input for the default minute stalls a fresh run
  # (the webhook's targets link all of k8s.io/api: nearly every early
  # input widens coverage); a few seconds keep inputs small enough.
  go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$time" -fuzzminimizetime "${FUZZ_MINIMIZE:-5s}"
done
