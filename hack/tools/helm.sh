#!/usr/bin/env bash
# Prints the path of a helm binary at the pinned version, building it from the Go module proxy
# the first time (cached under ~/.cache/fks/tools/helm-<version>/). Exit 3 when Go is missing.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.21.4}
CACHE=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}
dir="$CACHE/tools/helm-$HELM_VERSION"
if [ ! -x "$dir/helm" ]; then
  command -v go >/dev/null || { echo "go is missing: cannot build helm $HELM_VERSION" >&2; exit 3; }
  echo ">> building helm $HELM_VERSION from the Go module proxy (once; cached in $dir)" >&2
  start=$(date +%s)
  mkdir -p "$dir"
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$dir" \
    go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  echo ">> helm built in $(( $(date +%s) - start ))s" >&2
fi
echo "$dir/helm"
