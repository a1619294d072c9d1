#!/usr/bin/env bash
# Prints the path of a promtool binary at the pinned version, building it from the Go module proxy
# the first time (cached under ~/.cache/fks/tools/promtool-<version>/). Exit 3 when Go is missing.
# Used by tests/unit/monitoring to run `promtool check rules` on the chart's alerting rules.
#
# Prometheus' go.mod carries a replace directive, so `go install ...@version` refuses it; the
# binary is built inside a throw-away main module that repeats that directive.
set -euo pipefail
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.315.0}   # the Go module version (Prometheus 3.x)
CACHE=${FKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fks}
dir="$CACHE/tools/promtool-$PROMETHEUS_VERSION"
if [ ! -x "$dir/promtool" ]; then
  command -v go >/dev/null || { echo "go is missing: cannot build promtool $PROMETHEUS_VERSION" >&2; exit 3; }
  echo ">> building promtool $PROMETHEUS_VERSION from the Go module proxy (once; cached in $dir)" >&2
  start=$(date +%s)
  mkdir -p "$dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cd "$work"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  go mod init fks.local/promtool >/dev/null 2>&1
  go mod edit -require="github.com/prometheus/prometheus@$PROMETHEUS_VERSION"
  go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" >/dev/null
  upstream=$(go env GOMODCACHE)/cache/download/github.com/prometheus/prometheus/@v/$PROMETHEUS_VERSION.mod
  grep -E '^replace ' "$upstream" | sed 's/^replace //' | while read -r line; do
    go mod edit -replace="$(echo "$line" | sed 's/ => /=/; s/ \(v[^ ]*\)$/@\1/; s/ //g')"
  done
  go get "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" >&2
  # remove_all_sd: no service-discovery plugins (cloud SDKs, client-go): `check rules` needs none,
  # and they are most of the build
  go build -tags remove_all_sd -trimpath -ldflags "-s -w" -o "$dir/promtool" \
    github.com/prometheus/prometheus/cmd/promtool >&2
  echo ">> promtool built in $(( $(date +%s) - start ))s" >&2
fi
echo "$dir/promtool"
