"""ExecutionPipeline (execution.fks.io/v1alpha1): one webhook endpoint that turns trading alerts
into orders on one or more ExchangeAccounts. ``dryRun``, ``suspend``,
``responseDeadlineSeconds``, ``execution``, ``risk``, ``rateLimit``, ``circuitBreaker``
(``PipelineSettings``) and the webhook's policy (``WebhookPolicy``) are the executor config's
own fields (imported, not copied): the operator renders them into the executor config as they
are."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from fks_executor.config import NotificationTarget, PipelineSettings, WebhookPolicy
from fks_executor.config.types import ContractModel, CrdSchema, Mode, StateBackend
from fks_operator.api.common import (
    Condition,
    Int32,
    Int64,
    NotificationSecretRef,
    ObjectMeta,
    RedisSecretRef,
    WebhookSecretRef,
    cel,
    conditions,
    validations,
)
from fks_operator.api.exposure import Expose
from fks_operator.api.pods import (
    Autoscaling,
    Monitoring,
    NetworkPolicySpec,
    PodTemplate,
    Resources,
)

#: On the whole object (the CRD's root): the name becomes part of the Service's.
NAME_RULE = cel(
    "self.metadata.name.size() <= 54 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    "name must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter) "
    "of at most 54 characters: the executor Service is named <name>-executor",
)
_SHARED_STATE = cel(
    "(has(self.state) && has(self.state.backend) && self.state.backend == 'redis') || "
    "((!has(self.replicas) || self.replicas <= 1) && "
    "!(has(self.autoscaling) && has(self.autoscaling.enabled) && self.autoscaling.enabled))",
    "state.backend must be redis when replicas > 1 or autoscaling is enabled: replicas share "
    "idempotency state through Redis, so one signal never places two orders",
    ".state.backend",
)
_DEADLINE = cel(
    "!has(self.execution) || !has(self.execution.deadlineSeconds) || "
    "self.execution.deadlineSeconds <= double(has(self.webhook.maxSignalAgeSeconds) ? "
    "self.webhook.maxSignalAgeSeconds : 300)",
    "execution.deadlineSeconds must be at most webhook.maxSignalAgeSeconds: a signal is not "
    "traded later than it would be accepted",
    ".execution.deadlineSeconds",
)
_UNIQUE = cel("self.all(a, self.exists_one(b, b.name == a.name))", "account names must be unique")
_ONE_DEFAULT = cel(
    "self.size() == 1 || self.exists_one(a, has(a.default) && a.default)",
    "exactly one account must have default: true when the pipeline has more than one account",
)
_REDIS_SECRET = cel(
    "!has(self.backend) || self.backend != 'redis' || has(self.redisSecretRef)",
    "state.redisSecretRef is required when state.backend is redis",
    ".redisSecretRef",
)


class AccountRef(ContractModel):
    """An ExchangeAccount orders go to."""

    name: str = Field(min_length=1, max_length=200)
    """Name of an ExchangeAccount in the pipeline's namespace (at most 200 characters: it
    becomes part of the executor's environment variable names, FKS_ACCOUNT_<NAME>_API_KEY)."""
    default: bool = False
    """Whether alerts without an "account" field go to this account. Exactly one account is the
    default (a single account always is)."""


class Webhook(WebhookPolicy):
    """How alerts are authenticated and filtered."""

    secret_ref: WebhookSecretRef
    expose: Expose = Field(default_factory=Expose)


class Notification(NotificationTarget):
    """A destination for notifications (docs/notifications.md): the executor posts the events
    listed to it, off the order path."""

    secret_ref: NotificationSecretRef


class State(ContractModel):
    """Where idempotency and in-flight signal state is kept."""

    model_config = ConfigDict(json_schema_extra=validations(_REDIS_SECRET))

    backend: StateBackend = "memory"
    """memory: one executor with a local SQLite journal (Deployment strategy Recreate, so two
    executors never run side by side). redis: executors share state through Redis; required
    when replicas > 1 or autoscaling is enabled."""
    redis_secret_ref: RedisSecretRef | None = None

    @model_validator(mode="after")
    def _redis_needs_secret(self) -> State:
        if self.backend == "redis" and self.redis_secret_ref is None:
            raise ValueError(_REDIS_SECRET["message"])
        return self


class ExecutionPipelineSpec(PipelineSettings):
    """What the executor does with alerts, and how it runs."""

    model_config = ConfigDict(json_schema_extra=validations(_SHARED_STATE, _DEADLINE))

    accounts: Annotated[
        tuple[AccountRef, ...],
        CrdSchema(**{"x-kubernetes-list-type": "atomic"}, **validations(_UNIQUE, _ONE_DEFAULT)),
    ] = Field(min_length=1, max_length=16, strict=False)
    """The ExchangeAccounts (in the pipeline's namespace) orders go to. An alert picks one with
    its "account" field; otherwise the default account is used. With more than one account
    exactly one must have default: true; a single account is the default whether or not it is
    marked."""
    webhook: Webhook
    state: State = Field(default_factory=State)
    replicas: Int32 = Field(default=1, ge=0, le=100)
    """Executor pods when autoscaling is off (more than 1 needs state.backend redis). 0 stops
    the executors. Ignored when autoscaling is enabled: the HorizontalPodAutoscaler owns the
    replica count then."""
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    image: str = Field(default="", max_length=512)
    """The executor image. Empty uses the operator's default (its FKS_OPERATOR_EXECUTOR_IMAGE
    setting)."""
    resources: Resources | None = Field(
        None,
        description="Compute resources of the executor container (requests and limits of cpu "
        "and memory). Unset uses the operator's default (requests cpu 100m, memory 128Mi; "
        "limit memory 512Mi).",
    )
    pod_template: PodTemplate = Field(default_factory=PodTemplate)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    network_policy: NetworkPolicySpec = Field(default_factory=NetworkPolicySpec)
    notifications: Annotated[
        tuple[Notification, ...],
        # a list map keyed by name: the API server refuses two notifications of one name
        CrdSchema(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
    ] = Field(default=(), max_length=16, strict=False)
    """Where the executor reports orders filled, refused or failed, circuit breakers opening,
    the daily loss limit, the kill switch and live orders: Slack, Discord, Telegram or any
    webhook (docs/notifications.md). Delivered off the order path: a slow or failing
    destination never delays or fails an order."""

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ExecutionPipelineSpec:
        names = [account.name for account in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("account names must be unique")
        targets = [n.name for n in self.notifications]
        if len(set(targets)) != len(targets):
            raise ValueError("notification names must be unique")
        defaults = [account.name for account in self.accounts if account.default]
        if len(self.accounts) > 1 and len(defaults) != 1:
            raise ValueError(_ONE_DEFAULT["message"])
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


class ExecutionPipelineStatus(ContractModel):
    """The state the operator last observed. Written by the operator only."""

    observed_generation: Int64 | None = Field(None, ge=0)
    """The metadata.generation this status describes."""
    mode: Mode | None = None
    """The effective mode: suspended (kill switch on), dry-run, live (at least one account is
    live) or testnet."""
    replicas: Int32 | None = Field(None, ge=0)
    """Executor pods that exist (from the Deployment's status)."""
    ready_replicas: Int32 | None = Field(None, ge=0)
    """Executor pods that are ready."""
    webhook_url: str | None = Field(None, alias="webhookURL")
    """The in-cluster URL alerts are posted to (expose it with spec.webhook.expose)."""
    public_url: str | None = Field(None, alias="publicURL")
    """The URL TradingView posts to, from spec.webhook.expose:
    https://<host>/webhook/tradingview (http:// for an Ingress without TLS). Absent when the
    webhook is not exposed."""
    config_hash: str | None = None
    """SHA-256 over the rendered executor config and the data of every referenced Secret key;
    equal to the pod template's execution.fks.io/inputs-hash annotation. Pods roll exactly when
    it changes."""
    conditions: tuple[Condition, ...] | None = conditions(
        "Reconciled: whether the operator applied the children for the current spec. Ready: "
        "whether the executors run and are ready with it. Each carries the metadata.generation "
        "it was set for."
    )


class ExecutionPipeline(ContractModel):
    """ExecutionPipeline is one webhook endpoint that turns trading alerts (TradingView or any
    signed sender) into orders on one or more ExchangeAccounts of its namespace, with its risk
    rules, replicas or autoscaling, and monitoring. The operator runs it as the Deployment
    <name>-executor behind the Service <name>-executor (port 8000)."""

    metadata: ObjectMeta
    spec: ExecutionPipelineSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace
