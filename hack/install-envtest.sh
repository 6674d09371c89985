#!/usr/bin/env bash
# Installs (once, cached) the kube-apiserver and etcd binaries that the
# envtest-based end-to-end tests need, and prints the assets directory:
#
#   export KUBEBUILDER_ASSETS="$(hack/install-envtest.sh)"
#
# Only that path goes to stdout; everything else goes to stderr.
#
# Cache: ${SIDECAR_INJECTOR_CACHE:-$HOME/.cache/sidecar-injector}/k8s-<version>/
#   kube-apiserver  built from k8s.io/kubernetes via hack/tools (version from
#                   hack/tools/go.mod); ~6.5 min on 2 cores, only when missing.
#   etcd            copied from Debian's etcd-server package (installed with
#                   apt-get when no etcd is on the machine, its service kept
#                   from running), or, without apt/root, built from
#                   go.etcd.io/etcd/server/v3 via hack/tools.
#
# Idempotent: a second run only checks the two binaries' versions (<1 s).
# Safe to interrupt: binaries are built to a temporary name and renamed.
# Binaries never go into the work tree.
set -euo pipefail

# Everything but the final path goes to stderr.
exec 3>&1 1>&2

log() { printf 'install-envtest: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/hack/tools"
GO="${GO:-go}"
command -v "$GO" >/dev/null 2>&1 || GO=/usr/local/go/bin/go

K8S_VERSION="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$TOOLS/go.mod")"
[[ "$K8S_VERSION" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]] ||
  die "cannot read the k8s.io/kubernetes version from $TOOLS/go.mod (got '$K8S_VERSION')"
K8S_MAJOR="${BASH_REMATCH[1]}"
K8S_MINOR="${BASH_REMATCH[2]}"

CACHE="${SIDECAR_INJECTOR_CACHE:-$HOME/.cache/sidecar-injector}"
mkdir -p "$CACHE/k8s-$K8S_VERSION"
CACHE="$(cd "$CACHE" && pwd)" # absolute: GOCACHE must be
ASSETS="$CACHE/k8s-$K8S_VERSION"

# One installer at a time per version (the lock lives outside the assets dir).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/k8s-$K8S_VERSION.lock"
  if ! flock -n 9; then
    log "waiting for another install-envtest.sh run ($CACHE/k8s-$K8S_VERSION.lock)"
    flock 9
  fi
fi

# Leftovers of a killed run (safe: we hold the lock for this version).
rm -f "$ASSETS"/.*.tmp.* 2>/dev/null || true
for d in "$CACHE/.gocache-k8s-$K8S_VERSION".*; do
  [ -d "$d" ] || continue
  log "removing the build cache a killed run left: $d"
  chmod -R u+w "$d" 2>/dev/null || true
  rm -rf "$d"
done

GOCACHE_TMP=""
BUILD_PID=""
POLICY_RC_D_CREATED=""
TMP_FILES=()
cleanup() {
  local f
  if [ -n "$BUILD_PID" ] && kill -0 "$BUILD_PID" 2>/dev/null; then
    log "interrupted: stopping the build"
    kill "$BUILD_PID" 2>/dev/null || true
    wait "$BUILD_PID" 2>/dev/null || true
  fi
  for f in "${TMP_FILES[@]+"${TMP_FILES[@]}"}"; do rm -f "$f"; done
  if [ -n "$GOCACHE_TMP" ]; then
    # The Go build cache has read-only files; make them removable first.
    chmod -R u+w "$GOCACHE_TMP" 2>/dev/null || true
    rm -rf "$GOCACHE_TMP"
  fi
  if [ -n "$POLICY_RC_D_CREATED" ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s; }

# go_build OUT PKG [LDFLAGS]: build PKG from the tools module into OUT,
# atomically, with a throwaway build cache shared by this run's builds.
go_build() {
  local out="$1" pkg="$2" ldflags="${3:-}" tmp start
  command -v "$GO" >/dev/null 2>&1 || die "go not found (set GO=/path/to/go)"
  if [ -z "$GOCACHE_TMP" ]; then
    # In the cache dir rather than /tmp: ~2.2 GB (too much for a tmpfs /tmp),
    # and a run killed with SIGKILL leaves it where the next run removes it.
    GOCACHE_TMP="$(mktemp -d "$CACHE/.gocache-k8s-$K8S_VERSION.XXXXXX")"
  fi
  tmp="$(mktemp "$ASSETS/.$(basename "$out").tmp.XXXXXX")"
  TMP_FILES+=("$tmp")
  start="$(now)"
  log "building $pkg (GOCACHE=$GOCACHE_TMP, deleted afterwards) ..."
  # In the background + wait, so that an INT/TERM sent to this script alone
  # runs the cleanup trap at once instead of after the build.
  # -mod=readonly: hack/tools/go.{mod,sum} are committed tidy; never edit them here.
  (
    cd "$TOOLS"
    exec env GOCACHE="$GOCACHE_TMP" GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off \
      CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg"
  ) &
  BUILD_PID=$!
  wait "$BUILD_PID" || die "go build $pkg failed"
  BUILD_PID=""
  chmod 0755 "$tmp"
  mv -f "$tmp" "$out"
  log "built $out in $(( $(now) - start ))s"
}

# -------------------------------------------------------------------------- etcd
ETCD="$ASSETS/etcd"
# etcd_ok BIN: BIN runs and is etcd >= 3.4 (what kube-apiserver 1.3x needs).
etcd_ok() {
  local v
  [ -x "$1" ] || return 1
  v="$("$1" --version 2>/dev/null | awk '/^etcd Version:/ { print $3; exit }')" || return 1
  [[ "$v" =~ ^3\.([0-9]+)\. ]] && [ "${BASH_REMATCH[1]}" -ge 4 ]
}

# install_etcd_deb: apt-get install etcd-server without letting its service run.
install_etcd_deb() {
  local was_installed=""
  [ "$(id -u)" = 0 ] || { log "not root: skipping apt-get"; return 1; }
  command -v apt-get >/dev/null 2>&1 || { log "apt-get not found"; return 1; }
  case "$(dpkg-query -W -f='${Status}' etcd-server 2>/dev/null || true)" in
    *"install ok installed"*) was_installed=1 ;;
  esac

  # The package's postinst starts the etcd service (sysvinit or systemd):
  # deny service starts for the duration of the install, the Debian way.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from sidecar-injector hack/install-envtest.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    POLICY_RC_D_CREATED=1
  fi
  log "apt-get update && apt-get install -y etcd-server"
  local ok=1
  if ! DEBIAN_FRONTEND=noninteractive apt-get update -q; then
    log "apt-get update failed"; ok=""
  elif ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Use-Pty=0 etcd-server; then
    log "apt-get install etcd-server failed"; ok=""
  fi
  if [ -n "$POLICY_RC_D_CREATED" ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_D_CREATED=""; fi
  [ -n "$ok" ] || return 1

  if [ -z "$was_installed" ]; then
    # We only want the binary: keep the system service from starting at boot
    # and stop it if an existing policy let it start (it would hold 2379/2380;
    # envtest picks free ports anyway, but nothing should run behind our back).
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now etcd.service >/dev/null 2>&1 || true
    else
      if pgrep -u etcd -x etcd >/dev/null 2>&1; then
        log "stopping the etcd service the package started"
        /etc/init.d/etcd stop >/dev/null 2>&1 || true
      fi
      if command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d etcd disable >/dev/null 2>&1 || true
      fi
    fi
    if pgrep -u etcd -x etcd >/dev/null 2>&1; then
      log "warning: a system etcd is still running (harmless for envtest, which picks free ports)"
    fi
  fi
  return 0
}

# copy_etcd SRC: copy SRC into the assets dir atomically.
copy_etcd() {
  local tmp
  tmp="$(mktemp "$ASSETS/.etcd.tmp.XXXXXX")"
  TMP_FILES+=("$tmp")
  cp -f "$1" "$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$ETCD"
  log "etcd: copied $1 ($("$ETCD" --version | awk '/^etcd Version:/ { print $3; exit }'))"
}

if etcd_ok "$ETCD"; then
  log "etcd $("$ETCD" --version | awk '/^etcd Version:/ { print $3; exit }'): cached"
else
  src=""
  for c in "$(command -v etcd 2>/dev/null || true)" /usr/bin/etcd /usr/local/bin/etcd; do
    if [ -n "$c" ] && etcd_ok "$c"; then src="$c"; break; fi
  done
  if [ -z "$src" ] && install_etcd_deb && etcd_ok /usr/bin/etcd; then
    src=/usr/bin/etcd
  fi
  if [ -n "$src" ]; then
    copy_etcd "$src"
  else
    log "etcd: no usable etcd from the system; building go.etcd.io/etcd/server/v3 from hack/tools"
    go_build "$ETCD" go.etcd.io/etcd/server/v3
    etcd_ok "$ETCD" || die "built etcd does not run"
  fi
fi

# ---------------------------------------------------------------- kube-apiserver
APISERVER="$ASSETS/kube-apiserver"
apiserver_ok() {
  [ -x "$APISERVER" ] && [ "$("$APISERVER" --version 2>/dev/null || true)" = "Kubernetes $K8S_VERSION" ]
}
if apiserver_ok; then
  log "kube-apiserver $K8S_VERSION: cached"
else
  [ -e "$APISERVER" ] && log "kube-apiserver: $("$APISERVER" --version 2>&1 || true) is not $K8S_VERSION; rebuilding"
  log "kube-apiserver $K8S_VERSION: building from k8s.io/kubernetes (takes ~6-7 min on 2 cores, ~2.5 GB RAM)"
  ld=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean"
  done
  go_build "$APISERVER" k8s.io/kubernetes/cmd/kube-apiserver "$ld"
  apiserver_ok || die "built kube-apiserver reports '$("$APISERVER" --version 2>&1 || true)', want 'Kubernetes $K8S_VERSION'"
fi

log "assets ready in $ASSETS"
printf '%s\n' "$ASSETS" >&3
