"""The operator's API client (fks_operator.kube.KubeApi) against the real API server: a
ServiceAccount token file rotated under it (the kubelet's job in a pod), and errors translated.

The rotation is real: deleting and re-creating the ServiceAccount invalidates its bound tokens
(the API server answers 401), and a new token is written to the file the kubeconfig names.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import yaml
from lightkube.config.kubeconfig import KubeConfig

from fks_operator.errors import ApiError
from fks_operator.kube import SECRET, KubeApi
from tests.harness.kube_cluster import KubeCluster

pytestmark = pytest.mark.timeout(180)

SA = "rotating"


def _grant_secret_reads(kube: KubeCluster, namespace: str) -> None:
    kube.kubectl(
        "create", "role", "read-secrets", "--verb=get", "--resource=secrets", "-n", namespace
    )
    kube.kubectl(
        "create", "rolebinding", "read-secrets", "--role=read-secrets",
        f"--serviceaccount={namespace}:{SA}", "-n", namespace,
    )  # fmt: skip


def _token_kubeconfig(kube: KubeCluster, path: Path, token_file: Path) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "k",
                "cluster": {"server": kube.server, "certificate-authority": str(kube.ca_path)},
            }
        ],
        "users": [{"name": "sa", "user": {"tokenFile": str(token_file)}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "sa"}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _status_with(kube: KubeCluster, token: str, namespace: str) -> int:
    response = httpx.get(
        f"{kube.server}/api/v1/namespaces/{namespace}/secrets/s",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(kube.ca_path)),
        trust_env=False,
    )
    return response.status_code


async def test_a_rotated_token_file_is_read_again_after_a_401(
    kube: KubeCluster, namespace: str, tmp_path: Path
) -> None:
    kube.kubectl("create", "secret", "generic", "s", "--from-literal=k=v", "-n", namespace)
    _grant_secret_reads(kube, namespace)
    token_file = tmp_path / "token"
    token_file.write_text(kube.service_account_token(namespace, SA, create=True))
    config = KubeConfig.from_file(_token_kubeconfig(kube, tmp_path / "kubeconfig", token_file))
    api = KubeApi(config.get(), field_manager="test")
    try:
        first = await api.get(SECRET, namespace, "s")
        assert first is not None
        assert first["data"] == {"k": "dg=="}

        old = token_file.read_text()
        kube.kubectl("delete", "serviceaccount", SA, "-n", namespace)
        kube.wait_for(
            lambda: _status_with(kube, old, namespace) == 401, timeout=30, what="old token refused"
        )
        with pytest.raises(ApiError) as refused:
            await api.get(SECRET, namespace, "s")  # the file still holds the dead token
        assert refused.value.code == 401

        token_file.write_text(kube.service_account_token(namespace, SA, create=True))
        again = await api.get(SECRET, namespace, "s")
        assert again is not None
        assert again["data"] == {"k": "dg=="}
    finally:
        await api.close()


async def test_errors_are_translated(kube: KubeCluster, namespace: str) -> None:
    config = KubeConfig.from_file(str(kube.kubeconfig)).get()
    api = KubeApi(config, field_manager="test")
    try:
        assert await api.get(SECRET, namespace, "absent") is None
        bad = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "Not_A_Name", "namespace": namespace},
        }
        with pytest.raises(ApiError) as invalid:
            await api.apply(bad)
        assert invalid.value.code == 422
        assert invalid.value.reason == "Invalid"
        assert "Not_A_Name" in invalid.value.message
        gone = {**bad, "metadata": {"name": "s", "namespace": "no-such-namespace-here"}}
        with pytest.raises(ApiError) as missing:
            await api.apply(gone)
        assert missing.value.code == 404
        assert missing.value.namespace_gone
    finally:
        await api.close()
