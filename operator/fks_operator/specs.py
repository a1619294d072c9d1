"""Typed views of the custom resources, parsed from the dicts the API server returns.

The models mirror the CRDs in ``crds/`` field for field, defaults included, so a spec parses the
same whether or not the API server has defaulted it (unit tests, objects stored before a CRD
upgrade). The CEL rules are checked again here, so the builders can rely on them. Unknown fields
are ignored: a newer CRD must not stop an older operator. Parse errors become
:class:`~fks_operator.errors.SpecError` naming the field path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from fks_operator.errors import SpecError
from fks_operator.labels import check_namespace_selector, check_requirement

GROUP = "execution.fks.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

Environment = Literal["testnet", "live"]
MarketType = Literal["spot", "future", "swap", "margin"]
AuthMode = Literal["hmac", "token", "hmac-or-token"]
SizingMethod = Literal["risk", "fixed-percent", "fixed-notional", "volatility"]
StateBackend = Literal["memory", "redis"]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class ObjectMeta(_Model):
    """The parts of ``metadata`` the operator uses."""

    name: str = Field(min_length=1)
    namespace: str = Field(default="default", min_length=1)
    uid: str = ""
    generation: int = 0
    labels: dict[str, str] = Field(default_factory=dict)


# --- ExchangeAccount -------------------------------------------------------------------------


class CredentialsSecretRef(_Model):
    name: str = Field(min_length=1)
    api_key_key: str = Field(default="apiKey", min_length=1)
    secret_key: str = Field(default="secret", min_length=1)
    password_key: str | None = None


class ExchangeAccountSpec(_Model):
    exchange: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    environment: Environment = "testnet"
    acknowledge_live_trading: bool = False
    market_type: MarketType = "spot"
    credentials_secret_ref: CredentialsSecretRef | None = None
    endpoint: str = Field(default="", max_length=2048, pattern=r"^(https?://\S+)?$")
    options: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _live_needs_acknowledgement(self) -> ExchangeAccountSpec:
        if self.environment == "live" and not self.acknowledge_live_trading:
            raise ValueError(
                "environment: live places real orders with real money; "
                "set acknowledgeLiveTrading: true to confirm"
            )
        return self


class ExchangeAccount(_Model):
    metadata: ObjectMeta
    spec: ExchangeAccountSpec

    @property
    def name(self) -> str:
        return self.metadata.name


# --- ExecutionPipeline -----------------------------------------------------------------------


class AccountRef(_Model):
    name: str = Field(min_length=1, max_length=200)  # 200: env var names stay within 253
    default: bool = False


class SecretKeySelector(_Model):
    name: str = Field(min_length=1)
    key: str = Field(min_length=1)


class WebhookSecretRef(SecretKeySelector):
    key: str = Field(default="secret", min_length=1)


class RedisSecretRef(SecretKeySelector):
    key: str = Field(default="url", min_length=1)


#: A DNS name without wildcard (a host TradingView can post to), as in the CRD.
_HOST = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
Hostname = Annotated[str, Field(max_length=253, pattern=_HOST)]


class IngressTLS(_Model):
    secret_name: str = ""
    cluster_issuer: str = ""


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


class IngressExpose(_Model):
    enabled: bool = False
    class_name: str = ""
    host: Hostname | Literal[""] = ""
    tls: IngressTLS = Field(default_factory=IngressTLS)
    annotations: Annotated[dict[str, str], AfterValidator(_route_preserving)] = Field(
        default_factory=dict
    )

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls.secret_name or self.tls.cluster_issuer)


class ParentRef(_Model):
    """A Gateway API ParentReference (usually a Gateway)."""

    name: str = Field(min_length=1)
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    section_name: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)


class GatewayExpose(_Model):
    enabled: bool = False
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[Hostname, ...] = ()


class Expose(_Model):
    ingress: IngressExpose = Field(default_factory=IngressExpose)
    gateway: GatewayExpose = Field(default_factory=GatewayExpose)

    @model_validator(mode="after")
    def _one_way_in(self) -> Expose:
        if self.ingress.enabled and self.gateway.enabled:
            raise ValueError("enable at most one of expose.ingress and expose.gateway")
        if self.ingress.enabled and not self.ingress.host:
            raise ValueError("expose.ingress.host is required when the Ingress is enabled")
        if self.gateway.enabled and not self.gateway.parent_refs:
            raise ValueError("expose.gateway.parentRefs is required when the route is enabled")
        return self

    @property
    def enabled(self) -> bool:
        return self.ingress.enabled or self.gateway.enabled


class Webhook(_Model):
    secret_ref: WebhookSecretRef
    expose: Expose = Field(default_factory=Expose)
    auth: AuthMode = "hmac-or-token"
    allowed_sources: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    max_signal_age_seconds: int = Field(default=300, ge=1, le=86400)
    min_confidence: float = Field(default=0.6, ge=0, le=1)


class Execution(_Model):
    deadline_seconds: float = Field(default=60.0, gt=0, le=86400)


class Sizing(_Model):
    method: SizingMethod = "risk"
    risk_per_trade: float = Field(default=0.02, gt=0, le=1)
    percent: float = Field(default=0.05, gt=0, le=1)
    notional_usd: float = Field(default=100.0, gt=0, alias="notionalUSD")
    atr_multiplier: float = Field(default=2.0, gt=0)


class Risk(_Model):
    sizing: Sizing = Field(default_factory=Sizing)
    max_position_size_usd: float = Field(default=1000.0, gt=0, alias="maxPositionSizeUSD")
    max_order_size_usd: float = Field(default=10000.0, gt=0, alias="maxOrderSizeUSD")
    daily_loss_limit_usd: float = Field(default=0.0, ge=0, alias="dailyLossLimitUSD")
    allowed_symbols: tuple[str, ...] = ()
    paper_balance_usd: float = Field(default=10000.0, gt=0, alias="paperBalanceUSD")


class RateLimit(_Model):
    requests_per_minute: int = Field(default=100, ge=1, le=100000)


class CircuitBreaker(_Model):
    failure_threshold: int = Field(default=5, ge=1, le=1000)
    reset_timeout_seconds: int = Field(default=60, ge=1, le=86400)


class State(_Model):
    backend: StateBackend = "memory"
    redis_secret_ref: RedisSecretRef | None = None

    @model_validator(mode="after")
    def _redis_needs_secret(self) -> State:
        if self.backend == "redis" and self.redis_secret_ref is None:
            raise ValueError("state.redisSecretRef is required when state.backend is redis")
        return self


class Autoscaling(_Model):
    enabled: bool = False
    min_replicas: int = Field(default=2, ge=1, le=100)
    max_replicas: int = Field(default=10, ge=1, le=100)
    target_cpu_utilization_percentage: int = Field(
        default=70, ge=1, le=100, alias="targetCPUUtilizationPercentage"
    )

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                "autoscaling.minReplicas must be less than or equal to autoscaling.maxReplicas"
            )
        return self


class PodTemplate(_Model):
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    affinity: dict[str, Any] | None = None
    topology_spread_constraints: tuple[dict[str, Any], ...] = ()
    priority_class_name: str | None = None
    image_pull_secrets: tuple[dict[str, str], ...] = ()


class ServiceMonitorSpec(_Model):
    enabled: bool = True
    interval: str = Field(default="30s", pattern=r"^([0-9]+(ms|s|m|h))+$")
    labels: dict[str, str] = Field(default_factory=dict)


class Monitoring(_Model):
    service_monitor: ServiceMonitorSpec = Field(default_factory=ServiceMonitorSpec)


class LabelSelectorRequirement(_Model):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _valid(self) -> LabelSelectorRequirement:
        check_requirement(self.key, self.operator, self.values)
        return self


class LabelSelector(_Model):
    """Namespaces, checked as the API server would (no NetworkPolicy refused with 422); never
    empty, ``{}`` selecting every namespace."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()

    @model_validator(mode="after")
    def _valid(self) -> LabelSelector:
        check_namespace_selector(self.match_labels, len(self.match_expressions))
        return self


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError("networkPolicy.exchangeCIDRs holds an entry that is not a CIDR") from None


class NetworkPolicySpec(_Model):
    enabled: bool = True
    webhook_from: tuple[LabelSelector, ...] = ()
    metrics_from: tuple[LabelSelector, ...] = ()
    exchange_cidrs: tuple[Annotated[str, AfterValidator(_cidr)], ...] = Field(
        default=(), alias="exchangeCIDRs"
    )


class ExecutionPipelineSpec(_Model):
    accounts: tuple[AccountRef, ...] = Field(min_length=1, max_length=16)
    dry_run: bool = False
    suspend: bool = False
    response_deadline_seconds: float = Field(default=2.0, gt=0, le=30)
    execution: Execution = Field(default_factory=Execution)
    webhook: Webhook
    risk: Risk = Field(default_factory=Risk)
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    circuit_breaker: CircuitBreaker = Field(default_factory=CircuitBreaker)
    state: State = Field(default_factory=State)
    replicas: int = Field(default=1, ge=0, le=100)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    image: str = ""
    resources: dict[str, dict[str, str | int]] | None = None
    pod_template: PodTemplate = Field(default_factory=PodTemplate)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    network_policy: NetworkPolicySpec = Field(default_factory=NetworkPolicySpec)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ExecutionPipelineSpec:
        names = [account.name for account in self.accounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"account names must be unique (repeated: {', '.join(duplicates)})")
        defaults = [account.name for account in self.accounts if account.default]
        if len(self.accounts) > 1 and len(defaults) != 1:
            raise ValueError(
                "exactly one account must have default: true when the pipeline has more than "
                "one account"
            )
        if self.execution.deadline_seconds > self.webhook.max_signal_age_seconds:
            raise ValueError(
                "execution.deadlineSeconds must be at most webhook.maxSignalAgeSeconds"
            )
        if self.state.backend != "redis" and (self.replicas > 1 or self.autoscaling.enabled):
            raise ValueError(
                "state.backend must be redis when replicas > 1 or autoscaling is enabled"
            )
        return self

    @property
    def default_account(self) -> str:
        """The account alerts without an ``account`` field go to."""
        if len(self.accounts) == 1:
            return self.accounts[0].name
        return next(account.name for account in self.accounts if account.default)

    @property
    def account_names(self) -> tuple[str, ...]:
        return tuple(account.name for account in self.accounts)

    @property
    def min_replicas(self) -> int:
        """The fewest executor pods this spec runs: the HPA's floor, or ``replicas``."""
        return self.autoscaling.min_replicas if self.autoscaling.enabled else self.replicas


class ExecutionPipeline(_Model):
    metadata: ObjectMeta
    spec: ExecutionPipelineSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace


# --- parsing ---------------------------------------------------------------------------------

_M = TypeVar("_M", bound=_Model)


def _parse(model: type[_M], obj: Mapping[str, Any]) -> _M:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise SpecError(path, message) from None


def parse_account(obj: Mapping[str, Any]) -> ExchangeAccount:
    """An ExchangeAccount from its API object (``metadata`` and ``spec``; ``status`` ignored)."""
    return _parse(ExchangeAccount, obj)


def parse_pipeline(obj: Mapping[str, Any]) -> ExecutionPipeline:
    """An ExecutionPipeline from its API object (``metadata`` and ``spec``; ``status`` ignored)."""
    return _parse(ExecutionPipeline, obj)
