#!/usr/bin/env bash
# Builds a local Debian bookworm + Python 3.11 base image with debootstrap and `docker import`,
# for machines that cannot pull from a registry. Users with registry access don't need this: the
# Dockerfiles default to the official python:3.11-slim image.
#
#   hack/docker/base-image.sh            # builds fks-local/python:3.11-bookworm once (cached)
#   BASE_IMAGE=... make images           # then pass it as the Dockerfiles' base-image build arg
set -euo pipefail
IMAGE=${FKS_LOCAL_BASE_IMAGE:-fks-local/python:3.11-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER=${DOCKER:-docker}

if $DOCKER image inspect "$IMAGE" >/dev/null 2>&1; then
  echo ">> base image $IMAGE already present"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

root=$(mktemp -d /var/tmp/fks-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo ">> debootstrap bookworm (minbase + python3) into $root — a few minutes"
start=$(date +%s)
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Slim it: no apt lists, docs, man pages or caches in the base.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
       "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*
echo ">> importing as $IMAGE"
tar -C "$root" -c . | $DOCKER import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo ">> $IMAGE built in $(( $(date +%s) - start ))s ($($DOCKER image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MiB", $1/1048576}'))"
