"""How an ExecutionPipeline's executors run: scaling, the pod template, monitoring and the
NetworkPolicy (operator-only fields: the executor never sees them)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from fks_executor.config.types import ContractModel, CrdSchema
from fks_operator.api.common import DNS_SUBDOMAIN, Int32, cel, validations
from fks_operator.labels import check_namespace_selector, check_requirement

_MIN_MAX = cel(
    "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
    "autoscaling.minReplicas must be less than or equal to autoscaling.maxReplicas",
    ".minReplicas",
)
_SELECTOR_NOT_EMPTY = cel(
    "(has(self.matchLabels) && size(self.matchLabels) > 0) || "
    "(has(self.matchExpressions) && size(self.matchExpressions) > 0)",
    "a namespace selector needs matchLabels or matchExpressions ({} would admit every "
    "namespace: to mean that, match key kubernetes.io/metadata.name with Exists)",
)
_VALUES_MATCH_OPERATOR = cel(
    "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : "
    "!has(self.values) || size(self.values) == 0",
    "values must not be empty with operator In or NotIn, and must be empty with Exists or "
    "DoesNotExist",
)
# Label keys and values: the API server checks their shape; fks_operator.labels checks the
# same in Python with its own messages (so the schema bounds here are CRD-only).
_LABEL_VALUE = Annotated[
    str,
    CrdSchema(maxLength=63, pattern=r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"),
]
_PASSED_THROUGH = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    "x-kubernetes-int-or-string": True,
}


def _resources_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "limits": {
                "type": "object",
                "description": "Maximum amount of compute resources allowed.",
                "additionalProperties": dict(_QUANTITY),
            },
            "requests": {
                "type": "object",
                "description": "Minimum amount of compute resources required.",
                "additionalProperties": dict(_QUANTITY),
            },
        },
    }


def _toleration_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "key": {
                "type": "string",
                "description": "The taint key the toleration applies to; empty matches all keys.",
            },
            "operator": {
                "type": "string",
                "description": "Exists or Equal (default Equal).",
                "enum": ["Exists", "Equal"],
            },
            "value": {
                "type": "string",
                "description": "The taint value the toleration matches (operator Equal).",
            },
            "effect": {
                "type": "string",
                "description": "The taint effect to match; empty matches all effects.",
                "enum": ["", "NoSchedule", "PreferNoSchedule", "NoExecute"],
            },
            "tolerationSeconds": {
                "type": "integer",
                "format": "int64",
                "description": "For NoExecute, how long the pod stays bound after the taint "
                "appears.",
            },
        },
    }


def _pull_secret_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "description": "Name of a Secret of type kubernetes.io/dockerconfigjson.",
                "minLength": 1,
                "maxLength": 253,
            }
        },
    }


#: ``resources`` of a core/v1 container (requests and limits), passed through as is.
Resources = Annotated[dict[str, dict[str, str | int]], CrdSchema(replace=_resources_schema)]


class Autoscaling(ContractModel):
    """A HorizontalPodAutoscaler (autoscaling/v2) on CPU utilisation. Needs state.backend
    redis."""

    model_config = ConfigDict(json_schema_extra=validations(_MIN_MAX))

    enabled: bool = False
    """Whether the HorizontalPodAutoscaler is created."""
    min_replicas: Int32 = Field(default=2, ge=1, le=100)
    """Lower bound of the replica count."""
    max_replicas: Int32 = Field(default=10, ge=1, le=100)
    """Upper bound of the replica count."""
    target_cpu_utilization_percentage: Int32 = Field(
        default=70, ge=1, le=100, alias="targetCPUUtilizationPercentage"
    )
    """Average CPU utilisation (percent of the CPU request) the autoscaler aims for."""

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(_MIN_MAX["message"])
        return self


class PodTemplate(ContractModel):
    """Overrides for the executor pods' template."""

    annotations: dict[str, str] = Field(default_factory=dict)
    """Extra pod annotations. The operator's own (execution.fks.io/*) win."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra pod labels. The app.kubernetes.io/* labels the operator sets win."""
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels the pods must be scheduled on."""
    tolerations: tuple[Annotated[dict[str, Any], CrdSchema(replace=_toleration_schema)], ...] = (
        Field(default=(), max_length=32, strict=False)
    )
    """Tolerations of the pods (core/v1 Toleration)."""
    affinity: Annotated[dict[str, Any] | None, CrdSchema(replace=lambda: dict(_PASSED_THROUGH))] = (
        None
    )
    """Affinity of the pods (core/v1 Affinity), passed through as is."""
    topology_spread_constraints: tuple[
        Annotated[dict[str, Any], CrdSchema(replace=lambda: dict(_PASSED_THROUGH))], ...
    ] = Field(default=(), max_length=8, strict=False)
    """Topology spread constraints of the pods (core/v1 TopologySpreadConstraint), passed
    through as is."""
    priority_class_name: str | None = Field(None, max_length=253)
    """PriorityClass of the pods."""
    image_pull_secrets: tuple[
        Annotated[dict[str, str], CrdSchema(replace=_pull_secret_schema)], ...
    ] = Field(default=(), max_length=8, strict=False)
    """Secrets for pulling the executor image from a private registry."""


class ServiceMonitorSpec(ContractModel):
    """A prometheus-operator ServiceMonitor, created only when the monitoring.coreos.com/v1 API
    is served by the cluster."""

    enabled: bool = True
    """Whether the ServiceMonitor is created."""
    interval: str = Field(default="30s", pattern=r"^([0-9]+(ms|s|m|h))+$")
    """Scrape interval, a Prometheus duration such as 30s or 1m."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra ServiceMonitor labels, e.g. the release label your Prometheus selects on."""


class Monitoring(ContractModel):
    """Prometheus monitoring of the executors (metrics on port http, path /metrics)."""

    service_monitor: ServiceMonitorSpec = Field(default_factory=ServiceMonitorSpec)


class LabelSelectorRequirement(ContractModel):
    """A namespace label requirement."""

    model_config = ConfigDict(json_schema_extra=validations(_VALUES_MATCH_OPERATOR))

    key: Annotated[
        str,
        CrdSchema(
            minLength=1,
            maxLength=317,
            pattern=rf"^({DNS_SUBDOMAIN}/)?([A-Za-z0-9][-A-Za-z0-9_.]{{0,61}})?[A-Za-z0-9]$",
        ),
    ]
    """The label key, [prefix/]name."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    """In, NotIn, Exists or DoesNotExist."""
    values: tuple[_LABEL_VALUE, ...] = Field(default=(), max_length=64, strict=False)
    """The values of In and NotIn (at least one); none with Exists and DoesNotExist."""

    @model_validator(mode="after")
    def _valid(self) -> LabelSelectorRequirement:
        check_requirement(self.key, self.operator, self.values)
        return self


class LabelSelector(ContractModel):
    """A namespace selector (metav1.LabelSelector). Never empty: {} would select every
    namespace. Checked in Python as the API server would (no NetworkPolicy refused with 422)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-map-type": "atomic",
            **validations(_SELECTOR_NOT_EMPTY),
        }
    )

    match_labels: dict[str, _LABEL_VALUE] = Field(default_factory=dict, max_length=16)
    """Namespace labels that must all match (keys and values as Kubernetes labels; the operator
    checks the keys)."""
    match_expressions: tuple[LabelSelectorRequirement, ...] = Field(
        default=(), max_length=16, strict=False
    )
    """Namespace label requirements that must all match."""

    @model_validator(mode="after")
    def _valid(self) -> LabelSelector:
        check_namespace_selector(self.match_labels, len(self.match_expressions))
        return self


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError("networkPolicy.exchangeCIDRs holds an entry that is not a CIDR") from None


_CIDR = Annotated[
    str,
    Field(max_length=64),
    CrdSchema(pattern=r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"),
    AfterValidator(_cidr),
]


class NetworkPolicySpec(ContractModel):
    """A NetworkPolicy (networking.k8s.io/v1) named <pipeline>-executor on the executor pods.
    In: port 8000 (webhook and metrics share it) only from the namespaces of webhookFrom and
    metricsFrom. Out: DNS (port 53), Redis with state.backend redis, and the exchanges (port 443
    and the port of every account endpoint). Enforced only where the network plugin implements
    NetworkPolicies."""

    enabled: bool = True
    """Whether the NetworkPolicy is created."""
    webhook_from: tuple[LabelSelector, ...] = Field(default=(), max_length=16, strict=False)
    """Namespace selectors (metav1.LabelSelector) whose pods may reach the webhook port: the
    ingress controller's or gateway's namespace, e.g. {matchLabels:
    {kubernetes.io/metadata.name: ingress-nginx}}. Empty: none. Each entry needs matchLabels or
    matchExpressions ({} is refused); to admit every namespace, match key
    kubernetes.io/metadata.name with Exists."""
    metrics_from: tuple[LabelSelector, ...] = Field(default=(), max_length=16, strict=False)
    """Namespace selectors (metav1.LabelSelector) whose pods may scrape the metrics (same port
    8000): Prometheus's namespace. Empty: none. Each entry needs matchLabels or
    matchExpressions ({} is refused)."""
    exchange_cidrs: tuple[_CIDR, ...] = Field(
        default=(), max_length=64, alias="exchangeCIDRs", strict=False
    )
    """Where the exchanges (and account endpoints) are, as CIDRs: egress to the exchange ports
    goes only there. Empty: any address."""
