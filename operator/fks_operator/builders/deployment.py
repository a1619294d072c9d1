"""The executor Deployment: restricted security, read-only root, probes, secrets by reference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fks_operator.builders.meta import (
    CONFIG_DIR,
    CONFIG_KEY,
    HTTP_PORT,
    INPUTS_HASH_ANNOTATION,
    STATE_DIR,
    TMP_DIR,
    Manifest,
    config_map_name,
    executor_name,
    labels,
    object_meta,
    selector_labels,
)
from fks_operator.builders.secrets import SecretKeyRef, secret_key_refs
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExchangeAccount, ExecutionPipeline

CONTAINER_NAME = "executor"


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http", "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _env(refs: list[SecretKeyRef]) -> list[dict[str, Any]]:
    return [
        {"name": ref.env, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key}}}
        for ref in refs
    ]


def _strategy(pipeline: ExecutionPipeline) -> dict[str, Any]:
    # memory: each pod has its own idempotency state and journal, so two pods side by side could
    # both act on a resent alert: Recreate keeps it to one. redis: shared state, roll without a gap.
    if pipeline.spec.state.backend == "memory":
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def _resources(pipeline: ExecutionPipeline, settings: OperatorSettings) -> dict[str, Any]:
    source: Mapping[str, Mapping[str, Any]] = (
        pipeline.spec.resources
        if pipeline.spec.resources is not None
        else settings.executor_resources
    )
    return {
        section: dict(sorted(amounts.items()))
        for section, amounts in sorted(source.items())
        if section in ("requests", "limits") and amounts
    }


def _pod_spec(
    pipeline: ExecutionPipeline, settings: OperatorSettings, refs: list[SecretKeyRef]
) -> dict[str, Any]:
    uid = settings.executor_uid
    template = pipeline.spec.pod_template
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": pipeline.spec.image or settings.executor_image,
        "imagePullPolicy": settings.image_pull_policy,
        "args": ["--config", f"{CONFIG_DIR}/{CONFIG_KEY}"],
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": _env(refs),
        "resources": _resources(pipeline, settings),
        "startupProbe": _probe("/health", period=2, failures=30),
        "livenessProbe": _probe("/health", period=10, failures=3),
        "readinessProbe": _probe("/ready", period=5, failures=2),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "state", "mountPath": STATE_DIR},
            {"name": "tmp", "mountPath": TMP_DIR},
        ],
    }
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": config_map_name(pipeline)}},
            {"name": "state", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
    }
    if template.node_selector:
        spec["nodeSelector"] = dict(sorted(template.node_selector.items()))
    if template.tolerations:
        spec["tolerations"] = [dict(item) for item in template.tolerations]
    if template.affinity:
        spec["affinity"] = dict(template.affinity)
    if template.topology_spread_constraints:
        spec["topologySpreadConstraints"] = [
            dict(item) for item in template.topology_spread_constraints
        ]
    if template.priority_class_name:
        spec["priorityClassName"] = template.priority_class_name
    if template.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": item["name"]} for item in template.image_pull_secrets]
    return spec


def build_deployment(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    settings: OperatorSettings,
    *,
    inputs_hash: str,
) -> Manifest:
    """The Deployment ``<pipeline>-executor``.

    ``inputs_hash`` (from :func:`~fks_operator.builders.secrets.inputs_hash`) goes into the pod
    template, so pods roll exactly when the config or a referenced Secret value changes. With
    autoscaling on, ``spec.replicas`` is left out: the HPA owns it.
    """
    template = pipeline.spec.pod_template
    pod_annotations = {
        **template.annotations,
        "kubectl.kubernetes.io/default-container": CONTAINER_NAME,
        INPUTS_HASH_ANNOTATION: inputs_hash,
    }
    spec: dict[str, Any] = {}
    if not pipeline.spec.autoscaling.enabled:
        spec["replicas"] = pipeline.spec.replicas
    spec.update(
        {
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector_labels(pipeline)},
            "strategy": _strategy(pipeline),
            "template": {
                "metadata": {
                    "labels": dict(sorted({**template.labels, **labels(pipeline)}.items())),
                    "annotations": dict(sorted(pod_annotations.items())),
                },
                "spec": _pod_spec(pipeline, settings, secret_key_refs(pipeline, accounts)),
            },
        }
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(pipeline, executor_name(pipeline)),
        "spec": spec,
    }
