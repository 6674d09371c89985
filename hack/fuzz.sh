#!/usr/bin/env bash
# Fuzzes every target for a while (default 60s each) and keeps the corpus:
# new inputs the fuzzer found go into <package>/testdata/fuzz/<Target>/,
# where `go test` replays them as regression tests.
#   hack/fuzz.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-60s}"
module="$(go list -m)"
cache="$(go env GOCACHE)/fuzz"
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
  src="$cache/$module/${pkg#./}/$name"
  dst="$pkg/testdata/fuzz/$name"
  if [ -d "$src" ]; then
    mkdir -p "$dst"
    cp -n "$src"/* "$dst"/ 2>/dev/null || true
    echo "   corpus: $(ls "$dst" | wc -l) inputs in $dst"
  fi
done
