#!/usr/bin/env bash
# Prints the path of kind at the pinned version (hack/kind/versions.env), built once with
# `go install sigs.k8s.io/kind@<version>` into ${FKS_CACHE_DIR:-~/.cache/fks}/kind/bin.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
BIN=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}/kind/bin
kind=$BIN/kind-$KIND_VERSION
if [[ ! -x "$kind" ]]; then
  command -v go >/dev/null || { echo "kind: not on PATH and Go is missing to build it" >&2; exit 1; }
  mkdir -p "$BIN"
  echo "[kind] building sigs.k8s.io/kind@$KIND_VERSION into $BIN" >&2
  tmp=$(mktemp -d)
  GOBIN=$tmp GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath" \
    go install -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION" >&2
  mv -f "$tmp/kind" "$kind" && rmdir "$tmp"
fi
echo "$kind"
