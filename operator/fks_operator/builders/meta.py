"""Names, labels and owner references shared by every child of a pipeline."""

from __future__ import annotations

from typing import Any

from fks_operator.specs import API_VERSION, ExecutionPipeline

Manifest = dict[str, Any]
"""A Kubernetes object as a plain JSON-ready dict."""

#: Port of the executor's HTTP server (webhook, health, metrics), in the pod and on the Service.
HTTP_PORT = 8000
#: The one path of the executor meant for the internet (its other paths stay in the cluster).
WEBHOOK_PATH = "/webhook/tradingview"
#: Key of the rendered config in the ConfigMap, and where it is mounted in the pod.
CONFIG_KEY = "config.yaml"
CONFIG_DIR = "/etc/fks"
#: Writable directories on the otherwise read-only root filesystem (emptyDir volumes).
STATE_DIR = "/var/lib/fks"
TMP_DIR = "/tmp"  # noqa: S108 - an emptyDir mount point in the pod, not a temp file here
#: Pod-template annotation holding the hash of every input; pods roll exactly when it changes.
INPUTS_HASH_ANNOTATION = "execution.fks.io/inputs-hash"

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PART_OF_LABEL = "app.kubernetes.io/part-of"


def executor_name(pipeline: ExecutionPipeline) -> str:
    """Name of every child but the ConfigMap: ``<pipeline>-executor``."""
    return f"{pipeline.name}-executor"


def config_map_name(pipeline: ExecutionPipeline) -> str:
    """Name of the ConfigMap holding the rendered executor config."""
    return f"{pipeline.name}-executor-config"


def selector_labels(pipeline: ExecutionPipeline) -> dict[str, str]:
    """The labels that select a pipeline's executor pods (immutable in a Deployment)."""
    return {NAME_LABEL: "fks-executor", INSTANCE_LABEL: pipeline.name}


def labels(pipeline: ExecutionPipeline) -> dict[str, str]:
    """The labels on every child of a pipeline."""
    return {
        **selector_labels(pipeline),
        MANAGED_BY_LABEL: "fks-operator",
        PART_OF_LABEL: "fks",
    }


def owner_reference(pipeline: ExecutionPipeline) -> dict[str, Any]:
    """The controller owner reference to the pipeline: deleting it garbage-collects the child."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ExecutionPipeline",
        "name": pipeline.name,
        "uid": pipeline.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def object_meta(
    pipeline: ExecutionPipeline, name: str, extra_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """``metadata`` of a child: name, namespace, labels, owner reference."""
    return {
        "name": name,
        "namespace": pipeline.namespace,
        "labels": {**(extra_labels or {}), **labels(pipeline)},
        "ownerReferences": [owner_reference(pipeline)],
    }
