#!/usr/bin/env bash
# Instructions per webhook request, counted by valgrind's callgrind: unlike
# times on a shared machine, the count is the same run after run, so a
# change to the request path can be judged by it (docs/BENCHMARKS.md). Each
# benchmark runs twice, N1 and N2 iterations; the difference over N2-N1
# leaves out set-up. GOMAXPROCS=1 and no async preemption (callgrind runs
# one thread at a time and trips over Go's preemption signals); no RDTSCP
# (valgrind 3.19 does not know the instruction, and the runtime times a
# contended lock with it: without cpu.rdtscp=off a run can die of SIGILL).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
  echo "bench-instructions: valgrind not installed; skipped (apt-get install valgrind)" >&2
  exit 0
fi
. hack/bench-lib.sh
bench_out instructions
go test -c -o "$out/webhook.test" ./webhook
n1=200 n2=1200
if [ -n "${BENCH_QUICK:-}" ]; then n1=50 n2=250; fi
out=$PWD/$out
count() { # count BENCH[/SUB] N: instructions of the whole run (in the package's directory, for its testdata)
  local pattern="^${1//\//\$/^}\$" f="$out/${1//\//-}.$2" # each level anchored: ^A$/^B$
  if ! (cd webhook && GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOGC=400 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$f.out" \
    "$out/webhook.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "${2}x" >"$f.txt" 2>"$f.log"); then
    echo "bench-instructions: $1 failed:" >&2
    cat "$f.txt" "$f.log" >&2
    exit 1
  fi
  grep -o 'Collected : [0-9]*' "$f.log" | grep -o '[0-9]*$'
}
echo "| benchmark (webhook/bench_test.go) | instructions / op |"
echo "|---|---:|"
for b in BenchmarkServeHTTP/budget BenchmarkAdmit BenchmarkAdmitNotConcerned BenchmarkParseReview BenchmarkDecodePod BenchmarkEngineApply BenchmarkDiff; do
  i1=$(count "$b" "$n1") i2=$(count "$b" "$n2")
  echo "| ${b#Benchmark} | $(( (i2 - i1) / (n2 - n1) )) |"
done
