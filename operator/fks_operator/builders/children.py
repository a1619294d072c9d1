"""Every child of a pipeline in one call: what to apply, and what must not exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fks_operator.builders.config import build_config_map, render_executor_config
from fks_operator.builders.deployment import build_deployment
from fks_operator.builders.exposure import HTTP_ROUTE_API, build_http_route, build_ingress
from fks_operator.builders.meta import Manifest
from fks_operator.builders.monitoring import SERVICE_MONITOR_API, build_service_monitor
from fks_operator.builders.network import build_network_policy, network_notes
from fks_operator.builders.scaling import build_hpa, build_pdb
from fks_operator.builders.secrets import SecretData, inputs_hash, secret_key_refs
from fks_operator.builders.service import build_service
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExchangeAccount, ExecutionPipeline

HPA_KIND = ("autoscaling/v2", "HorizontalPodAutoscaler")
PDB_KIND = ("policy/v1", "PodDisruptionBudget")
SERVICE_MONITOR_KIND = (SERVICE_MONITOR_API, "ServiceMonitor")
NETWORK_POLICY_KIND = ("networking.k8s.io/v1", "NetworkPolicy")
INGRESS_KIND = ("networking.k8s.io/v1", "Ingress")
HTTP_ROUTE_KIND = (HTTP_ROUTE_API, "HTTPRoute")
#: (apiVersion, kind) of the optional children, for deleting those no longer wanted.
OPTIONAL_KINDS: tuple[tuple[str, str], ...] = (
    HPA_KIND,
    PDB_KIND,
    SERVICE_MONITOR_KIND,
    NETWORK_POLICY_KIND,
    INGRESS_KIND,
    HTTP_ROUTE_KIND,
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
    network_policy: Manifest | None = None
    ingress: Manifest | None = None
    http_route: Manifest | None = None

    def manifests(self) -> list[Manifest]:
        """The children to apply, in a safe order: the NetworkPolicy first (before the pods it
        protects; refused, it stops the pass before anything else changed), the ConfigMap
        before the pods that mount it, the Deployment before the HPA and PDB that refer to it,
        the way in from outside last."""
        ordered = [self.network_policy, self.config_map, self.service, self.deployment]
        ordered += [self.hpa, self.pdb, self.service_monitor, self.ingress, self.http_route]
        return [manifest for manifest in ordered if manifest is not None]

    def unwanted(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of optional children that must not exist (delete if present)."""
        optional = (
            self.hpa,
            self.pdb,
            self.service_monitor,
            self.network_policy,
            self.ingress,
            self.http_route,
        )
        present = {(m["apiVersion"], m["kind"]) for m in optional if m}
        return [kind for kind in OPTIONAL_KINDS if kind not in present]


def build_children(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    settings: OperatorSettings,
    secrets: Mapping[str, SecretData | None],
    *,
    service_monitor_api: bool,
    http_route_api: bool = False,
) -> Children:
    """Render every child of ``pipeline``.

    ``accounts``: the pipeline's ExchangeAccounts by name (all of them, or RenderError);
    ``secrets``: data of the referenced Secrets by name (see ``referenced_secrets``), hashed
    into the pod template, never copied (the NetworkPolicy takes the Redis URL's port);
    ``service_monitor_api`` / ``http_route_api``: whether the cluster serves
    monitoring.coreos.com/v1 / gateway.networking.k8s.io/v1 (without it no ServiceMonitor /
    HTTPRoute, and a note says so).
    """
    config_yaml = render_executor_config(pipeline, accounts)
    digest = inputs_hash(config_yaml, secret_key_refs(pipeline, accounts), secrets)
    notes: list[str] = []
    monitor = build_service_monitor(pipeline)
    if monitor is not None and not service_monitor_api:
        monitor = None
        notes.append(f"ServiceMonitor skipped: the cluster does not serve {SERVICE_MONITOR_API}.")
    route = build_http_route(pipeline)
    if route is not None and not http_route_api:
        route = None
        notes.append(f"HTTPRoute skipped: the cluster does not serve {HTTP_ROUTE_API}.")
    notes += network_notes(pipeline, service_monitor=monitor is not None)
    return Children(
        config_map=build_config_map(pipeline, config_yaml),
        deployment=build_deployment(pipeline, accounts, settings, inputs_hash=digest),
        service=build_service(pipeline),
        hpa=build_hpa(pipeline),
        pdb=build_pdb(pipeline),
        service_monitor=monitor,
        inputs_hash=digest,
        notes=tuple(notes),
        network_policy=build_network_policy(pipeline, accounts, secrets),
        ingress=build_ingress(pipeline),
        http_route=route,
    )
