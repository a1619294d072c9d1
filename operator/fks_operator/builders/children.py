"""Every child of a pipeline in one call: what to apply, and what must not exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fks_operator.builders.config import build_config_map, render_executor_config
from fks_operator.builders.deployment import build_deployment
from fks_operator.builders.meta import Manifest
from fks_operator.builders.monitoring import SERVICE_MONITOR_API, build_service_monitor
from fks_operator.builders.scaling import build_hpa, build_pdb
from fks_operator.builders.secrets import SecretData, inputs_hash, secret_key_refs
from fks_operator.builders.service import build_service
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExchangeAccount, ExecutionPipeline

#: (apiVersion, kind) of the optional children, for deleting those no longer wanted.
OPTIONAL_KINDS: tuple[tuple[str, str], ...] = (
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    (SERVICE_MONITOR_API, "ServiceMonitor"),
)


@dataclass(frozen=True)
class Children:
    """The rendered children of one pipeline."""

    config_map: Manifest
    deployment: Manifest
    service: Manifest
    hpa: Manifest | None
    pdb: Manifest | None
    service_monitor: Manifest | None
    inputs_hash: str
    """The hash in the pod template (and ``status.configHash``)."""
    notes: tuple[str, ...] = ()
    """Things the user should know (e.g. a ServiceMonitor skipped), for the Reconciled message."""

    def manifests(self) -> list[Manifest]:
        """The children to apply, in a safe order: the ConfigMap before the pods that mount it,
        the Deployment before the HPA and PDB that refer to it."""
        ordered = [self.config_map, self.service, self.deployment, self.hpa, self.pdb]
        ordered.append(self.service_monitor)
        return [manifest for manifest in ordered if manifest is not None]

    def unwanted(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of optional children that must not exist (delete if present)."""
        present = {
            (m["apiVersion"], m["kind"]) for m in (self.hpa, self.pdb, self.service_monitor) if m
        }
        return [kind for kind in OPTIONAL_KINDS if kind not in present]


def build_children(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    settings: OperatorSettings,
    secrets: Mapping[str, SecretData | None],
    *,
    service_monitor_api: bool,
) -> Children:
    """Render every child of ``pipeline``.

    ``accounts``: the pipeline's ExchangeAccounts by name (all of them, or RenderError);
    ``secrets``: data of the referenced Secrets by name (see ``referenced_secrets``), hashed
    into the pod template, never copied; ``service_monitor_api``: whether the cluster serves
    monitoring.coreos.com/v1 (without it no ServiceMonitor, and a note says so).
    """
    config_yaml = render_executor_config(pipeline, accounts)
    digest = inputs_hash(config_yaml, secret_key_refs(pipeline, accounts), secrets)
    notes: list[str] = []
    monitor = build_service_monitor(pipeline)
    if monitor is not None and not service_monitor_api:
        monitor = None
        notes.append(f"ServiceMonitor skipped: the cluster does not serve {SERVICE_MONITOR_API}.")
    return Children(
        config_map=build_config_map(pipeline, config_yaml),
        deployment=build_deployment(pipeline, accounts, settings, inputs_hash=digest),
        service=build_service(pipeline),
        hpa=build_hpa(pipeline),
        pdb=build_pdb(pipeline),
        service_monitor=monitor,
        inputs_hash=digest,
        notes=tuple(notes),
    )
