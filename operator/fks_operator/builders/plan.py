"""What one reconcile writes: the manifests to apply and the optional children to delete.

Normally that is every rendered child (:func:`run_plan`). When a prerequisite is missing (an
account missing or not Ready, a Secret or key missing, children that cannot be rendered), no
executor may run, so the pipeline is *held* (:func:`hold_plan`, :func:`held_plan`): the Service
and ConfigMap stay, the Deployment is applied with ``replicas: 0`` (created that way if it never
existed), and the HPA (which would scale it back up) and the PDB (which means nothing over zero
pods) are deleted. Releasing the hold re-applies the full children.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fks_operator.builders.children import HPA_KIND, PDB_KIND, Children
from fks_operator.builders.deployment import build_deployment
from fks_operator.builders.meta import Manifest
from fks_operator.builders.secrets import SecretData, inputs_hash, secret_key_refs
from fks_operator.builders.service import build_service
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExecutionPipeline

HELD_NOTE = "executors held at 0 replicas until this is fixed"
"""Appended to the condition message of a held pipeline."""


@dataclass(frozen=True)
class Plan:
    """Manifests to apply (in order) and optional children to delete (by apiVersion, kind; they
    are all named ``<pipeline>-executor``)."""

    apply: tuple[Manifest, ...]
    delete: tuple[tuple[str, str], ...]
    inputs_hash: str | None
    """For ``status.configHash``; None when nothing was rendered (the previous value stays)."""
    notes: tuple[str, ...] = ()
    held: bool = False


def run_plan(children: Children) -> Plan:
    """Apply every rendered child; delete the optional ones the spec no longer wants."""
    return Plan(
        apply=tuple(children.manifests()),
        delete=tuple(children.unwanted()),
        inputs_hash=children.inputs_hash,
        notes=children.notes,
    )


def _scaled_to_zero(deployment: Manifest) -> Manifest:
    spec: dict[str, Any] = {"replicas": 0}
    spec.update({k: v for k, v in deployment["spec"].items() if k != "replicas"})
    return {**deployment, "spec": spec}


def hold_plan(children: Children) -> Plan:
    """Held, with every child rendered: the Deployment at 0 replicas; no HPA, no PDB."""
    held = Children(
        config_map=children.config_map,
        deployment=_scaled_to_zero(children.deployment),
        service=children.service,
        hpa=None,
        pdb=None,
        service_monitor=children.service_monitor,
        inputs_hash=children.inputs_hash,
        notes=children.notes,
        network_policy=children.network_policy,
        ingress=children.ingress,
        http_route=children.http_route,
    )
    return Plan(
        apply=tuple(held.manifests()),
        delete=tuple(held.unwanted()),
        inputs_hash=held.inputs_hash,
        notes=held.notes,
        held=True,
    )


def held_plan(
    pipeline: ExecutionPipeline,
    settings: OperatorSettings,
    secrets: Mapping[str, SecretData | None],
) -> Plan:
    """Held when the children cannot be rendered (an account is missing, or rendering failed):
    the Service, and a Deployment at 0 replicas that wires no account credentials. The
    ConfigMap, ServiceMonitor, NetworkPolicy, Ingress and HTTPRoute are left as they are; HPA
    and PDB are deleted."""
    bare = pipeline.model_copy(update={"spec": pipeline.spec.model_copy(update={"accounts": ()})})
    digest = inputs_hash("", secret_key_refs(bare, {}), secrets)
    deployment = build_deployment(bare, {}, settings, inputs_hash=digest)
    return Plan(
        apply=(build_service(pipeline), _scaled_to_zero(deployment)),
        delete=(HPA_KIND, PDB_KIND),
        inputs_hash=None,
        held=True,
    )
