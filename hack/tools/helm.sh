#!/usr/bin/env bash
# Prints the path of a helm binary at the pinned version, building it from the Go module proxy
# the first time (cached under ~/.cache/fks/tools/helm-<version>/). Exit 3 when Go is missing.
#
# Built like helm's own release binaries (its Makefile): the version, and the Kubernetes version
# of the client-go it is built with as the default for `helm template`, `helm install --dry-run`
# and `helm lint`'s deprecation checks (without it helm would assume Kubernetes 1.20).
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.21.4}
CACHE=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}
dir="$CACHE/tools/helm-$HELM_VERSION"
recipe=2  # bump when the build flags change: cached binaries of an older recipe are rebuilt
if [ ! -x "$dir/helm" ] || [ "$(cat "$dir/.recipe" 2>/dev/null)" != "$recipe" ]; then
  command -v go >/dev/null || { echo "go is missing: cannot build helm $HELM_VERSION" >&2; exit 3; }
  echo ">> building helm $HELM_VERSION from the Go module proxy (once; cached in $dir)" >&2
  start=$(date +%s)
  mkdir -p "$dir"
  export GOTOOLCHAIN=local CGO_ENABLED=0
  gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  clientgo=$(awk '$1 == "k8s.io/client-go" {print $2}' "$gomod")   # v0.36.2 -> Kubernetes 1.36
  minor=$(echo "$clientgo" | cut -d. -f2)
  [ -n "$minor" ] || { echo "cannot read k8s.io/client-go from $gomod" >&2; exit 1; }
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in pkg/chartutil pkg/lint/rules; do
    ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
  GOBIN="$dir" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  echo "$recipe" >"$dir/.recipe"
  echo ">> helm built in $(( $(date +%s) - start ))s (default Kubernetes version 1.$minor)" >&2
fi
echo "$dir/helm"
