#!/usr/bin/env bash
# Builds a local Debian bookworm + Python 3.11 base image with debootstrap and `docker import`,
# for machines that cannot pull from a registry. Users with registry access don't need this: the
# Dockerfiles default to the official python:3.11-slim image.
#
#   hack/docker/base-image.sh            # builds fks-local/python:3.11-bookworm once (cached)
#   BASE_IMAGE=... make images           # then pass it as the Dockerfiles' base-image build arg
#
# The image carries the label fks.base-recipe=$RECIPE; an image of the same name built by an
# older recipe (another label, or none) is rebuilt. Bump RECIPE when the recipe changes.
set -euo pipefail
IMAGE=${FKS_LOCAL_BASE_IMAGE:-fks-local/python:3.11-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DOCKER=${DOCKER:-docker}
RECIPE=2  # 2: without the downloaded .debs (45 MB) and glibc's iconv modules (8 MB)

present=$($DOCKER image inspect --format '{{index .Config.Labels "fks.base-recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$present" = "$RECIPE" ]; then
  echo ">> base image $IMAGE already present"
  exit 0
fi
[ -z "$present" ] || echo ">> base image $IMAGE is from recipe ${present:-unknown}: rebuilding (recipe $RECIPE)"
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

root=$(mktemp -d /var/tmp/fks-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo ">> debootstrap bookworm (minbase + python3) into $root — a few minutes"
start=$(date +%s)
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Slim it: no apt lists, downloaded packages, docs, man pages or caches in the base, and no
# glibc iconv modules (gconv: only iconv(3) loads them; Python's codecs are its own).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/* \
       "$root"/usr/lib/*-linux-gnu/gconv
echo ">> importing as $IMAGE"
tar -C "$root" -c . | $DOCKER import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' --change "LABEL fks.base-recipe=$RECIPE" - "$IMAGE" >/dev/null
echo ">> $IMAGE built in $(( $(date +%s) - start ))s ($($DOCKER image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MiB", $1/1048576}'))"
