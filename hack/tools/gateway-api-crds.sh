#!/usr/bin/env bash
# Prints the directory holding the Gateway API's standard-channel CRDs
# (gateway.networking.k8s.io_*.yaml) at the pinned version, fetched once as a Go module through
# the Go module proxy (checksum-verified by sum.golang.org like any module; cached in the Go
# module cache). The operator's integration tests install the HTTPRoute CRD from there to test
# spec.webhook.expose.gateway against the real schema, with the API present and absent.
# Exit 3 when Go is missing.
set -euo pipefail
VERSION=${GATEWAY_API_VERSION:-v1.3.0}
command -v go >/dev/null || { echo "go is missing: cannot fetch the Gateway API $VERSION" >&2; exit 3; }
dir=$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json \
  "sigs.k8s.io/gateway-api@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
crds="$dir/config/crd/standard"
[ -f "$crds/gateway.networking.k8s.io_httproutes.yaml" ] || { echo "no CRDs in $crds" >&2; exit 1; }
echo "$crds"
