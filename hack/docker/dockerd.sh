#!/usr/bin/env bash
# Makes sure a Docker engine answers. Starts Debian's dockerd (apt-get install docker.io) in the
# background when none runs and we are root; otherwise explains what is missing.
#   exit 0: `docker info` works;  exit 3: no engine can run here (callers skip image work).
set -uo pipefail
DOCKER=${DOCKER:-docker}
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
echo ">> starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  $DOCKER info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "dockerd did not come up within 30s; last lines of $log:" >&2
tail -20 "$log" >&2
exit 3
