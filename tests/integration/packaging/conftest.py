"""Fixtures of the packaging tests: the chart's CRDs and prometheus-operator's CRDs installed on
the real local control plane, and namespaces made on demand."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster
from tests.unit.chart.helm import REPO, kinds, prebuild_helm, render

PROMETHEUS_CRDS_SCRIPT = REPO / "hack" / "tools" / "prometheus-operator-crds.sh"
MONITORING_CRDS = ("servicemonitors", "prometheusrules")


@pytest.fixture(scope="session")
def chart_crds(kube: KubeCluster) -> list[str]:
    """The CRDs as the chart renders them, applied (server-side) and Established."""
    names = []
    for doc in kinds(render("defaults"), "CustomResourceDefinition"):
        kube.apply(doc.text)
        names.append(doc.name)
    for name in names:
        kube.wait_established(name)
    return names


def prometheus_operator_crds() -> dict[str, Path]:
    """prometheus-operator's ServiceMonitor and PrometheusRule CRD files (a Go module)."""
    result = subprocess.run(
        [str(PROMETHEUS_CRDS_SCRIPT)], capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode == 3:
        pytest.skip(f"no prometheus-operator CRDs: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    directory = Path(result.stdout.strip().splitlines()[-1])
    return {
        plural: directory / f"monitoring.coreos.com_{plural}.yaml" for plural in MONITORING_CRDS
    }


@pytest.fixture
def monitoring_crds(kube: KubeCluster) -> Iterator[list[str]]:
    """prometheus-operator's real ServiceMonitor and PrometheusRule CRDs, for one test. Ones this
    fixture installed are removed afterwards (other tests expect a cluster without them)."""
    installed = []
    names = []
    for plural, path in prometheus_operator_crds().items():
        name = f"{plural}.monitoring.coreos.com"
        names.append(name)
        if kube.kubectl("get", "crd", name, check=False).returncode != 0:
            kube.kubectl("apply", "--server-side", "-f", str(path), timeout=120)
            installed.append(name)
        kube.wait_established(name)
    yield names
    for name in installed:
        kube.kubectl("delete", "crd", name, "--ignore-not-found", "--timeout=60s", check=False)


@pytest.fixture
def make_namespace(kube: KubeCluster) -> Iterator[Callable[[str], str]]:
    """Creates extra namespaces (``<prefix>-<random>``) for one test; deleted afterwards."""
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}-{secrets.token_hex(3)}"
        kube.kubectl("create", "namespace", name)
        kube.kubectl("label", "namespace", name, "fks.io/test=true")
        made.append(name)
        return name

    yield make
    for name in made:
        kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def apply_docs(kube: KubeCluster, texts: list[str], *extra: str) -> str:
    """``kubectl apply --server-side`` of several manifests at once; returns kubectl's output."""
    stream = "\n---\n".join(texts)
    return kube.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=fks-chart-tests",
        *extra, "-f", "-", input=stream, timeout=120,
    ).stdout  # fmt: skip


def dump(obj: object) -> str:
    return yaml.safe_dump(obj, sort_keys=False)


def pytest_collection_finish(session: pytest.Session) -> None:
    """helm is built (once per machine) before the tests start, not inside one's timeout."""
    prebuild_helm(session)
