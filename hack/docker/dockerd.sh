#!/usr/bin/env bash
# Makes sure a Docker engine answers. Starts Debian's dockerd (apt-get install docker.io) in the
# background when none runs and we are root; otherwise explains what is missing.
#   exit 0: `docker info` works;  exit 3: no engine can run here (callers skip image work).
#
# Where this machine's capability bounding set lacks a capability (a sandbox without
# CAP_SYS_RESOURCE), `docker run --privileged` fails in runc; dockerd is then started with
# hack/kind/fks-runc (a runc that drops the capabilities nobody here can hold) as its default
# runtime, so kind's privileged nodes start. docs/kind.md explains.
set -uo pipefail
DOCKER=${DOCKER:-docker}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if $DOCKER info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "no Docker engine: dockerd is not installed (Debian: apt-get install docker.io)" >&2
  exit 3
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "no Docker engine answers and starting dockerd needs root" >&2
  exit 3
fi
log=${FKS_DOCKERD_LOG:-/var/log/fks-dockerd.log}
args=()
last=$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null || echo 40)
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $((0x$bnd)) -ne $(((1 << (last + 1)) - 1)) ]; then
  # A stable copy: dockerd outlives this checkout's path (CI clones elsewhere).
  runtime_dir=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}/kind/bin
  mkdir -p "$runtime_dir"
  install -m 0755 "$HERE/../kind/fks-runc" "$runtime_dir/fks-runc"
  args+=(--add-runtime "fks-runc=$runtime_dir/fks-runc" --default-runtime fks-runc)
  echo ">> capability bounding set $bnd is not full: default runtime $runtime_dir/fks-runc"
fi
echo ">> starting dockerd (log: $log)"
nohup dockerd "${args[@]}" >"$log" 2>&1 &
for _ in $(seq 1 60); do
  $DOCKER info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "dockerd did not come up within 30s; last lines of $log:" >&2
tail -20 "$log" >&2
exit 3
