"""The prometheus-operator ServiceMonitor (monitoring.coreos.com/v1)."""

from __future__ import annotations

from fks_operator.builders.meta import Manifest, executor_name, object_meta, selector_labels
from fks_operator.specs import ExecutionPipeline

SERVICE_MONITOR_API = "monitoring.coreos.com/v1"


def build_service_monitor(pipeline: ExecutionPipeline) -> Manifest | None:
    """A ServiceMonitor scraping ``/metrics`` on port http, or None when disabled.

    Whether the API is served is the caller's question (see ``build_children``).
    """
    monitor = pipeline.spec.monitoring.service_monitor
    if not monitor.enabled:
        return None
    return {
        "apiVersion": SERVICE_MONITOR_API,
        "kind": "ServiceMonitor",
        "metadata": object_meta(
            pipeline, executor_name(pipeline), dict(sorted(monitor.labels.items()))
        ),
        "spec": {
            "selector": {"matchLabels": selector_labels(pipeline)},
            "namespaceSelector": {"matchNames": [pipeline.namespace]},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": monitor.interval}],
        },
    }
