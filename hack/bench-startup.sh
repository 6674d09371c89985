#!/usr/bin/env bash
# Start-up of the binary run as a KRM function (no arguments, a ResourceList
# on stdin: how kustomize and kpt start it on every build), the work tree
# against a base commit, interleaved round by round by bench/compare
# (medians). Figures in docs/BENCHMARKS.md ("CLI start-up").
#
#   hack/bench-startup.sh [BASE]
#
# BASE defaults to bee8af2, the last commit whose command line was written
# by hand (before cobra). Also prints what package init costs in each
# (GODEBUG=inittrace=1), the binaries' sizes and, with valgrind, the
# instructions each run takes: unlike times on a shared machine, the count
# barely moves from run to run.
# BENCH_STARTUP_ROUNDS: rounds (default 201; BENCH_QUICK=1: 21).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-${BENCH_STARTUP_BASE:-bee8af2}}
rounds=${BENCH_STARTUP_ROUNDS:-201}
if [ -n "${BENCH_QUICK:-}" ]; then rounds=21; fi
. hack/bench-lib.sh
bench_out startup --fresh
mkdir "$out/base-src"

# Both built as the Makefile and the Dockerfile build the product (as
# bench_build does, but each from its own source tree).
build() { (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$2" ./cmd/sidecar-injector); }
git archive "$base" | tar -x -C "$out/base-src"
build "$out/base-src" "$PWD/$out/base"
build . "$PWD/$out/head"
bench_build "$out" ./bench/gen ./bench/compare
"$out/gen" -n 0 > "$out/empty.yaml"
"$out/gen" -n 1 > "$out/one.yaml"

# Both must inject: a benchmark of a broken function proves nothing.
for bin in base head; do
  "$out/$bin" < "$out/empty.yaml" > /dev/null
  # grep reads it all (no -q): under pipefail an early exit could kill the writer.
  if ! "$out/$bin" < "$out/one.yaml" | grep "message: 'injected: nginx'" > /dev/null; then
    echo "bench-startup: $bin did not inject the Deployment of one.yaml" >&2
    exit 1
  fi
done

echo "KRM function start-up, $base (base) against the work tree (head), $rounds interleaved rounds:"
echo
"$out/compare" -header -rounds "$rounds" -input "$out/empty.yaml" -label "empty ResourceList" \
  base="$out/base" head="$out/head"
"$out/compare" -rounds "$rounds" -input "$out/one.yaml" -label "1 Deployment" \
  base="$out/base" head="$out/head"

echo
echo "Package init (GODEBUG=inittrace=1, empty ResourceList, median of 21 runs) and binary size:"
for bin in base head; do
  for _ in $(seq 21); do
    bench_inittrace "$out/$bin" "$out/empty.yaml" | awk '{total += $1} END {printf "%.3f %d\n", total, NR}'
  done | sort -n | awk -v bin="$bin" -v size="$(stat -c %s "$out/$bin")" \
    '{ms[NR] = $1; n = $2} END {printf "  %s: %.2f ms in %d packages; %.1f MiB\n", bin, ms[int((NR + 1) / 2)], n, size / 1048576}'
done

if ! command -v valgrind >/dev/null; then
  echo "  (valgrind not installed: no instruction counts; apt-get install valgrind)"
  exit 0
fi
echo
echo "Instructions per run (valgrind callgrind; GOMAXPROCS=1 and GOGC=off, so that"
echo "whether a collection happens to run does not count; median of 5):"
# "fn" names the function explicitly: the head dispatches it through cobra.
for input in empty one; do
  for cmd in base head "base fn" "head fn"; do
    for _ in 1 2 3 4 5; do
      # shellcheck disable=SC2086 # cmd is a binary and its argument
      GOGC=off GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$out/"$cmd < "$out/$input.yaml" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    done | sort -n | sed -n 3p | awk -v cmd="$cmd" -v input="$input" '{printf "  %-8s %-10s %.3f million\n", cmd, input ".yaml", $1 / 1e6}'
  done
done
