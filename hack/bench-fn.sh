#!/usr/bin/env bash
# The KRM function's whole-process benchmark (run by `make bench`, figures
# in docs/BENCHMARKS.md):
#   - a ResourceList of N Deployments (10,000; all opted in, ~40 lines each;
#     bench/workload): the function against its floor, bench/fnfloor, a kyaml
#     ResourceList read and written back unchanged. Target: within 1.3x.
#   - an empty ResourceList: start-up, which kustomize pays on every build.
#     Target: under 20 ms. Then what package init() costs (inittrace).
#   - peak RSS at the input limit (64 MiB), one run each: lists of
#     as many Deployments, small opted-in Pods, or small Pods that do not ask
#     as fit; then the worst cases, with text read as one YAML document at
#     its limit (1/32 of the input limit): a first item of that size made of
#     small nodes, and a list in another layout. For comparison, the CLI
#     (sidecar-injector inject) at its 32 MiB limit.
# Runs are interleaved round by round (bench/compare) and medians taken.
# BENCH_QUICK=1: 1,000 Deployments, fewer rounds, 8 MiB limits (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/bench-lib.sh
bench_out fn
n=${BENCH_FN_DEPLOYMENTS:-10000}
rounds=${BENCH_FN_ROUNDS:-7}
startup_rounds=31
limit_mb=64 cli_limit_mb=32
if [ -n "${BENCH_QUICK:-}" ]; then n=1000 rounds=3 startup_rounds=9 limit_mb=8 cli_limit_mb=8; fi

bench_build "$out" ./cmd/sidecar-injector ./bench/fnfloor ./bench/gen ./bench/compare
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
bench_inittrace "$out/sidecar-injector" "$out/empty.yaml" > "$out/inittrace.txt"
awk '{total += $1} END {printf "  %.2f ms in %d packages; the slowest:\n", total, NR}' "$out/inittrace.txt"
sort -rn "$out/inittrace.txt" | awk 'NR <= 5 {printf "  %6s ms  %s\n", $1, $2}'

echo
doc_mb=$(awk "BEGIN {print $limit_mb / 32}")
echo "Peak RSS at the input limit ($limit_mb MiB; one document: $doc_mb MiB), one run each:"
echo
export SIDECAR_INJECTOR_MAX_INPUT_MB=$limit_mb
header=-header
while IFS='|' read -r label args; do
  # shellcheck disable=SC2086 # args are gen's flags
  "$out/gen" $args > "$out/at-limit.yaml"
  "$out/compare" $header -per-byte -rounds 1 -input "$out/at-limit.yaml" \
    -label "$label ($(du -k "$out/at-limit.yaml" | cut -f1) KiB)" function="$out/sidecar-injector"
  header=
done <<LIST
Deployments|-mib $limit_mb -shape deployments
small Pods|-mib $limit_mb -shape pods
small Pods not asking|-mib $limit_mb -shape skipped-pods
worst: a $doc_mb MiB item of small Pods, then small Pods not asking|-mib $limit_mb -shape skipped-pods -big-item $doc_mb
worst: small Pods in another layout, read as one document|-mib $doc_mb -shape pods -other-layout
LIST
unset SIDECAR_INJECTOR_MAX_INPUT_MB
"$out/gen" -config > "$out/config.yaml"
"$out/gen" -mib "$cli_limit_mb" -stream > "$out/cli-at-limit.yaml"
"$out/compare" -per-byte -rounds 1 -input "$out/cli-at-limit.yaml" \
  -label "CLI: Deployments at its $cli_limit_mb MiB limit ($(du -k "$out/cli-at-limit.yaml" | cut -f1) KiB)" \
  inject="$out/sidecar-injector inject -c $out/config.yaml -f -"
