"""The real garbage collector: deleting an owner deletes (or orphans) its dependents."""

from __future__ import annotations

from collections.abc import Callable

from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import CascadeType

from tests.harness.kube_cluster import KubeCluster, meta
from tests.integration.controlplane.test_workloads import deployment, wait_available


def _gone(get: Callable[[], object]) -> bool:
    try:
        get()
    except ApiError as exc:
        if exc.status.code == 404:
            return True
        raise
    return False


def _configmap_gone(client: Client, name: str) -> bool:
    return _gone(lambda: client.get(ConfigMap, name))


def _owned_configmap(name: str, owner: ConfigMap) -> ConfigMap:
    assert owner.metadata is not None
    assert owner.metadata.uid is not None
    ref = OwnerReference(apiVersion="v1", kind="ConfigMap", name=owner.metadata.name or "",
                         uid=owner.metadata.uid)  # fmt: skip
    return ConfigMap(metadata=ObjectMeta(name=name, ownerReferences=[ref]), data={"k": "v"})


def test_deleting_an_owner_garbage_collects_its_children(kube: KubeCluster, namespace: str) -> None:
    client = kube.client(namespace=namespace)
    owner = client.create(ConfigMap(metadata=ObjectMeta(name="owner"), data={"k": "v"}))
    client.create(_owned_configmap("child-a", owner))
    client.create(_owned_configmap("child-b", owner))
    client.create(ConfigMap(metadata=ObjectMeta(name="bystander"), data={"k": "v"}))

    client.delete(ConfigMap, "owner")
    kube.wait_for(
        lambda: all(_configmap_gone(client, c) for c in ("child-a", "child-b")),
        timeout=60,
        what=f"garbage collection of ConfigMaps child-a and child-b in {namespace}",
        describe=lambda: kube.kubectl("get", "configmaps", "-n", namespace).stdout,
    )
    assert client.get(ConfigMap, "bystander").data == {"k": "v"}


def test_orphan_deletion_keeps_children_and_drops_their_owner_reference(
    kube: KubeCluster, namespace: str
) -> None:
    client = kube.client(namespace=namespace)
    owner = client.create(ConfigMap(metadata=ObjectMeta(name="owner"), data={}))
    client.create(_owned_configmap("child", owner))

    client.delete(ConfigMap, "owner", cascade=CascadeType.ORPHAN)
    kube.wait_for(lambda: _gone(lambda: client.get(ConfigMap, "owner")), timeout=60,
                  what="the owner to be deleted")  # fmt: skip
    kube.wait_for(
        lambda: not meta(client.get(ConfigMap, "child")).ownerReferences,
        timeout=60,
        what="the orphaned child to lose its ownerReference",
    )


def test_deleting_a_deployment_deletes_its_replicasets_and_pods(
    kube: KubeCluster, namespace: str
) -> None:
    client = kube.client(namespace=namespace)
    kube.apply(deployment("worker", 2), namespace=namespace)
    wait_available(kube, namespace, "worker", 2)
    assert len(list(client.list(ReplicaSet))) == 1
    assert len(list(client.list(Pod, labels={"app": "worker"}))) == 2

    client.delete(Deployment, "worker")  # background propagation: the GC deletes the rest
    kube.wait_for(
        lambda: not list(client.list(ReplicaSet)) and not list(client.list(Pod)),
        timeout=90,
        what="ReplicaSets and Pods of the deleted Deployment to be garbage-collected",
        describe=lambda: kube.kubectl("get", "rs,pods", "-n", namespace, "-o", "wide").stdout,
    )
