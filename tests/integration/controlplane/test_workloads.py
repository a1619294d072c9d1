"""Deployments on the local control plane: scheduled onto fake nodes and run by kwok."""

from __future__ import annotations

import ipaddress
from typing import Any

from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import Node, Pod

from tests.harness.controlplane import FAKE_NODE_ANNOTATION, POD_CIDR
from tests.harness.kube_cluster import KubeCluster, meta


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                # Never pulled: kwok plays the kubelet, nothing runs and nothing is downloaded.
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }


def _state(kube: KubeCluster, namespace: str) -> str:
    return kube.kubectl("get", "deploy,rs,pods", "-n", namespace, "-o", "wide").stdout


def wait_available(kube: KubeCluster, namespace: str, name: str, replicas: int) -> Deployment:
    client = kube.client(namespace=namespace)

    def available() -> Deployment | None:
        dep = client.get(Deployment, name)
        status = dep.status
        if status is None or status.observedGeneration != meta(dep).generation:
            return None
        conditions = {c.type: c.status for c in status.conditions or []}
        done = conditions.get("Available") == "True" and status.readyReplicas == replicas
        return dep if done and status.replicas == replicas else None

    return kube.wait_for(
        available,
        timeout=90,
        what=f"Deployment {namespace}/{name} Available with {replicas} ready replicas",
        describe=lambda: _state(kube, namespace),
    )


def test_deployment_becomes_available_with_running_pods_on_fake_nodes(
    kube: KubeCluster, namespace: str
) -> None:
    kube.apply(deployment("web", 3), namespace=namespace)
    dep = wait_available(kube, namespace, "web", 3)

    client = kube.client(namespace=namespace)
    fake_nodes = {
        meta(n).name
        for n in client.list(Node)
        if (meta(n).annotations or {}).get(FAKE_NODE_ANNOTATION) == "fake"
    }
    assert fake_nodes, "no kwok-managed nodes in the cluster"
    replicasets = [
        rs
        for rs in client.list(ReplicaSet)
        if any(o.uid == meta(dep).uid for o in meta(rs).ownerReferences or [])
    ]
    assert len(replicasets) == 1, _state(kube, namespace)
    pods = list(client.list(Pod, labels={"app": "web"}))
    assert len(pods) == 3, _state(kube, namespace)
    for pod in pods:
        assert pod.status is not None
        assert pod.spec is not None
        assert pod.status.phase == "Running", _state(kube, namespace)
        assert pod.spec.nodeName in fake_nodes
        ready = {c.type: c.status for c in pod.status.conditions or []}.get("Ready")
        assert ready == "True", f"pod {meta(pod).name} not Ready: {pod.status.conditions}"
        assert pod.status.podIP is not None
        assert ipaddress.ip_address(pod.status.podIP) in ipaddress.ip_network(POD_CIDR)
        owners = [(o.kind, o.uid) for o in meta(pod).ownerReferences or []]
        assert owners == [("ReplicaSet", meta(replicasets[0]).uid)]


def test_scaling_down_removes_pods(kube: KubeCluster, namespace: str) -> None:
    kube.apply(deployment("api", 3), namespace=namespace)
    wait_available(kube, namespace, "api", 3)

    kube.kubectl("scale", "deployment/api", "--replicas=1", "-n", namespace)
    wait_available(kube, namespace, "api", 1)
    client = kube.client(namespace=namespace)
    kube.wait_for(
        lambda: len(list(client.list(Pod, labels={"app": "api"}))) == 1,
        timeout=60,
        what="the two surplus pods to be deleted (kwok finalises pod deletion)",
        describe=lambda: _state(kube, namespace),
    )
