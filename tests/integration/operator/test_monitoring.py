"""The ServiceMonitor is created only while monitoring.coreos.com/v1 is served: the operator
notices the CRD being installed (and removed) at run time, without a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster
from tests.integration.operator.conftest import Cluster, setup_pipeline

CRD_NAME = "servicemonitors.monitoring.coreos.com"
#: A minimal stand-in for prometheus-operator's CRD: same group, version, kind and scope.
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "plural": "servicemonitors",
            "singular": "servicemonitor",
            "kind": "ServiceMonitor",
            "listKind": "ServiceMonitorList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


@pytest.fixture
def no_service_monitor_crd(kube: KubeCluster) -> Iterator[None]:
    """The CRD is absent at the start of the test and removed again at its end."""
    kube.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--timeout=60s")
    yield
    kube.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--timeout=60s")


def test_service_monitor_appears_after_its_crd_is_installed(
    cluster: Cluster, no_service_monitor_crd: None
) -> None:
    setup_pipeline(
        cluster,
        monitoring={
            "serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prom"}}
        },
    )
    cluster.wait_ready("pipe")
    reconciled = cluster.condition("executionpipeline", "pipe", "Reconciled")
    assert reconciled["status"] == "True"
    assert (
        "ServiceMonitor skipped: the cluster does not serve monitoring.coreos.com/v1"
        in (reconciled["message"])
    )

    cluster.kube.kubectl("apply", "-f", "-", input=yaml.safe_dump(SERVICE_MONITOR_CRD))
    monitor = cluster.wait(
        lambda: cluster.get("servicemonitor", "pipe-executor"), "the ServiceMonitor", timeout=45
    )
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["metadata"]["ownerReferences"][0]["name"] == "pipe"
    assert monitor["spec"] == {
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "fks-executor",
                "app.kubernetes.io/instance": "pipe",
            }
        },
        "namespaceSelector": {"matchNames": [cluster.ns]},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
    }
    cluster.wait(
        lambda: (
            "skipped" not in cluster.condition("executionpipeline", "pipe", "Reconciled")["message"]
        ),
        "the Reconciled message to drop the note",
    )

    # Deleted by hand: restored. Disabled in the spec: deleted.
    cluster.kubectl("delete", "servicemonitor", "pipe-executor")
    cluster.wait(
        lambda: cluster.get("servicemonitor", "pipe-executor"), "the ServiceMonitor restored"
    )
    cluster.kubectl(
        "patch",
        "executionpipeline",
        "pipe",
        "--type=merge",
        "-p",
        '{"spec": {"monitoring": {"serviceMonitor": {"enabled": false}}}}',
    )
    cluster.wait(
        lambda: cluster.get("servicemonitor", "pipe-executor") is None,
        "the ServiceMonitor deleted once monitoring is disabled",
    )
