"""The operator works with exactly the RBAC documented in docs/operator.md (what the Helm chart
must grant; tests/unit/chart/test_rbac.py keeps the chart equal to it), running as a
ServiceAccount: cluster-wide with a ClusterRole, or restricted to namespaces with Roles there plus
a ClusterRole for the cluster-scoped reads only. Nothing it does is forbidden."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster
from tests.integration.operator.conftest import Cluster, Operator, secret, setup_pipeline
from tests.unit.chart import rbac_docs

DOCUMENTED = rbac_docs.table(rbac_docs.OPERATOR_MD)
#: Namespaced rules: the same whether granted by a ClusterRole or a Role per namespace.
NAMESPACED_RULES: list[dict[str, Any]] = [r.rule() for r in DOCUMENTED if not r.cluster_scoped]
#: Cluster-scoped: always a ClusterRole (even when the namespaced rules are Roles); namespaces
#: only when the operator is restricted to some (kopf follows them), as the chart does.
CLUSTER_RULES: dict[str, list[dict[str, Any]]] = {
    "clusterwide": [
        r.rule() for r in DOCUMENTED if r.cluster_scoped and "namespaces" not in r.resources
    ],
    "namespaced": [r.rule() for r in DOCUMENTED if r.cluster_scoped],
}


def rbac_objects(mode: str, namespace: str, tag: str) -> list[dict[str, Any]]:
    subject = [{"kind": "ServiceAccount", "name": "fks-operator", "namespace": namespace}]
    cluster_rules = CLUSTER_RULES[mode] + (NAMESPACED_RULES if mode == "clusterwide" else [])
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"fks-operator-{tag}"},
            "rules": cluster_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"fks-operator-{tag}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"fks-operator-{tag}",
            },
            "subjects": subject,
        },
    ]
    if mode == "namespaced":
        objects += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "fks-operator", "namespace": namespace},
                "rules": NAMESPACED_RULES,
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "fks-operator", "namespace": namespace},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "fks-operator",
                },
                "subjects": subject,
            },
        ]
    return objects


@pytest.fixture
def shared_operator_paused(operator: Operator) -> Iterator[None]:
    """Stop the package's admin operator, so only the ServiceAccount's one reconciles."""
    operator.stop()
    try:
        yield
    finally:
        operator.start()


@pytest.mark.parametrize("mode", ["clusterwide", "namespaced"])
def test_operator_needs_nothing_beyond_the_documented_rbac(
    kube: KubeCluster, namespace: str, shared_operator_paused: None, mode: str
) -> None:
    tag = f"{mode}-{secrets.token_hex(3)}"
    objects = rbac_objects(mode, namespace, tag)
    kube.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    token = kube.service_account_token(namespace, "fks-operator", create=True)
    restricted = Operator(kube)
    restricted.env["KUBECONFIG"] = str(kube.kubeconfig_for(token, name=f"fks-operator-{tag}"))
    if mode == "namespaced":
        restricted.env["FKS_OPERATOR_NAMESPACES"] = namespace
    restricted.start()
    cluster = Cluster(kube, restricted, namespace)
    try:
        cluster.apply(secret("redis", url="redis://redis:6379/0"))
        setup_pipeline(
            cluster,
            state={"backend": "redis", "redisSecretRef": {"name": "redis"}},
            autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 3},
        )
        cluster.wait_ready("pipe", timeout=60)
        cluster.wait_condition("exchangeaccount", "acct", "Ready", "True")
        # Deleting optional children, and recording events, are allowed too.
        cluster.kubectl(
            "patch",
            "executionpipeline",
            "pipe",
            "--type=merge",
            "-p",
            '{"spec": {"autoscaling": {"enabled": false}, "replicas": 1}}',
        )
        cluster.wait(
            lambda: (
                cluster.get("horizontalpodautoscaler", "pipe-executor") is None
                and cluster.get("poddisruptionbudget", "pipe-executor") is None
            ),
            "HPA and PDB deleted",
        )
        cluster.wait_ready("pipe")
        assert cluster.events("ExecutorsReady"), "no Event recorded"
        # A Service port renumbered by hand: deleted and re-created (reconcile._recreate).
        uid = cluster.must_get("service", "pipe-executor")["metadata"]["uid"]
        cluster.kubectl(
            "patch",
            "service",
            "pipe-executor",
            "--type=json",
            "-p",
            '[{"op": "replace", "path": "/spec/ports/0/port", "value": 9999}]',
        )
        cluster.wait(
            lambda: (
                (svc := cluster.get("service", "pipe-executor")) is not None
                and svc["metadata"]["uid"] != uid
                and [p["port"] for p in svc["spec"]["ports"]] == [8000]
            ),
            "the Service re-created",
        )
        log = restricted.log()
        for marker in ("403", "Forbidden", "forbidden"):
            assert marker not in log, f"{marker!r} in the operator log:\n{restricted.tail(40)}"
    finally:
        restricted.stop()
        kube.kubectl(
            "delete", "clusterrolebinding,clusterrole", f"fks-operator-{tag}", "--ignore-not-found"
        )
