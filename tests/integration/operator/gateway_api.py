"""The Gateway API's real CRDs for tests: fetched once as a Go module through the Go module
proxy by hack/tools/gateway-api-crds.sh (cached in the Go module cache)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "hack" / "tools" / "gateway-api-crds.sh"
HTTP_ROUTE_CRD = "httproutes.gateway.networking.k8s.io"


def crd_file(plural: str = "httproutes") -> Path:
    """The standard-channel CRD file of ``plural`` (skips the test when Go is missing)."""
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False, timeout=600)
    if result.returncode == 3:
        pytest.skip(f"no Gateway API CRDs: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1]) / f"gateway.networking.k8s.io_{plural}.yaml"
