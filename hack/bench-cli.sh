#!/usr/bin/env bash
# The offline CLI's whole-process benchmark (run by `make bench`, figures in
# docs/BENCHMARKS.md). Input: N opted-in Deployments (~40 lines each,
# bench/workload) as one YAML stream, for N = 1,000 and 10,000:
#   floor      bench/floor: kyaml reads the stream and writes it back unchanged
#   inject     sidecar-injector inject -c config.yaml -f -
#   kustomize  kustomize build with a strategic-merge patch adding the same
#              sidecar and volume to every Deployment
# Targets: inject within 1.3x of the floor's wall time and 1.5x of its peak
# RSS, and several times faster than kustomize. kustomize is run once at
# 10,000 (it takes about a quarter of an hour); BENCH_KUSTOMIZE_LARGE=0 skips it.
# Runs are interleaved round by round (bench/compare); medians are shown.
# BENCH_QUICK=1: 1,000 Deployments only, 3 rounds (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/bench-lib.sh
bench_out cli
bench_sizes
command -v kustomize >/dev/null || { echo "bench-cli: kustomize not on PATH (make tools)" >&2; exit 1; }

bench_build "$out" ./cmd/sidecar-injector ./bench/floor ./bench/gen ./bench/compare
"$out/gen" -config > "$out/config.yaml"

echo "kustomize: $(kustomize version); interleaved rounds, medians:"
echo
header=-header
for i in "${!sizes[@]}"; do
  n=${sizes[$i]}
  "$out/gen" -n "$n" -stream > "$out/in-$n.yaml"
  dir="$out/kustomize-$n"
  mkdir -p "$dir"
  cp "$out/in-$n.yaml" "$dir/deployments.yaml"
  cat > "$dir/kustomization.yaml" <<'YAML'
resources:
- deployments.yaml
patches:
- path: sidecar.yaml
  target:
    kind: Deployment
YAML
  {
    cat <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  template:
    spec:
YAML
    # The nginx set's containers and volumes from the example config,
    # moved from the set (column 4) into the pod spec (column 6).
    sed -n '/^  - name: nginx$/,/^        name: nginx-configmap$/p' examples/nginx/config.yaml |
      sed -n '/^    containers:$/,$p' | sed 's/^/  /'
  } > "$dir/sidecar.yaml"
  # Both contenders must really add the sidecar to every Deployment.
  got=$("$out/sidecar-injector" inject -q -c "$out/config.yaml" -f - < "$out/in-$n.yaml" | grep -c "name: sidecar-nginx$")
  [ "$got" = "$n" ] || { echo "bench-cli: inject added $got sidecars for $n Deployments" >&2; exit 1; }
  label="$n Deployments ($(du -k "$out/in-$n.yaml" | cut -f1) KiB)"
  if [ "$n" -le 1000 ]; then
    got=$(kustomize build "$dir" | grep -c "name: sidecar-nginx$")
    [ "$got" = "$n" ] || { echo "bench-cli: kustomize added $got sidecars for $n Deployments" >&2; exit 1; }
    "$out/compare" $header -rounds "${rounds[$i]}" -input "$out/in-$n.yaml" -label "$label" \
      floor="$out/floor" \
      inject="$out/sidecar-injector inject -q -c $out/config.yaml -f -" \
      kustomize="kustomize build $dir"
  else
    # kustomize grows about quadratically (15 minutes here for 10,000):
    # one run of it, with the floor beside it for the ratio; the same patch
    # was checked on 1,000 above.
    "$out/compare" $header -rounds "${rounds[$i]}" -input "$out/in-$n.yaml" -label "$label" \
      floor="$out/floor" \
      inject="$out/sidecar-injector inject -q -c $out/config.yaml -f -"
    if [ "${BENCH_KUSTOMIZE_LARGE:-1}" = 1 ]; then
      "$out/compare" -rounds 1 -input "$out/in-$n.yaml" -label "$label, 1 round" \
        floor="$out/floor" kustomize="timeout 3600 kustomize build $dir" | grep kustomize
    fi
  fi
  header=
done
