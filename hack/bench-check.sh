#!/usr/bin/env bash
# check's whole-process benchmark (run by `make bench`, figures in
# docs/BENCHMARKS.md). Target: `sidecar-injector check` on N Deployments
# takes no longer than `sidecar-injector inject` on them, for N = 1,000
# and 10,000 (bench/workload, as hack/bench-cli.sh), on two inputs:
#   stale    the Deployments as generated, not injected: check exits 1 and
#            prints one line per Deployment; inject injects every one
#   current  inject's output: check exits 0; inject changes nothing
# inject is the first column, so "wall / floor" reads check / inject.
# Runs are interleaved round by round (bench/compare); medians are shown.
# BENCH_QUICK=1: 1,000 Deployments only, 3 rounds (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/bench-lib.sh
bench_out check
bench_sizes

bench_build "$out" ./cmd/sidecar-injector ./bench/gen ./bench/compare
"$out/gen" -config > "$out/config.yaml"
bin="$out/sidecar-injector"

echo "interleaved rounds, medians; inject is the base of the ratios:"
echo
header=-header
for i in "${!sizes[@]}"; do
  n=${sizes[$i]}
  "$out/gen" -n "$n" -stream > "$out/stale-$n.yaml"
  "$bin" inject -q -c "$out/config.yaml" -f - < "$out/stale-$n.yaml" > "$out/current-$n.yaml"
  # check must see what the benchmark says it sees.
  got=$("$bin" check -q -c "$out/config.yaml" -f - < "$out/stale-$n.yaml" | grep -c ": not injected: " || true)
  [ "$got" = "$n" ] || { echo "bench-check: check found $got stale of $n" >&2; exit 1; }
  "$bin" check -q -c "$out/config.yaml" -f - < "$out/current-$n.yaml" || { echo "bench-check: inject's output is not current" >&2; exit 1; }
  size() { echo "$(du -k "$1" | cut -f1) KiB"; }
  "$out/compare" $header -rounds "${rounds[$i]}" -input "$out/stale-$n.yaml" -exit check=1 \
    -label "$n Deployments, not injected ($(size "$out/stale-$n.yaml"))" \
    inject="$bin inject -q -c $out/config.yaml -f -" \
    check="$bin check -q -c $out/config.yaml -f -"
  header=
  "$out/compare" -rounds "${rounds[$i]}" -input "$out/current-$n.yaml" \
    -label "$n Deployments, injected ($(size "$out/current-$n.yaml"))" \
    inject="$bin inject -q -c $out/config.yaml -f -" \
    check="$bin check -q -c $out/config.yaml -f -"
done
