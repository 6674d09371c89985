#!/usr/bin/env sh
# The render step of the CI job (github-workflow.yaml): builds source/ with
# the sidecar-injector KRM function into deploy/shop.yaml, which is
# committed and applied by Flux. Needs kustomize (v5) and sidecar-injector
# on PATH. Writes nothing when the build fails.
set -eu
cd "$(dirname "$0")"
kustomize build --enable-alpha-plugins --enable-exec source > deploy/shop.yaml.tmp || {
  rm -f deploy/shop.yaml.tmp
  exit 1
}
mv deploy/shop.yaml.tmp deploy/shop.yaml
