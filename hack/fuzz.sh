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
targets=(
  "./transformer FuzzInject"
  "./transformer FuzzLoadConfig"
  "./transformer FuzzStatus"
  "./manifest FuzzParse"
  "./manifest FuzzJSON"
  "./fn FuzzItemByItem"
  "./webhook FuzzAdmit"
  "./webhook/internal/nodejson FuzzDecode"
  "./webhook/internal/nodejson FuzzDelimit"
)
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "== $pkg $name ($time)"
  go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$time"
done
