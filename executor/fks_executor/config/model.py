"""``ExecutorConfig``: the whole config file (docs/configuration.md) and its cross-field rules."""

from __future__ import annotations

from pydantic import Field, model_validator

from fks_executor.config.notifications import NotificationConfig
from fks_executor.config.sections import (
    AccountConfig,
    AuditConfig,
    CircuitBreakerConfig,
    ExecutionConfig,
    ListenConfig,
    RateLimitConfig,
    RiskConfig,
    StateConfig,
    WebhookConfig,
)
from fks_executor.config.types import ContractModel, Mode, Positive
from fks_executor.validation import KeyedError

__all__ = ["ExecutorConfig", "PipelineSettings"]


class PipelineSettings(ContractModel):
    """The settings an ExecutionPipeline hands its executors as they are: the pipeline's spec
    and the executor config both are these fields plus their own (the operator copies them
    over whole, so a field added here needs no other change; docs/crds.md#adding-a-field)."""

    dry_run: bool = False
    """true: never send orders; fills are simulated at the ticker price and sized against
    risk.paperBalanceUSD. Accounts without credentials can only be used in dry-run."""
    suspend: bool = False
    """Kill switch. true: executors keep running, but every alert is audited and answered 503
    "suspended", and no order is placed."""
    response_deadline_seconds: Positive = Field(default=2.0, le=30)
    """How long the webhook waits for the order before answering 202 "accepted" (execution
    then finishes in the background). TradingView gives up after 3 seconds, so keep it below
    that."""
    fan_out: bool = False
    """true: every alert goes to every account of the pipeline, as an alert with
    ``account: "*"`` does (docs/executor.md#fan-out)."""
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)


class ExecutorConfig(PipelineSettings):
    pipeline: str = Field(min_length=1, max_length=253)
    """The pipeline's name: a label in logs, audit and metrics."""
    namespace: str = ""
    listen: ListenConfig = Field(default_factory=ListenConfig)
    webhook: WebhookConfig
    accounts: tuple[AccountConfig, ...] = Field(min_length=1, strict=False)
    state: StateConfig = Field(default_factory=StateConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    notifications: tuple[NotificationConfig, ...] = Field(default=(), max_length=16, strict=False)
    """Where the executor reports its decisions (docs/notifications.md)."""

    @model_validator(mode="after")
    def _deadline(self) -> ExecutorConfig:
        if self.execution.deadline_seconds > self.webhook.max_signal_age_seconds:
            raise KeyedError(
                "execution.deadlineSeconds",
                f"must be at most webhook.maxSignalAgeSeconds "
                f"({self.webhook.max_signal_age_seconds:g}): a signal is not traded later "
                "than it would be accepted",
            )
        return self

    @model_validator(mode="after")
    def _accounts(self) -> ExecutorConfig:
        seen: set[str] = set()
        for i, account in enumerate(self.accounts):
            if account.name == "*":
                # "*" in an alert means every account (docs/executor.md#fan-out)
                raise KeyedError(f"accounts[{i}].name", "'*' is reserved: it means every account")
            if account.name in seen:
                raise KeyedError(f"accounts[{i}].name", "the name of an earlier account again")
            seen.add(account.name)
        names = [n.name for n in self.notifications]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise KeyedError(
                    f"notifications[{i}].name", "the name of an earlier notification again"
                )
        defaults = [i for i, a in enumerate(self.accounts) if a.default]
        if len(self.accounts) > 1 and len(defaults) != 1:
            raise KeyedError(
                "accounts",
                f"exactly one account must be default: true (found {len(defaults)})",
            )
        if not self.dry_run and self.state.backend == "memory" and not self.state.journal_path:
            raise KeyedError(
                "state.journalPath",
                "required when dryRun is false with the memory backend (every signal is "
                "journaled on disk before an order can be sent, so a restart finishes it and "
                "never sends it twice)",
            )
        return self

    @property
    def default_account(self) -> AccountConfig:
        """The account a payload without ``account`` goes to (a single account is the default)."""
        for account in self.accounts:
            if account.default:
                return account
        return self.accounts[0]

    def account(self, name: str) -> AccountConfig | None:
        for account in self.accounts:
            if account.name == name:
                return account
        return None

    @property
    def mode(self) -> Mode:
        """The effective mode: ``suspended``, ``dry-run``, ``live`` or ``testnet``."""
        if self.suspend:
            return "suspended"
        if self.dry_run:
            return "dry-run"
        if any(a.environment == "live" for a in self.accounts):
            return "live"
        return "testnet"
