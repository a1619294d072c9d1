"""The CRDs in crds/ are served by a real API server and their CEL rules reject bad objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster

CRD_DIR = Path(__file__).resolve().parents[3] / "crds"
ACCOUNTS = "exchangeaccounts.execution.fks.io"
PIPELINES = "executionpipelines.execution.fks.io"


def crd_files() -> list[Path]:
    return sorted(p for p in CRD_DIR.glob("*.y*ml") if p.is_file())


@pytest.fixture(scope="module")
def crds(kube: KubeCluster) -> list[str]:
    """Apply every CRD in crds/ (left installed: other tests of the session use them too)."""
    files = crd_files()
    if not files:
        pytest.skip(f"crds/ is empty: no CRD YAML in {CRD_DIR} to test yet")
    names = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                names.append(doc["metadata"]["name"])
        kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    for name in names:
        kube.wait_established(name)
    return names


def account(name: str, **spec: object) -> str:
    body = {"apiVersion": "execution.fks.io/v1alpha1", "kind": "ExchangeAccount",
            "metadata": {"name": name}, "spec": {"exchange": "binance", **spec}}  # fmt: skip
    return json.dumps(body)


def pipeline(name: str, **spec: object) -> str:
    body = {
        "apiVersion": "execution.fks.io/v1alpha1",
        "kind": "ExecutionPipeline",
        "metadata": {"name": name},
        "spec": {
            "accounts": [{"name": "main"}],
            "webhook": {"secretRef": {"name": "hook"}},
            **spec,
        },
    }
    return json.dumps(body)


def create(kube: KubeCluster, namespace: str, manifest: str) -> None:
    kube.kubectl("create", "-n", namespace, "-f", "-", input=manifest)


def rejected(kube: KubeCluster, namespace: str, manifest: str) -> str:
    """Create ``manifest`` expecting the API server to refuse it; returns the error text."""
    result = kube.kubectl("create", "-n", namespace, "-f", "-", input=manifest, check=False)
    assert result.returncode != 0, f"the API server accepted an invalid object:\n{manifest}"
    assert "is invalid" in result.stderr, result.stderr
    return result.stderr


def test_every_crd_in_crds_dir_is_established_and_served(
    kube: KubeCluster, crds: list[str], namespace: str
) -> None:
    assert {ACCOUNTS, PIPELINES} <= set(crds), f"CRDs found in crds/: {crds}"
    resources = kube.kubectl("api-resources", "--api-group=execution.fks.io", "-o", "name").stdout
    assert set(resources.split()) >= {ACCOUNTS, PIPELINES}
    # The `fks` category lists both kinds; empty namespace -> no error, nothing found.
    listed = kube.kubectl("get", "fks", "-n", namespace)
    assert listed.returncode == 0
    assert "No resources found" in listed.stderr


def test_valid_exchange_account_is_accepted_with_defaults(
    kube: KubeCluster, crds: list[str], namespace: str
) -> None:
    create(kube, namespace, account("testnet"))
    spec = kube.kubectl_json("get", "exchangeaccount", "testnet", "-n", namespace)["spec"]
    assert spec["exchange"] == "binance"
    assert spec["environment"] == "testnet"
    assert spec["acknowledgeLiveTrading"] is False
    assert spec["marketType"] == "spot"


def test_live_account_requires_acknowledgement(
    kube: KubeCluster, crds: list[str], namespace: str
) -> None:
    error = rejected(kube, namespace, account("live", environment="live"))
    assert "set acknowledgeLiveTrading: true to confirm" in error
    assert "spec.acknowledgeLiveTrading" in error  # the CEL rule's fieldPath

    error = rejected(
        kube, namespace, account("live", environment="live", acknowledgeLiveTrading=False)
    )
    assert "acknowledgeLiveTrading: true to confirm" in error

    create(kube, namespace, account("live", environment="live", acknowledgeLiveTrading=True))
    spec = kube.kubectl_json("get", "exchangeaccount", "live", "-n", namespace)["spec"]
    assert (spec["environment"], spec["acknowledgeLiveTrading"]) == ("live", True)


def test_exchange_is_immutable_but_other_fields_are_not(
    kube: KubeCluster, crds: list[str], namespace: str
) -> None:
    create(kube, namespace, account("acct"))
    result = kube.kubectl(
        "patch", "exchangeaccount", "acct", "-n", namespace, "--type=merge",
        "-p", '{"spec": {"exchange": "bybit"}}', check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "exchange is immutable" in result.stderr, result.stderr
    kube.kubectl("patch", "exchangeaccount", "acct", "-n", namespace, "--type=merge",
                 "-p", '{"spec": {"marketType": "swap"}}')  # fmt: skip
    spec = kube.kubectl_json("get", "exchangeaccount", "acct", "-n", namespace)["spec"]
    assert (spec["exchange"], spec["marketType"]) == ("binance", "swap")


def test_schema_rejects_malformed_exchange_account(
    kube: KubeCluster, crds: list[str], namespace: str
) -> None:
    assert "spec.exchange" in rejected(kube, namespace, account("bad", exchange="Binance!"))
    assert "spec.environment" in rejected(kube, namespace, account("bad", environment="prod"))


def test_pipeline_cel_rules(kube: KubeCluster, crds: list[str], namespace: str) -> None:
    create(kube, namespace, pipeline("single"))
    error = rejected(kube, namespace, pipeline("scaled", replicas=2))
    assert "state.backend must be redis when replicas > 1" in error
    error = rejected(kube, namespace, pipeline("p" * 55))
    assert "at most 54 characters" in error
    error = rejected(kube, namespace, pipeline("two", accounts=[{"name": "a"}, {"name": "b"}]))
    assert "exactly one account must have default: true" in error
