"""Real RBAC: identities bound only to a narrow Role get exactly that, and real 403s otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node, Secret

from tests.harness.kube_cluster import KubeCluster, meta


def configmap_reader(namespace: str, subjects: list[dict[str, str]]) -> str:
    return f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: configmap-reader, namespace: {namespace}}}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: configmap-reader, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader}}
subjects: {subjects}
"""


def assert_forbidden(action: Callable[[], object], what: str, user: str) -> None:
    with pytest.raises(ApiError) as caught:
        action()
    status = caught.value.status
    assert status.code == 403, f"{what}: expected 403, got {status.code} {status.message}"
    assert user in (status.message or ""), status.message


@pytest.fixture
def other_namespace(kube: KubeCluster, namespace: str) -> Iterator[str]:
    name = f"{namespace}-other"
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _check_narrow_access(
    kube: KubeCluster, client: Client, user: str, namespace: str, other: str
) -> None:
    # Allowed: read configmaps in the bound namespace (RBAC caches settle quickly; poll).
    kube.wait_for(
        lambda: [meta(c).name for c in client.list(ConfigMap, namespace=namespace)],
        timeout=30,
        what=f"{user} to be allowed to list configmaps in {namespace}",
    )
    assert client.get(ConfigMap, "settings", namespace=namespace).data == {"mode": "dry-run"}

    # Denied: everything else, by the real authorizer.
    assert_forbidden(lambda: list(client.list(Secret, namespace=namespace)), "list secrets", user)
    assert_forbidden(lambda: client.get(Secret, "token", namespace=namespace), "get secret", user)
    assert_forbidden(
        lambda: client.create(ConfigMap(metadata=ObjectMeta(name="x")), namespace=namespace),
        "create configmap",
        user,
    )
    assert_forbidden(
        lambda: client.delete(ConfigMap, "settings", namespace=namespace), "delete", user
    )
    assert_forbidden(
        lambda: list(client.list(ConfigMap, namespace=other)), "configmaps elsewhere", user
    )
    assert_forbidden(lambda: list(client.list(Node)), "list nodes (cluster scope)", user)
    assert_forbidden(lambda: list(client.list(Namespace)), "list namespaces", user)


@pytest.fixture
def objects(kube: KubeCluster, namespace: str) -> None:
    admin = kube.client(namespace=namespace)
    admin.create(ConfigMap(metadata=ObjectMeta(name="settings"), data={"mode": "dry-run"}))
    admin.create(Secret(metadata=ObjectMeta(name="token"), stringData={"t": "s3cr3t"}))


@pytest.mark.usefixtures("objects")
def test_user_token_bound_to_a_narrow_role_is_denied_the_rest(
    kube: KubeCluster, namespace: str, other_namespace: str
) -> None:
    kube.apply(configmap_reader(namespace, [{"kind": "User", "name": "alice"}]))
    alice = kube.client(token=kube.token_for("alice"))
    _check_narrow_access(kube, alice, "alice", namespace, other_namespace)

    # bob has no binding at all: denied even what alice may do.
    bob = kube.client(token=kube.token_for("bob"))
    assert_forbidden(lambda: list(bob.list(ConfigMap, namespace=namespace)), "bob lists", "bob")

    # What `kubectl auth can-i` reports for the same identity agrees with the authorizer.
    token = kube.token_for("alice")
    yes = kube.kubectl("auth", "can-i", "list", "configmaps", "-n", namespace, token=token)
    assert yes.stdout.strip() == "yes"
    no = kube.kubectl("auth", "can-i", "list", "secrets", "-n", namespace, token=token, check=False)
    assert (no.returncode, no.stdout.strip()) == (1, "no")


@pytest.mark.usefixtures("objects")
def test_service_account_token_gets_only_its_role(
    kube: KubeCluster, namespace: str, other_namespace: str
) -> None:
    token = kube.service_account_token(namespace, "reader", create=True)
    user = f"system:serviceaccount:{namespace}:reader"
    kube.apply(configmap_reader(namespace, [{"kind": "ServiceAccount", "name": "reader",
                                             "namespace": namespace}]))  # fmt: skip
    client = kube.client(token=token)
    _check_narrow_access(kube, client, user, namespace, other_namespace)

    # The same identity through a kubeconfig file, as a subprocess would use it.
    kubeconfig = kube.kubeconfig_for(token, name="reader")
    result = kube.kubectl("get", "secrets", "-n", namespace, kubeconfig=kubeconfig, check=False)
    assert result.returncode != 0
    assert "Forbidden" in result.stderr, result.stderr
    assert user in result.stderr


def test_unknown_token_is_unauthorized(kube: KubeCluster) -> None:
    client = kube.client(token="not-a-valid-token")
    with pytest.raises(ApiError) as caught:
        list(client.list(Namespace))
    assert caught.value.status.code == 401
