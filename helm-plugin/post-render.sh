#!/bin/sh
# Helm 4 runs this as the sidecar-injector post-renderer plugin: the chart's
# manifests on stdin, each --post-renderer-args as an argument; it runs the
# sidecar-injector found on PATH.
#
# Helm 4.3 throws away a post-renderer plugin's stderr and says only
# `plugin "sidecar-injector" exited with error`. So on failure the messages
# (which name the resource, the field and the chart template) are written
# where the user sees them: Helm's own stderr when it is a terminal or a
# pipe (Linux, /proc/$PPID/fd/2), else the terminal, else this stderr.
errors=$(mktemp) || exit 1
trap 'rm -f "$errors"' EXIT
if sidecar-injector inject -f - "$@" 2>"$errors"; then
  exit 0
else
  rc=$?
fi
helm_stderr=/proc/$PPID/fd/2
if { [ -p "$helm_stderr" ] || [ -c "$helm_stderr" ]; } && cat "$errors" >>"$helm_stderr" 2>/dev/null; then
  :
elif { cat "$errors" >/dev/tty; } 2>/dev/null; then
  :
else
  cat "$errors" >&2
fi
exit "$rc"
