"""The executor Service: ClusterIP, port 8000 named http."""

from __future__ import annotations

from fks_operator.builders.meta import (
    HTTP_PORT,
    WEBHOOK_PATH,
    Manifest,
    executor_name,
    object_meta,
    selector_labels,
)
from fks_operator.specs import ExecutionPipeline


def webhook_url(pipeline: ExecutionPipeline) -> str:
    """The in-cluster URL alerts are posted to."""
    return f"http://{executor_name(pipeline)}.{pipeline.namespace}.svc:{HTTP_PORT}{WEBHOOK_PATH}"


def build_service(pipeline: ExecutionPipeline) -> Manifest:
    """The Service ``<pipeline>-executor`` in front of the executor pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(pipeline, executor_name(pipeline)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(pipeline),
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
