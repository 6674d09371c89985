#!/usr/bin/env bash
# Installs the tools the end-to-end tests and benchmarks run, pinned and
# cached under ${SIDECAR_INJECTOR_CACHE:-$HOME/.cache/sidecar-injector}:
#   bin/kustomize   kustomize CLI v5.8.2 (go install; kubectl's built-in
#                   kustomize cannot run exec functions)
#   kpt             must be on PATH (1.0.0-beta.56 is on machines of this kind)
#   k8s-*/          kube-apiserver and etcd for envtest (hack/install-envtest.sh)
#   bin/helm3, bin/helm4  Helm v3.22.0 and v4.3.1 (hack/install-helm.sh)
#   zsh, fish, bash-completion  from apt when missing, for the shell
#                   completion tests (root only; otherwise they must be there)
# Idempotent: a second run only checks versions. On a fresh machine the Helm
# builds run in the background while kube-apiserver builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SIDECAR_INJECTOR_CACHE:-$HOME/.cache/sidecar-injector}"
KUSTOMIZE_VERSION=v5.8.2
log() { printf 'install-tools: %s\n' "$*" >&2; }

mkdir -p "$CACHE/bin"
if ! "$CACHE/bin/kustomize" version 2>/dev/null | grep -q "$KUSTOMIZE_VERSION"; then
  log "installing kustomize $KUSTOMIZE_VERSION"
  GOBIN="$CACHE/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
log "kustomize: $("$CACHE/bin/kustomize" version)"

if command -v kpt >/dev/null; then
  log "kpt: $(kpt version)"
else
  log "error: kpt is not on PATH; it is expected on machines of this kind (1.0.0-beta.56)"
  exit 1
fi

# The completion e2e tests drive the real shells.
missing=()
command -v zsh >/dev/null || missing+=(zsh)
command -v fish >/dev/null || missing+=(fish)
[ -f /usr/share/bash-completion/bash_completion ] || missing+=(bash-completion)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} from apt"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "error: ${missing[*]} missing; install them (the shell completion tests run them)"
    exit 1
  fi
fi

"$ROOT/hack/install-helm.sh" &
helm_pid=$!
envtest_rc=0
"$ROOT/hack/install-envtest.sh" >/dev/null || envtest_rc=$?
helm_rc=0
wait "$helm_pid" || helm_rc=$?
[ "$envtest_rc" = 0 ] || { log "error: hack/install-envtest.sh failed"; exit 1; }
[ "$helm_rc" = 0 ] || { log "error: hack/install-helm.sh failed"; exit 1; }
