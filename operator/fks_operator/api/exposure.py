"""``spec.webhook.expose`` of an ExecutionPipeline: an Ingress or a Gateway API HTTPRoute."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from fks_executor.config.types import ContractModel
from fks_operator.api.common import DNS_SUBDOMAIN, Int32, cel, validations

#: A DNS name without wildcard (a host TradingView can post to).
Hostname = Annotated[str, Field(max_length=253, pattern=rf"^{DNS_SUBDOMAIN}$")]
#: The same, or empty.
OptionalName = Annotated[str, Field(max_length=253, pattern=rf"^({DNS_SUBDOMAIN})?$")]

_ONE_WAY_IN = cel(
    "!(has(self.ingress) && has(self.ingress.enabled) && self.ingress.enabled && "
    "has(self.gateway) && has(self.gateway.enabled) && self.gateway.enabled)",
    "enable at most one of expose.ingress and expose.gateway: one public way in, one publicURL",
)
_INGRESS_HOST = cel(
    "!has(self.enabled) || !self.enabled || (has(self.host) && self.host != '')",
    "expose.ingress.host is required when the Ingress is enabled",
    ".host",
)
_GATEWAY_PARENTS = cel(
    "!has(self.enabled) || !self.enabled || (has(self.parentRefs) && self.parentRefs.size() > 0)",
    "expose.gateway.parentRefs is required when the route is enabled",
    ".parentRefs",
)


class IngressTLS(ContractModel):
    """HTTPS at the Ingress. Set secretName (a kubernetes.io/tls Secret you provide),
    clusterIssuer (cert-manager issues the certificate into secretName, or
    <pipeline>-executor-tls), or both. Neither: no TLS, and the passphrase travels in clear
    text."""

    secret_name: OptionalName = ""
    """The Secret holding the certificate for host."""
    cluster_issuer: OptionalName = ""
    """A cert-manager ClusterIssuer: sets the cert-manager.io/cluster-issuer annotation."""


def _route_preserving(annotations: dict[str, str]) -> dict[str, str]:
    """Refuses the annotations that make a controller route more than the webhook path: a
    rewrite (``rewrite-target: /metrics``) or raw controller configuration (``*snippet*``)."""
    names = [key.rpartition("/")[2].lower() for key in annotations]
    if any(name == "rewrite-target" or "snippet" in name for name in names):
        raise ValueError(
            "expose.ingress.annotations may not hold rewrite-target or *snippet* annotations: "
            "they can route other paths than /webhook/tradingview to the executors"
        )
    return annotations


class IngressExpose(ContractModel):
    """An Ingress (networking.k8s.io/v1) named <pipeline>-executor for one host, path
    /webhook/tradingview (pathType Exact) only."""

    model_config = ConfigDict(json_schema_extra=validations(_INGRESS_HOST))

    enabled: bool = False
    """Whether the Ingress is created."""
    class_name: OptionalName = ""
    """The IngressClass (spec.ingressClassName), e.g. nginx. Empty: the cluster's default
    class."""
    host: OptionalName = ""
    """The public DNS name TradingView posts to, e.g. alerts.example.com (no wildcard).
    Required when enabled; give each pipeline its own."""
    tls: IngressTLS = Field(default_factory=IngressTLS)
    annotations: Annotated[dict[str, str], AfterValidator(_route_preserving)] = Field(
        default_factory=dict, max_length=64
    )
    """Extra Ingress annotations (controller settings). The cert-manager.io/cluster-issuer
    annotation of tls.clusterIssuer wins. */rewrite-target and keys containing "snippet" are
    refused by the operator (InvalidSpec): they can route other paths than the webhook's."""

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls.secret_name or self.tls.cluster_issuer)


class ParentRef(ContractModel):
    """A Gateway API ParentReference (usually a Gateway)."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the parent."""
    group: str | None = Field(None, max_length=253, pattern=rf"^$|^{DNS_SUBDOMAIN}$")
    """API group of the parent. Unset: gateway.networking.k8s.io."""
    kind: str | None = Field(
        None, min_length=1, max_length=63, pattern=r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
    )
    """Kind of the parent. Unset: Gateway."""
    namespace: str | None = Field(
        None, min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    )
    """Namespace of the parent. Unset: the pipeline's."""
    section_name: str | None = Field(
        None, min_length=1, max_length=253, pattern=rf"^{DNS_SUBDOMAIN}$"
    )
    """A listener of the Gateway (by name). Unset: every listener."""
    port: Int32 | None = Field(None, ge=1, le=65535)
    """A listener of the Gateway (by port). Unset: every port."""


class GatewayExpose(ContractModel):
    """A Gateway API HTTPRoute (gateway.networking.k8s.io/v1) named <pipeline>-executor matching
    exactly POST /webhook/tradingview; created only where the cluster serves that API."""

    model_config = ConfigDict(json_schema_extra=validations(_GATEWAY_PARENTS))

    enabled: bool = False
    """Whether the HTTPRoute is created."""
    parent_refs: tuple[ParentRef, ...] = Field(default=(), max_length=32, strict=False)
    """The Gateways (listeners) the route attaches to; their listener must terminate TLS on 443
    and allow routes from this namespace."""
    hostnames: tuple[Hostname, ...] = Field(default=(), max_length=16, strict=False)
    """Host names the route answers for; the first one makes the publicURL. Empty: the
    listeners' host names (and no publicURL)."""


class Expose(ContractModel):
    """How the webhook is reached from the internet (TradingView posts only to ports 80 and
    443): an Ingress or a Gateway API HTTPRoute routing exactly POST /webhook/tradingview to
    the executor Service; the executor's other paths (/metrics, /signals, /health, /ready) stay
    inside the cluster. At most one of the two. Neither by default."""

    model_config = ConfigDict(json_schema_extra=validations(_ONE_WAY_IN))

    ingress: IngressExpose = Field(default_factory=IngressExpose)
    gateway: GatewayExpose = Field(default_factory=GatewayExpose)

    @model_validator(mode="after")
    def _one_way_in(self) -> Expose:
        if self.ingress.enabled and self.gateway.enabled:
            raise ValueError("enable at most one of expose.ingress and expose.gateway")
        if self.ingress.enabled and not self.ingress.host:
            raise ValueError(_INGRESS_HOST["message"])
        if self.gateway.enabled and not self.gateway.parent_refs:
            raise ValueError(_GATEWAY_PARENTS["message"])
        return self

    @property
    def enabled(self) -> bool:
        return self.ingress.enabled or self.gateway.enabled
