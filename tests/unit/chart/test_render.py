"""The chart renders what docs/install.md promises, for every value set (helm lint + template)."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import pytest
import yaml

from fks_operator import settings as settings_module
from fks_operator.settings import OperatorSettings
from tests.unit.chart.helm import (
    CHART,
    FULLNAME,
    RELEASE,
    RELEASE_NAMESPACE,
    VALUE_SETS,
    WATCHED,
    Doc,
    kinds,
    one,
    project_version,
    render,
    render_raw,
    run_helm,
    values_file,
)

CLUSTER_SCOPED = {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


def env_of(deployment: Doc) -> dict[str, Any]:
    container = deployment.obj["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def container_of(docs: list[Doc]) -> dict[str, Any]:
    pod = one(docs, "Deployment").obj["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["operator"]
    container: dict[str, Any] = pod["containers"][0]
    return container


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_helm_lint_strict(name: str) -> None:
    path = values_file(VALUE_SETS[name])
    try:
        result = run_helm("lint", "--strict", str(CHART), "--values", str(path), check=False)
    finally:
        path.unlink()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_chart_and_app_version_follow_the_project() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["version"] == project_version()
    assert chart["appVersion"] == project_version()


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_every_object_is_labelled_and_namespaced_right(name: str) -> None:
    docs = render(name)
    assert docs
    for doc in docs:
        meta = doc.obj["metadata"]
        if doc.kind in CLUSTER_SCOPED:
            assert "namespace" not in meta, f"{doc.kind} {doc.name} is cluster-scoped"
        elif doc.kind in ("Role", "RoleBinding"):
            assert doc.namespace in WATCHED
        else:
            assert doc.namespace == RELEASE_NAMESPACE, f"{doc.kind} {doc.name}"
        labels = meta.get("labels") or {}
        assert labels.get("app.kubernetes.io/part-of") == "fks", f"{doc.kind} {doc.name}"
        if doc.kind != "CustomResourceDefinition":  # CRD labels come from crds/ as they are
            assert labels["app.kubernetes.io/instance"] == RELEASE
            assert labels["app.kubernetes.io/managed-by"] == "Helm"
            assert labels["app.kubernetes.io/version"] == project_version()


def test_defaults_render_the_documented_objects() -> None:
    names = sorted((d.kind, d.name) for d in render("defaults"))
    assert names == sorted(
        [
            ("CustomResourceDefinition", "exchangeaccounts.execution.fks.io"),
            ("CustomResourceDefinition", "executionpipelines.execution.fks.io"),
            ("ServiceAccount", FULLNAME),
            ("ClusterRole", FULLNAME),
            ("ClusterRoleBinding", FULLNAME),
            ("ClusterRole", f"{FULLNAME}-view"),
            ("ClusterRole", f"{FULLNAME}-edit"),
            ("Deployment", FULLNAME),
            ("Service", f"{FULLNAME}-metrics"),
        ]
    )


def test_operator_runs_as_one_replica_replaced_not_rolled() -> None:
    spec = one(render("defaults"), "Deployment").obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_pod_security_is_restricted(name: str) -> None:
    docs = render(name)
    pod = one(docs, "Deployment").obj["spec"]["template"]["spec"]
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 65532
    assert security["runAsGroup"] == 65532
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host), host
    assert pod["enableServiceLinks"] is False
    container = container_of(docs)
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True
    assert not sc.get("privileged")
    # the only writable path is an emptyDir at /tmp; no hostPath anywhere
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


def test_probes_and_ports_match_the_operator_settings() -> None:
    docs = render("defaults")
    container = container_of(docs)
    env = env_of(one(docs, "Deployment"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    assert env["FKS_OPERATOR_HEALTH_PORT"] == "8080"
    assert env["FKS_OPERATOR_METRICS_PORT"] == "9090"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}, probe
    service = one(docs, "Service").obj["spec"]
    assert service["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(docs, "Deployment").obj["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()


def test_ports_follow_values() -> None:
    docs = render({"operator": {"healthPort": 18080, "metricsPort": 19090}})
    env = env_of(one(docs, "Deployment"))
    assert env["FKS_OPERATOR_HEALTH_PORT"] == "18080"
    assert env["FKS_OPERATOR_METRICS_PORT"] == "19090"
    ports = {p["name"]: p["containerPort"] for p in container_of(docs)["ports"]}
    assert ports == {"health": 18080, "metrics": 19090}
    assert one(docs, "Service").obj["spec"]["ports"][0]["port"] == 19090


def test_default_images_are_pinned_to_the_app_version() -> None:
    docs = render("defaults")
    version = project_version()
    container = container_of(docs)
    assert container["image"] == f"fks-operator:{version}"
    assert container["imagePullPolicy"] == "IfNotPresent"
    env = env_of(one(docs, "Deployment"))
    assert env["FKS_OPERATOR_EXECUTOR_IMAGE"] == f"fks-executor:{version}"
    assert env["FKS_OPERATOR_IMAGE_PULL_POLICY"] == "IfNotPresent"
    assert env["FKS_OPERATOR_EXECUTOR_UID"] == "65532"
    assert env["FKS_OPERATOR_NAMESPACES"] == ""
    assert env["FKS_OPERATOR_LOG_LEVEL"] == "INFO"
    assert "FKS_OPERATOR_EXECUTOR_RESOURCES" not in env  # the operator's own default


def test_custom_values_land_where_documented() -> None:
    docs = render("custom")
    values = VALUE_SETS["custom"]
    deployment = one(docs, "Deployment")
    pod = deployment.obj["spec"]["template"]
    container = container_of(docs)
    assert container["image"] == (
        "registry.example.com:5000/fks/fks-operator@sha256:" + "ab" * 32
    )  # the digest wins over the tag
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == values["resources"]
    env = env_of(deployment)
    assert env["FKS_OPERATOR_EXECUTOR_IMAGE"] == "registry.example.com:5000/fks/fks-executor:9.9.9"
    assert json.loads(env["FKS_OPERATOR_EXECUTOR_RESOURCES"]) == values["executor"]["resources"]
    assert env["FKS_OPERATOR_LOG_LEVEL"] == "DEBUG"
    assert env["TZ"] == "UTC"
    spec = pod["spec"]
    assert spec["nodeSelector"] == values["nodeSelector"]
    assert spec["tolerations"] == values["tolerations"]
    assert spec["affinity"] == values["affinity"]
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["serviceAccountName"] == "trading-operator"
    assert pod["metadata"]["annotations"]["example.com/owner"] == "trading"
    assert pod["metadata"]["labels"]["example.com/tier"] == "control"
    account = one(docs, "ServiceAccount")
    assert account.name == "trading-operator"
    assert account.obj["metadata"]["annotations"] == {"team": "trading"}
    binding = one(docs, "ClusterRoleBinding")
    assert binding.obj["subjects"] == [
        {"kind": "ServiceAccount", "name": "trading-operator", "namespace": RELEASE_NAMESPACE}
    ]
    assert [d.name for d in kinds(docs, "ClusterRole")] == [FULLNAME]  # no aggregated roles


def test_existing_service_account() -> None:
    docs = render({"serviceAccount": {"create": False, "name": "ops-sa"}})
    assert not kinds(docs, "ServiceAccount")
    assert one(docs, "Deployment").obj["spec"]["template"]["spec"]["serviceAccountName"] == "ops-sa"
    assert one(docs, "ClusterRoleBinding").obj["subjects"][0]["name"] == "ops-sa"


def test_existing_service_account_needs_a_name() -> None:
    result = render_raw({"serviceAccount": {"create": False}})
    assert result.returncode != 0
    assert "serviceAccount.name is required when serviceAccount.create is false" in result.stderr


def test_rbac_can_be_left_to_the_cluster_admin() -> None:
    docs = render({"rbac": {"create": False}})
    assert not [d for d in docs if d.obj["apiVersion"].startswith("rbac.authorization.k8s.io")]
    assert one(docs, "ServiceAccount")


def test_metrics_service_can_be_turned_off_but_not_under_a_service_monitor() -> None:
    docs = render({"metrics": {"service": {"enabled": False}}})
    assert not kinds(docs, "Service")
    result = render_raw(
        {"metrics": {"service": {"enabled": False}}, "monitoring": {"enabled": True}}
    )
    assert result.returncode != 0
    assert "monitoring.serviceMonitor needs metrics.service.enabled=true" in result.stderr


def test_fullname_override() -> None:
    docs = render({"fullnameOverride": "ops"})
    assert one(docs, "Deployment").name == "ops"
    assert one(docs, "Service").name == "ops-metrics"


def known_operator_variables() -> set[str]:
    """The FKS_OPERATOR_* variables OperatorSettings.from_env reads."""
    source = inspect.getsource(settings_module)
    return {f"{settings_module.PREFIX}{name}" for name in re.findall(r'get\("([A-Z_]+)"\)', source)}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_chart_env_is_what_the_operator_reads(name: str) -> None:
    """Every FKS_OPERATOR_* variable the chart sets exists, and the operator accepts the values."""
    env = {k: str(v) for k, v in env_of(one(render(name), "Deployment")).items()}
    ours = {k for k in env if k.startswith("FKS_OPERATOR_")}
    known = known_operator_variables()
    assert len(known) >= 10
    assert ours <= known, f"unknown to the operator: {sorted(ours - known)}"
    settings = OperatorSettings.from_env(env)  # raises SettingsError on a bad value
    assert settings.health_port == 8080
    assert settings.metrics_port == 9090
    if name == "namespaced":
        assert settings.namespaces == tuple(sorted(WATCHED))
    if name == "custom":
        assert settings.executor_image == "registry.example.com:5000/fks/fks-executor:9.9.9"
        assert settings.executor_resources == VALUE_SETS["custom"]["executor"]["resources"]
        assert settings.log_level == "DEBUG"


def test_operator_tuning_values_reach_the_operator() -> None:
    values = {"operator": {"logFormat": "json", "workers": 8, "resyncSeconds": 0}}
    env = {k: str(v) for k, v in env_of(one(render(values), "Deployment")).items()}
    settings = OperatorSettings.from_env(env)
    assert (settings.log_format, settings.workers, settings.resync_seconds) == ("json", 8, 0)
