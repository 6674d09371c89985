# What the whole-process benchmarks (hack/bench-*.sh) share; they source it
# from the repository's root.

# bench_out NAME [--fresh]: sets out to .bench/NAME, the benchmark's
# working directory (for its binaries, inputs and logs), and makes it;
# --fresh removes what an earlier run left there first.
bench_out() {
  out=.bench/$1
  if [ "${2:-}" = --fresh ]; then rm -rf "$out"; fi
  mkdir -p "$out"
}

# bench_build DIR PKG...: builds each Go package into DIR, named as its last
# path element, as the Makefile and the Dockerfile build the product
# (static, stripped, trimmed paths).
bench_build() {
  local dir=$1 prog
  shift
  for prog in "$@"; do
    CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$dir/$(basename "$prog")" "$prog"
  done
}

# bench_sizes sets sizes and rounds, the Deployment counts of the CLI
# benchmarks and the interleaved rounds for each: 1,000 and 10,000, 5 and
# 3 rounds; with BENCH_QUICK=1, 1,000 only, 3 rounds (a smoke test).
bench_sizes() {
  sizes=(1000 10000)
  rounds=(5 3)
  if [ -n "${BENCH_QUICK:-}" ]; then sizes=(1000) rounds=(3); fi
}

# bench_inittrace BIN INPUT: runs BIN once on INPUT with GODEBUG=inittrace=1
# and prints what each package's init took, one "MS PACKAGE" line each.
bench_inittrace() {
  GODEBUG=inittrace=1 "$1" < "$2" 2>&1 >/dev/null | awk '$1 == "init" {print $5, $2}'
}
