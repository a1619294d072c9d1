#!/usr/bin/env bash
# Prints the directory holding prometheus-operator's CRDs (monitoring.coreos.com_*.yaml) at the
# pinned version, fetched once as a Go module through the Go module proxy (checksum-verified by
# sum.golang.org like any module). The chart's integration tests install the ServiceMonitor and
# PrometheusRule CRDs from there to validate the chart's objects against the real schemas.
# Exit 3 when Go is missing.
set -euo pipefail
VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
command -v go >/dev/null || { echo "go is missing: cannot fetch prometheus-operator $VERSION" >&2; exit 3; }
dir=$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json \
  "github.com/prometheus-operator/prometheus-operator@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
crds="$dir/example/prometheus-operator-crd"
[ -f "$crds/monitoring.coreos.com_servicemonitors.yaml" ] || { echo "no CRDs in $crds" >&2; exit 1; }
echo "$crds"
