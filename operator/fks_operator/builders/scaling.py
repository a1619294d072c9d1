"""HorizontalPodAutoscaler and PodDisruptionBudget, each only when the spec calls for it."""

from __future__ import annotations

from fks_operator.builders.meta import Manifest, executor_name, object_meta, selector_labels
from fks_operator.specs import ExecutionPipeline


def build_hpa(pipeline: ExecutionPipeline) -> Manifest | None:
    """An autoscaling/v2 HPA on CPU utilisation when autoscaling is enabled, else None."""
    autoscaling = pipeline.spec.autoscaling
    if not autoscaling.enabled:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(pipeline, executor_name(pipeline)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": executor_name(pipeline),
            },
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": autoscaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }


def build_pdb(pipeline: ExecutionPipeline) -> Manifest | None:
    """A PDB keeping one executor up during voluntary disruptions, when more than one runs.

    "More than one" is ``replicas > 1``, or with autoscaling ``minReplicas > 1``: a PDB over a
    single pod would block every node drain. Unhealthy pods may always be evicted, so a broken
    rollout never blocks a drain either.
    """
    if pipeline.spec.min_replicas <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(pipeline, executor_name(pipeline)),
        "spec": {
            "minAvailable": 1,
            "selector": {"matchLabels": selector_labels(pipeline)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
