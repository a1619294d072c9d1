"""`helm install`, `helm upgrade` and `helm uninstall` of the chart against the real API server:
the release rolls out, an upgrade changes what it should, and uninstalling keeps the CRDs (and
with them every custom resource) by default."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness.kube_cluster import KubeCluster
from tests.unit.chart.helm import CHART, REPO, helm_or_skip, project_version, values_file

CRDS = ("exchangeaccounts.execution.fks.io", "executionpipelines.execution.fks.io")


def helm(kube: KubeCluster, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The pinned helm with the admin kubeconfig and its state under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBECONFIG"))}
    for name in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{name}_HOME"] = str(home / name.lower())
    result = subprocess.run(
        [helm_or_skip(), "--kubeconfig", str(kube.kubeconfig), *args],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def operator_env(kube: KubeCluster, namespace: str, name: str) -> dict[str, Any]:
    deployment = kube.kubectl_json("get", "deployment", name, "-n", namespace)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_install_upgrade_uninstall_keeps_the_crds(
    kube: KubeCluster, namespace: str, make_namespace: Callable[[str], str], tmp_path: Path
) -> None:
    release = f"fks-{namespace[-6:]}"
    fullname = f"{release}-op"
    watched = make_namespace("watched")
    values = values_file({"fullnameOverride": fullname})
    common = ("--namespace", namespace, "--values", str(values), "--wait", "--timeout", "120s")
    try:
        # The CRDs may exist already (other tests in this session apply crds/): --take-ownership
        # adopts them, as a user would when moving CRDs installed by hand under the chart.
        installed = helm(
            kube, tmp_path, "install", release, str(CHART), "--take-ownership", *common
        )
        notes = installed.stdout
        assert f"fks-operator {project_version()} is installed as release {release}" in notes
        assert "Watching:  the whole cluster" in notes
        assert "kept on uninstall" in notes
        for crd in CRDS:
            meta = kube.kubectl_json("get", "crd", crd)["metadata"]
            assert meta["annotations"]["helm.sh/resource-policy"] == "keep"
            assert meta["annotations"]["meta.helm.sh/release-name"] == release
        status = kube.kubectl_json("get", "deployment", fullname, "-n", namespace)["status"]
        assert status["readyReplicas"] == 1  # --wait: kwok ran the pod
        assert not operator_env(kube, namespace, fullname)["FKS_OPERATOR_NAMESPACES"]  # all
        assert kube.kubectl("get", "clusterrolebinding", fullname).returncode == 0

        # Upgrade to one watched namespace: a Role there, the env follows, the Pod is replaced.
        kube.kubectl(
            "apply", "-n", watched, "-f", str(REPO / "examples" / "exchangeaccount-testnet.yaml")
        )
        helm(
            kube,
            tmp_path,
            "upgrade",
            release,
            str(CHART),
            *common,
            "--set",
            f"watchNamespaces={{{watched}}}",
        )
        assert operator_env(kube, namespace, fullname)["FKS_OPERATOR_NAMESPACES"] == watched
        role = kube.kubectl_json("get", "role", fullname, "-n", watched)
        assert {"secrets"} <= {r for rule in role["rules"] for r in rule["resources"]}
        history = json.loads(
            helm(kube, tmp_path, "history", release, "-n", namespace, "-o", "json").stdout
        )
        assert [h["revision"] for h in history] == [1, 2]
        assert history[-1]["status"] == "deployed"
    finally:
        helm(kube, tmp_path, "uninstall", release, "--namespace", namespace, "--wait")
        values.unlink(missing_ok=True)

    # Everything of the release is gone, except the CRDs and the resources stored in them.
    assert kube.kubectl("get", "deployment", fullname, "-n", namespace, check=False).returncode != 0
    assert kube.kubectl("get", "clusterrole", fullname, check=False).returncode != 0
    assert kube.kubectl("get", "role", fullname, "-n", watched, check=False).returncode != 0
    for crd in CRDS:
        assert kube.kubectl("get", "crd", crd, check=False).returncode == 0, f"{crd} was deleted"
    assert kube.kubectl("get", "exchangeaccount", "binance-testnet", "-n", watched).returncode == 0
