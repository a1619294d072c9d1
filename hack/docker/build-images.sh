#!/usr/bin/env bash
# Builds the two images, fks-executor:<version> and fks-operator:<version> (version from
# pyproject.toml), and prints their sizes. `make images` runs this. Each image installs only its
# program's dependencies (pyproject.toml's `executor` / `operator` group; docs/images.md).
#
# Environment:
#   BASE_IMAGE     the Dockerfiles' base image (default python:3.11-slim, pulled from Docker Hub).
#                  Without registry access: hack/docker/base-image.sh, then
#                  BASE_IMAGE=fks-local/python:3.11-bookworm.
#   FKS_BUILD_CA   a CA bundle pip inside the build must trust (TLS-intercepting proxy). Handed to
#                  the build as a BuildKit secret: used by pip, never stored in a layer. Default:
#                  the bundle the host's pip uses ($PIP_CERT) when set; FKS_BUILD_CA=none: none.
#   IMAGE_PREFIX   prepended to the image names, e.g. registry.example.com/fks/ (default none).
#   DOCKER         the docker client (default: the first of docker, /usr/bin/docker that can build
#                  with BuildKit; a client >= 23 needs the buildx plugin for that).
#   FKS_IMAGES     which images to build (default "executor operator"): Dockerfile.<name> each.
#   DOCKERFILE_DIR where the Dockerfiles are (default: the repository root, also the build
#                  context); tests/e2e/images holds the e2e suite's fake-exchange and redis.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- operator executor fake-exchange pyproject.toml 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
base=${BASE_IMAGE:-python:3.11-slim}
prefix=${IMAGE_PREFIX:-}

# A client that can run a BuildKit build: one with buildx, or an older one (< 23) whose built-in
# builder does BuildKit with DOCKER_BUILDKIT=1.
can_build() {
  "$1" buildx version >/dev/null 2>&1 && return 0
  local v
  v=$("$1" version --format '{{.Client.Version}}' 2>/dev/null) || return 1
  [ "${v%%.*}" -lt 23 ] 2>/dev/null
}
if [ -z "${DOCKER:-}" ]; then
  for candidate in docker /usr/bin/docker; do
    if command -v "$candidate" >/dev/null && can_build "$candidate"; then DOCKER=$candidate; break; fi
  done
  if [ -z "${DOCKER:-}" ]; then
    echo "no docker client that can build with BuildKit (install the buildx plugin)" >&2
    exit 3
  fi
fi

ca=${FKS_BUILD_CA:-${PIP_CERT:-}}
secret=()
if [ -n "$ca" ] && [ "$ca" != none ]; then
  [ -s "$ca" ] || { echo "FKS_BUILD_CA=$ca: no such file" >&2; exit 1; }
  secret=(--secret "id=ca,src=$ca")
fi

export DOCKER_BUILDKIT=1
for image in ${FKS_IMAGES:-executor operator}; do
  tag="${prefix}fks-$image:$version"
  echo ">> building $tag (${DOCKERFILE_DIR:-.}/Dockerfile.$image, base $base${secret:+, CA $ca})"
  start=$(date +%s)
  previous=$("$DOCKER" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  "$DOCKER" build --file "${DOCKERFILE_DIR:-.}/Dockerfile.$image" --tag "$tag" \
    --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
    "${secret[@]}" .
  echo ">> $tag built in $(( $(date +%s) - start ))s"
  # The image this tag named before, now untagged: remove it (kept when a container uses it).
  if [ -n "$previous" ] && [ "$previous" != "$("$DOCKER" image inspect --format '{{.Id}}' "$tag")" ]; then
    "$DOCKER" image rm "$previous" >/dev/null 2>&1 || true
  fi
done
echo ">> sizes"
for image in ${FKS_IMAGES:-executor operator}; do
  tag="${prefix}fks-$image:$version"
  "$DOCKER" image inspect --format '{{.Size}}' "$tag" \
    | awk -v t="$tag" '{printf "   %-40s %4.0f MB\n", t, $1 / 1e6}'
done
