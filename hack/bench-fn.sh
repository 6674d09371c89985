#!/usr/bin/env bash
# The KRM function's whole-process benchmark (run by `make bench`, figures
# in docs/BENCHMARKS.md):
#   - a ResourceList of N Deployments (10,000; all opted in, ~40 lines each;
#     bench/workload): the function against its floor, bench/fnfloor, a kyaml
#     ResourceList read and written back unchanged. Target: within 1.3x.
#   - an empty ResourceList: start-up, which kustomize pays on every build.
#     Target: under 20 ms. Then what package init() costs (inittrace).
# Runs are interleaved round by round (bench/compare) and medians taken.
# BENCH_QUICK=1: 1,000 Deployments, fewer rounds (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.bench/fn
mkdir -p "$out"
n=${BENCH_FN_DEPLOYMENTS:-10000}
rounds=${BENCH_FN_ROUNDS:-7}
startup_rounds=31
if [ -n "${BENCH_QUICK:-}" ]; then n=1000 rounds=3 startup_rounds=9; fi

# Built as the Makefile and the Dockerfile build the product.
for prog in ./cmd/sidecar-injector ./bench/fnfloor ./bench/gen ./bench/compare; do
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out/$(basename "$prog")" "$prog"
done
"$out/gen" -n "$n" > "$out/list.yaml"
"$out/gen" -n 0 > "$out/empty.yaml"

# The function must actually inject every Deployment: a benchmark of a
# no-op would prove nothing.
got=$("$out/sidecar-injector" < "$out/list.yaml" | grep -c "message: 'injected: nginx'")
if [ "$got" != "$n" ]; then
  echo "bench-fn: the function injected $got of $n Deployments" >&2
  exit 1
fi

echo "ResourceList of $n Deployments ($(du -k "$out/list.yaml" | cut -f1) KiB), $rounds interleaved rounds; empty ResourceList, $startup_rounds rounds:"
echo
"$out/compare" -header -rounds "$rounds" -input "$out/list.yaml" -label "$n Deployments" \
  floor="$out/fnfloor" function="$out/sidecar-injector"
"$out/compare" -rounds "$startup_rounds" -input "$out/empty.yaml" -label "empty" \
  floor="$out/fnfloor" function="$out/sidecar-injector"

echo
echo "Package init (GODEBUG=inittrace=1, empty ResourceList):"
GODEBUG=inittrace=1 "$out/sidecar-injector" < "$out/empty.yaml" 2>"$out/inittrace.txt" >/dev/null
awk '$1 == "init" {total += $5; n++} END {printf "  %.2f ms in %d packages; the slowest:\n", total, n}' "$out/inittrace.txt"
awk '$1 == "init" {print $5, $2}' "$out/inittrace.txt" | sort -rn | head -5 | awk '{printf "  %6s ms  %s\n", $1, $2}'
