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
# (GODEBUG=inittrace=1) and the binaries' sizes.
# BENCH_STARTUP_ROUNDS: rounds (default 201; BENCH_QUICK=1: 21).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-${BENCH_STARTUP_BASE:-bee8af2}}
rounds=${BENCH_STARTUP_ROUNDS:-201}
if [ -n "${BENCH_QUICK:-}" ]; then rounds=21; fi
out=.bench/startup
rm -rf "$out"
mkdir -p "$out/base-src"

# Both built as the Makefile and the Dockerfile build the product.
build() { (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$2" ./cmd/sidecar-injector); }
git archive "$base" | tar -x -C "$out/base-src"
build "$out/base-src" "$PWD/$out/base"
build . "$PWD/$out/head"
for prog in ./bench/gen ./bench/compare; do
  go build -o "$out/$(basename "$prog")" "$prog"
done
"$out/gen" -n 0 > "$out/empty.yaml"
"$out/gen" -n 1 > "$out/one.yaml"

# Both must give the same output: a benchmark of a broken function proves nothing.
for input in empty one; do
  "$out/base" < "$out/$input.yaml" > "$out/base-$input.out"
  "$out/head" < "$out/$input.yaml" > "$out/head-$input.out"
  if ! cmp -s "$out/base-$input.out" "$out/head-$input.out"; then
    echo "bench-startup: $base and the work tree differ on $input.yaml" >&2
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
    GODEBUG=inittrace=1 "$out/$bin" < "$out/empty.yaml" 2>&1 >/dev/null |
      awk '$1 == "init" {total += $5; n++} END {printf "%.3f %d\n", total, n}'
  done | sort -n | awk -v bin="$bin" -v size="$(stat -c %s "$out/$bin")" \
    '{ms[NR] = $1; n = $2} END {printf "  %s: %.2f ms in %d packages; %.1f MiB\n", bin, ms[int((NR + 1) / 2)], n, size / 1048576}'
done
