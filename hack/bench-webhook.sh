#!/usr/bin/env bash
# The admission webhook's load test (run by `make bench`, figures in
# docs/BENCHMARKS.md): AdmissionReviews of a realistic ~4 KB pod, opted in so
# that the whole path runs (webhook/testdata/bench-pod.json), POSTed over TLS
# with keep-alive on loopback by bench/webhook-load at concurrency 1, 16 and
# 64 (closed loop: each connection sends as soon as it has its answer), and
# paced at 1000 req/s over 16 connections, against
#   - the webhook (`sidecar-injector webhook`, logging every request as in
#     production), and
#   - its floor, bench/webhook-floor: a TLS server with the same settings that
#     returns a fixed response of the same size.
# The servers run on CPU 0 and the load on CPU 1 (taskset). The two servers
# alternate run by run. Then a soak at concurrency 16 (60 s), which must have
# zero errors. Targets: p99 < 2 ms at c=16; throughput >= 1/4 of the floor's;
# < 80 us of server CPU per request; RSS < 64 MB.
# Then memory (bench/webhook-memory, bench/hostile's shapes): what one
# review costs per byte with no budget, and the peak RSS of a fresh webhook
# with the example Deployment's settings under 32 reviews at once.
# BENCH_QUICK=1: 3 s runs and a 10 s soak (a smoke test); BENCH_MEMORY=0
# skips the memory runs; BENCH_WEBHOOK_RUNS picks among "closed paced soak"
# (all three by default), e.g. BENCH_WEBHOOK_RUNS=paced for the latency bar.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/bench-lib.sh
bench_out webhook --fresh
dur=${BENCH_WEBHOOK_DURATION:-20s}
warmup=3s
soak=${BENCH_WEBHOOK_SOAK:-60s}
rate=${BENCH_WEBHOOK_RATE:-1000}
if [ -n "${BENCH_QUICK:-}" ]; then dur=3s warmup=1s soak=10s; fi
runs=" ${BENCH_WEBHOOK_RUNS:-closed paced soak} "

server_cpu=0 load_cpu=1
# pin CPU CMD...: run CMD on one CPU. exec, so that a `pin ... &` has the
# server's own PID in $! (for its CPU time and RSS, and to stop it).
if ! command -v taskset >/dev/null || [ "$(nproc)" -lt 2 ]; then
  echo "bench-webhook: taskset or a second CPU missing; running unpinned (figures less meaningful)" >&2
  pin() { shift; exec "$@"; }
else
  pin() { local cpu=$1; shift; exec taskset -c "$cpu" "$@"; }
fi

bench_build "$out" ./cmd/sidecar-injector ./bench/webhook-load ./bench/webhook-floor ./bench/gen ./bench/webhook-memory
bin="$out/sidecar-injector"
"$bin" certs --service sidecar-injector --namespace sidecar-injector --out "$out/certs" --ip 127.0.0.1 >/dev/null 2>&1
"$out/gen" -config >"$out/config.yaml" # the nginx sidecar, as the other benchmarks inject

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
wport=$(free_port)
fport=$(free_port)
pids=()
cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

(pin "$server_cpu" "$bin" webhook --config "$out/config.yaml" --tls-cert-file "$out/certs/tls.crt" --tls-key-file "$out/certs/tls.key" \
  --bind-address 127.0.0.1 --port "$wport" 2>"$out/webhook.log") &
wpid=$!
pids+=("$wpid")
load=("$out/webhook-load" -ca "$out/certs/ca.crt" -pod webhook/testdata/bench-pod.json -warmup "$warmup" -o "$out/results.jsonl")
"$out/webhook-load" -ca "$out/certs/ca.crt" -pod webhook/testdata/bench-pod.json -url "https://127.0.0.1:$wport/mutate" \
  -wait 15s -save-response "$out/response.json"
grep -q '"patch":"' "$out/response.json" || { echo "bench-webhook: the webhook did not inject the pod: $(cat "$out/response.json")" >&2; exit 1; }

(pin "$server_cpu" "$out/webhook-floor" -addr "127.0.0.1:$fport" -cert "$out/certs/tls.crt" -key "$out/certs/tls.key" \
  -response "$out/response.json" 2>"$out/floor.log") &
fpid=$!
pids+=("$fpid")
"$out/webhook-load" -ca "$out/certs/ca.crt" -pod webhook/testdata/bench-pod.json -url "https://127.0.0.1:$fport/mutate" \
  -wait 15s -save-response /dev/null

echo "Pod of $(wc -c <webhook/testdata/bench-pod.json) bytes, $dur per run after $warmup of warm-up; servers on CPU $server_cpu, load on CPU $load_cpu:"
for c in 1 16 64; do
  [[ $runs == *" closed "* ]] || break
  (pin "$load_cpu" "${load[@]}" -url "https://127.0.0.1:$fport/mutate" -c "$c" -d "$dur" -pid "$fpid" -label floor -check-uid=false)
  (pin "$load_cpu" "${load[@]}" -url "https://127.0.0.1:$wport/mutate" -c "$c" -d "$dur" -pid "$wpid" -label webhook)
done
# Latency below saturation: 16 connections paced to $rate req/s in all (a
# busy cluster creates far fewer pods than that).
for run in floor webhook; do
  [[ $runs == *" paced "* ]] || break
  if [ "$run" = floor ]; then url="https://127.0.0.1:$fport/mutate" pid=$fpid extra=-check-uid=false; else url="https://127.0.0.1:$wport/mutate" pid=$wpid extra=; fi
  (pin "$load_cpu" "${load[@]}" -url "$url" -c 16 -rate "$rate" -d "$dur" -pid "$pid" -label "$run" $extra)
done
if [[ $runs == *" soak "* ]]; then
  echo
  echo "Soak: the webhook at c=16 for $soak:"
  (pin "$load_cpu" "${load[@]}" -url "https://127.0.0.1:$wport/mutate" -c 16 -d "$soak" -pid "$wpid" -label soak)
fi
echo
"$out/webhook-load" -summarize "$out/results.jsonl"
injected=$(grep -c '"outcome":"injected"' "$out/webhook.log" || true)
echo
echo "The webhook logged $injected injections; $(grep -c '"level":"ERROR"' "$out/webhook.log" || true) errors."

if [ "${BENCH_MEMORY:-1}" != 0 ]; then
  # Each run starts its own webhook, unpinned: memory, not time, is measured.
  echo
  echo "Memory per byte of one review, no budget (GOGC 400, no GOMEMLIMIT):"
  "$out/webhook-memory" -bin "$bin" -c 1 -size 6000000 -shapes annotation,escaped,labels,annotations,strings,nesting,numbers -- --max-inflight-bytes=100000000000
  "$out/webhook-memory" -bin "$bin" -c 1 -size 38000 -shapes containers -- --max-inflight-bytes=100000000000
  "$out/webhook-memory" -bin "$bin" -c 1 -size 100000 -shapes containers -- --max-inflight-bytes=100000000000
  budget=$(sed -n 's/.*--max-inflight-bytes=\([0-9]*\).*/\1/p' examples/webhook/base/deployment.yaml)
  memlimit=$(grep -A1 'name: GOMEMLIMIT' examples/webhook/base/deployment.yaml | sed -n 's/.*value: *//p')
  echo
  echo "Peak RSS with the example Deployment's settings (GOMEMLIMIT=$memlimit, --max-inflight-bytes=$budget; limit 128Mi):"
  GOMEMLIMIT=$memlimit "$out/webhook-memory" -bin "$bin" -c 32 -size 6000000 -budget "$budget" -shapes annotation,escaped,labels,annotations,strings,nesting,numbers
  GOMEMLIMIT=$memlimit "$out/webhook-memory" -bin "$bin" -c 32 -size 250000 -budget "$budget" -shapes annotation,escaped,labels,annotations,strings,nesting,numbers
  GOMEMLIMIT=$memlimit "$out/webhook-memory" -bin "$bin" -c 32 -size 38000 -budget "$budget" -shapes containers
  GOMEMLIMIT=$memlimit "$out/webhook-memory" -bin "$bin" -c 32 -size 100000 -budget "$budget" -shapes containers
fi
if grep -q '"errors":[1-9]' "$out/results.jsonl"; then
  echo "bench-webhook: some runs had errors (see above)" >&2
  exit 1
fi
