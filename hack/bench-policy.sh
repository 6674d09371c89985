#!/usr/bin/env bash
# Pod creation latency through a real kube-apiserver 1.36 with the
# generated MutatingAdmissionPolicy, with the webhook, and with neither:
# one server, one run, the three interleaved (bench/policy-latency).
# Prints a markdown table; docs/BENCHMARKS.md records it.
set -euo pipefail
cd "$(dirname "$0")/.."
n=300
[ -n "${BENCH_QUICK:-}" ] && n=30
assets="$(hack/install-envtest.sh)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
. hack/bench-lib.sh
bench_build "$dir" ./cmd/sidecar-injector ./bench/policy-latency
KUBEBUILDER_ASSETS="$assets" "$dir/policy-latency" -binary "$dir/sidecar-injector" -n "$n"
