"""Every manifest the chart renders, for every value set, is accepted by the real API server
(server-side dry-run apply: schema, strict field validation, admission, CEL). (promtool checks
the alert rules in tests/integration/monitoring.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.kube_cluster import KubeCluster
from tests.integration.packaging.conftest import apply_docs
from tests.unit.chart.helm import VALUE_SETS, kinds, render


def values_for(name: str, watched: list[str]) -> dict[str, Any]:
    values = dict(VALUE_SETS[name])
    if "watchNamespaces" in values:
        values["watchNamespaces"] = watched  # real namespaces of this test
    return values


@pytest.mark.parametrize("name", sorted(set(VALUE_SETS) - {"monitoring"}))
def test_every_rendered_manifest_is_accepted(
    kube: KubeCluster,
    namespace: str,
    make_namespace: Callable[[str], str],
    chart_crds: list[str],
    name: str,
) -> None:
    watched = [make_namespace("watched"), make_namespace("watched")]
    docs = render(values_for(name, watched), namespace=namespace)
    out = apply_docs(kube, [d.text for d in docs], "--dry-run=server")
    for doc in docs:
        assert f"{doc.name} serverside-applied (server dry run)" in out, (doc.kind, out)
    assert out.count("serverside-applied (server dry run)") == len(docs)


def test_monitoring_objects_are_accepted_by_prometheus_operator_crds(
    kube: KubeCluster, namespace: str, chart_crds: list[str], monitoring_crds: list[str]
) -> None:
    docs = render("monitoring", namespace=namespace)
    assert kinds(docs, "ServiceMonitor")
    assert kinds(docs, "PrometheusRule")
    out = apply_docs(kube, [d.text for d in docs], "--dry-run=server")
    assert out.count("serverside-applied (server dry run)") == len(docs), out


def test_whole_chart_applies_for_real(
    kube: KubeCluster,
    namespace: str,
    make_namespace: Callable[[str], str],
    chart_crds: list[str],
) -> None:
    """Not only dry-run: applied, the Deployment rolls out (kwok plays the kubelet) under the
    restricted Pod Security Standard enforced on its namespace."""
    kube.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    watched = [make_namespace("watched"), make_namespace("watched")]
    values = {"fullnameOverride": f"fks-{namespace[-6:]}", "watchNamespaces": watched}
    docs = [d for d in render(values, namespace=namespace) if d.kind != "CustomResourceDefinition"]
    try:
        apply_docs(kube, [d.text for d in docs])
        deployment = f"deployment/fks-{namespace[-6:]}"
        kube.kubectl("rollout", "status", deployment, "-n", namespace, "--timeout=60s", timeout=90)
        pods = kube.kubectl_json("get", "pods", "-n", namespace)["items"]
        assert len(pods) == 1
        assert pods[0]["status"]["phase"] == "Running"
    finally:
        for doc in docs:
            if doc.namespace is None:  # cluster-scoped: not removed with the namespace
                kube.kubectl(
                    "delete", doc.kind.lower(), doc.name, "--ignore-not-found", check=False
                )
