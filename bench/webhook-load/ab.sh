#!/usr/bin/env bash
# ab.sh NAME=BINARY NAME=BINARY...: two or more builds of sidecar-injector
# against the floor (bench/webhook-floor) in one run, as hack/bench-webhook.sh
# runs one: same pod, config and certificates, servers on CPU 0 and the
# load on CPU 1, 16 connections in a closed loop for ROUNDS rounds (3),
# the servers alternating, then paced at 1000 req/s. For a change whose
# cost is to be judged by the load test (docs/BENCHMARKS.md), e.g.
#   mkdir /tmp/before && git archive HEAD~1 | tar -x -C /tmp/before
#   (cd /tmp/before && go build -o /tmp/before.bin ./cmd/sidecar-injector)
#   go build -o /tmp/after.bin ./cmd/sidecar-injector
#   bench/webhook-load/ab.sh before=/tmp/before.bin after=/tmp/after.bin
# DUR: seconds per run (15s).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.bench/webhook-ab
rm -rf "$out"; mkdir -p "$out"
dur=${DUR:-15s} rounds=${ROUNDS:-3}
for prog in ./bench/webhook-load ./bench/webhook-floor ./bench/gen; do
  CGO_ENABLED=0 go build -trimpath -o "$out/$(basename "$prog")" "$prog"
done
names=()
declare -A bin url pid
for arg in "$@"; do names+=("${arg%%=*}"); bin[${arg%%=*}]=${arg#*=}; done
"${bin[${names[0]}]}" certs --service s --namespace n --out "$out/certs" --ip 127.0.0.1 >/dev/null 2>&1
"$out/gen" -config >"$out/config.yaml"
pids=()
cleanup() { local p; for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
load=("$out/webhook-load" -ca "$out/certs/ca.crt" -pod webhook/testdata/bench-pod.json)
for n in "${names[@]}"; do
  port=$((port + 1))
  (exec taskset -c 0 "${bin[$n]}" webhook --config "$out/config.yaml" --tls-cert-file "$out/certs/tls.crt" --tls-key-file "$out/certs/tls.key" \
    --bind-address 127.0.0.1 --port "$port" 2>"$out/$n.log") &
  pid[$n]=$!; pids+=($!); url[$n]=https://127.0.0.1:$port/mutate
  "${load[@]}" -url "${url[$n]}" -wait 15s -save-response "$out/response.json"
done
port=$((port + 1))
(exec taskset -c 0 "$out/webhook-floor" -addr "127.0.0.1:$port" -cert "$out/certs/tls.crt" -key "$out/certs/tls.key" -response "$out/response.json" 2>"$out/floor.log") &
pid[floor]=$!; pids+=($!); url[floor]=https://127.0.0.1:$port/mutate
"${load[@]}" -url "${url[floor]}" -wait 15s -save-response /dev/null
run() { # run NAME ARGS...
  local extra=; [ "$1" = floor ] && extra=-check-uid=false
  (taskset -c 1 "${load[@]}" -warmup 2s -o "$out/results.jsonl" -url "${url[$1]}" -pid "${pid[$1]}" -label "$1" -d "$dur" $extra "${@:2}")
}
for r in $(seq "$rounds"); do
  for n in floor "${names[@]}"; do run "$n" -c 16; done
done
for n in floor "${names[@]}"; do run "$n" -c 16 -rate 1000; done
"$out/webhook-load" -summarize "$out/results.jsonl"
