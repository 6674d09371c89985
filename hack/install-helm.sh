#!/usr/bin/env bash
# Builds (once, cached) the two Helm versions the end-to-end tests run, from
# the Go module proxy, into ${SIDECAR_INJECTOR_CACHE:-$HOME/.cache/sidecar-injector}/bin:
#
#   helm3   helm.sh/helm/v3/cmd/helm@v3.22.0   (post-renderer: an executable)
#   helm4   helm.sh/helm/v4/cmd/helm@v4.3.1    (post-renderer: a plugin)
#
# Both are built in parallel, only when missing or of another version:
# about 15 CPU-minutes for the two (so ~8 minutes on 2 idle cores; measured
# 54 minutes on 2 cores shared with four other builds), ~1 GB of throwaway
# build cache; a second run only asks each binary its version (~1 s). The version is stamped with -ldflags
# as Helm's own Makefile does, so `helm version` and .Capabilities.HelmVersion
# say what a released binary says. Safe to interrupt: binaries are built to
# a temporary name and renamed; the throwaway build cache is removed.
set -euo pipefail

HELM3_VERSION=v3.22.0
HELM4_VERSION=v4.3.1

log() { printf 'install-helm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

GO="${GO:-go}"
command -v "$GO" >/dev/null 2>&1 || GO=/usr/local/go/bin/go
CACHE="${SIDECAR_INJECTOR_CACHE:-$HOME/.cache/sidecar-injector}"
mkdir -p "$CACHE/bin"
CACHE="$(cd "$CACHE" && pwd)" # absolute: GOCACHE and GOBIN must be

# One installer at a time (two `make e2e` started together wait here).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/helm.lock"
  if ! flock -n 9; then
    log "waiting for another install-helm.sh run ($CACHE/helm.lock)"
    flock 9
  fi
fi

# helm_ok BIN VERSION: BIN runs and says it is VERSION.
helm_ok() {
  [ -x "$1" ] && [ "$("$1" version --template '{{.Version}}' 2>/dev/null || true)" = "$2" ]
}

# Leftovers of a killed run (safe: we hold the lock).
for d in "$CACHE"/.helm-build.*; do
  [ -e "$d" ] || continue
  chmod -R u+w "$d" 2>/dev/null || true
  rm -rf "$d"
done

WORK=""
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$WORK" ]; then
    # The Go build cache has read-only files; make them removable first.
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# build NAME MAJOR VERSION: go install helm.sh/helm/vMAJOR/cmd/helm@VERSION
# into $CACHE/bin/NAME, through a temporary GOBIN and a rename.
build() {
  local name="$1" major="$2" version="$3" mod="helm.sh/helm/v$2" start out
  start="$(date +%s)"
  out="$WORK/bin-$name"
  mkdir -p "$out"
  local ld="-s -w -X $mod/internal/version.version=$version -X $mod/internal/version.gitTreeState=clean"
  if [ "$major" = 3 ]; then
    # Helm 3's Makefile also stamps the Kubernetes version its client-go
    # stands for (client-go v0.37 is Kubernetes 1.37), the default of
    # .Capabilities.KubeVersion in `helm template`.
    for p in pkg/lint/rules pkg/chartutil; do
      ld+=" -X $mod/$p.k8sVersionMajor=1 -X $mod/$p.k8sVersionMinor=37"
    done
  fi
  log "building $mod/cmd/helm@$version ..."
  env GOBIN="$out" GOCACHE="$WORK/gocache" GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off CGO_ENABLED=0 \
    "$GO" install -trimpath -ldflags "$ld" "$mod/cmd/helm@$version" || return 1
  mv -f "$out/helm" "$CACHE/bin/$name"
  log "built $CACHE/bin/$name ($version) in $(( $(date +%s) - start ))s"
}

todo=()
helm_ok "$CACHE/bin/helm3" "$HELM3_VERSION" || todo+=("helm3 3 $HELM3_VERSION")
helm_ok "$CACHE/bin/helm4" "$HELM4_VERSION" || todo+=("helm4 4 $HELM4_VERSION")
if [ "${#todo[@]}" -gt 0 ]; then
  # In the cache dir rather than /tmp: ~1 GB of build cache (too much for
  # a tmpfs /tmp); shared by the two builds, removed afterwards.
  WORK="$(mktemp -d "$CACHE/.helm-build.XXXXXX")"
  for t in "${todo[@]}"; do
    # shellcheck disable=SC2086 # t holds three words on purpose
    build $t &
    PIDS+=("$!")
  done
  failed=""
  for p in "${PIDS[@]}"; do wait "$p" || failed=1; done
  PIDS=()
  [ -z "$failed" ] || die "building Helm failed"
fi
helm_ok "$CACHE/bin/helm3" "$HELM3_VERSION" || die "$CACHE/bin/helm3 is not Helm $HELM3_VERSION"
helm_ok "$CACHE/bin/helm4" "$HELM4_VERSION" || die "$CACHE/bin/helm4 is not Helm $HELM4_VERSION"
log "helm3 $HELM3_VERSION, helm4 $HELM4_VERSION: ready in $CACHE/bin"
