"""The sections of the executor config. Those an ExecutionPipeline or ExchangeAccount spec
carries as they are (``risk``, ``rateLimit``, ``circuitBreaker``, ``execution``, the webhook's
policy, an account's venue) are THE definition of those CRD fields too: the CRD schema is
generated from them (``make generate``), the operator parses the custom resource into them and
renders the executor config from them. A docstring here is the field's ``kubectl explain``."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from fks_executor.config.futures import FUTURES_RULE, FuturesSettings
from fks_executor.config.types import (
    AuthMode,
    ContractModel,
    CrdSchema,
    Environment,
    EnvName,
    ExchangeId,
    Fraction,
    MarketType,
    NonNegative,
    Positive,
    SizingMethod,
    StateBackend,
)
from fks_executor.validation import KeyedError

__all__ = [
    "TRADINGVIEW_SOURCES",
    "AccountConfig",
    "AuditConfig",
    "CircuitBreakerConfig",
    "ExecutionConfig",
    "ListenConfig",
    "RateLimitConfig",
    "RiskConfig",
    "SizingConfig",
    "StateConfig",
    "Venue",
    "WebhookConfig",
    "WebhookPolicy",
]

#: TradingView's published webhook source addresses (the ``tradingview`` preset).
TRADINGVIEW_SOURCES: tuple[str, ...] = (
    "52.89.214.238/32",
    "34.212.75.30/32",
    "54.218.53.128/32",
    "52.32.178.7/32",
)

# The API server checks the shape; the validators below parse the address (a better message).
_SOURCE = Annotated[
    str,
    Field(max_length=64),
    CrdSchema(pattern=r"^(tradingview|[0-9a-fA-F:.]+(/[0-9]{1,3})?)$"),
]
_PROXY = Annotated[str, Field(max_length=64), CrdSchema(pattern=r"^[0-9a-fA-F:.]+(/[0-9]{1,3})?$")]
_SYMBOL = Annotated[str, Field(min_length=1, max_length=64)]
_OPTION = Annotated[str, Field(max_length=1024)]


class ListenConfig(ContractModel):
    host: str = Field(default="0.0.0.0", min_length=1)
    """Address to bind."""
    port: int = Field(default=8000, ge=1, le=65535)
    """TCP port."""


class WebhookPolicy(ContractModel):
    """Which alerts are let in (``spec.webhook`` of a pipeline, ``webhook`` of the config)."""

    auth: AuthMode = "hmac-or-token"
    """hmac: the X-Webhook-Signature header carries the hex HMAC-SHA256 of the body. token: the
    JSON body carries the secret in "passphrase" (what TradingView can do). hmac-or-token:
    either."""
    allowed_sources: tuple[_SOURCE, ...] = Field(default=(), max_length=64, strict=False)
    """Source addresses allowed to post alerts: CIDRs (10.0.0.0/8, 2001:db8::/32, or single
    addresses) and/or the preset "tradingview" (TradingView's published webhook addresses).
    Empty: any source."""
    trusted_proxies: tuple[_PROXY, ...] = Field(default=(), max_length=64, strict=False)
    """CIDRs of proxies (e.g. the ingress controller) whose X-Forwarded-For header is believed
    when checking allowedSources. Empty: the connection's peer address is the source."""
    max_signal_age_seconds: int = Field(default=300, ge=1, le=86400)
    """Alerts whose timestamp is older than this are rejected as stale."""
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    """Alerts whose confidence is below this are ignored (answered 200 "ignored")."""

    @field_validator("allowed_sources")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item != "tradingview":
                _check_network(item, "a CIDR, an IP address or the preset 'tradingview'")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            _check_network(item, "a CIDR or an IP address")
        return value


class WebhookConfig(WebhookPolicy):
    secret_env: EnvName = Field(min_length=1)
    """Environment variable holding the shared secret."""


class Venue(ContractModel):
    """Where an account trades (an ExchangeAccount's spec, an account of the config)."""

    exchange: ExchangeId
    """The ccxt exchange id, e.g. binance, bybit, okx, kraken (lower case, as in
    ccxt.exchanges)."""
    environment: Environment = "testnet"
    """testnet: orders go to the exchange's sandbox (ccxt sandbox mode; the exchange must have
    one). live: orders go to the real exchange with real money and require
    acknowledgeLiveTrading: true. Switching to live is recorded as a Warning event on the
    account and on every pipeline that uses it."""
    market_type: MarketType = "spot"
    """The market type orders are placed on (ccxt defaultType): spot, future (dated futures),
    swap (perpetuals) or margin."""
    endpoint: str = Field(default="", max_length=2048, pattern=r"^(https?://[^\s]+)?$")
    """Optional base URL override (http:// or https://) for private gateways or a test
    exchange. Empty: the exchange's own URLs (sandbox URLs on testnet)."""
    options: dict[str, _OPTION] = Field(default_factory=dict, max_length=64)
    """Extra ccxt options for this exchange, as a string map."""
    futures: FuturesSettings | None = None
    """Leverage, margin mode and position mode (marketType future or swap only;
    docs/trading.md#futures-settings)."""

    @model_validator(mode="after")
    def _futures_on_contracts(self) -> Venue:
        if self.futures is not None and self.market_type not in ("future", "swap"):
            raise KeyedError("futures", FUTURES_RULE["message"])
        return self


class AccountConfig(Venue):
    name: str = Field(min_length=1, max_length=253)
    """The ExchangeAccount's name (payload ``account`` refers to it)."""
    api_key_env: EnvName = ""
    """Env var holding the API key; empty: the account can only dry-run."""
    secret_env: EnvName = ""
    password_env: EnvName = ""
    default: bool = False

    @model_validator(mode="after")
    def _keys_pair(self) -> AccountConfig:
        if bool(self.api_key_env) != bool(self.secret_env):
            missing = "secretEnv" if self.api_key_env else "apiKeyEnv"
            raise KeyedError(missing, "apiKeyEnv and secretEnv are set together or not at all")
        return self


class SizingConfig(ContractModel):
    """How an order's size is computed when the alert gives neither amount nor size_usd. Only
    the parameter of the chosen method is used."""

    method: SizingMethod = "risk"
    """risk: lose riskPerTrade of the balance if stop_loss is hit (needs stop_loss).
    fixed-percent: percent of the balance. fixed-notional: notionalUSD per order. volatility:
    risk per trade with the stop at atrMultiplier x the alert's atr."""
    risk_per_trade: Fraction = 0.02
    """Method risk/volatility: fraction of the balance lost if the stop is hit, in (0, 1]."""
    percent: Fraction = 0.05
    """Method fixed-percent: fraction of the balance per order, in (0, 1]."""
    notional_usd: Positive = Field(default=100, alias="notionalUSD")
    """Method fixed-notional: order value in USD, > 0."""
    atr_multiplier: Positive = 2.0
    """Method volatility: stop distance as a multiple of the alert's atr, > 0."""


class RiskConfig(ContractModel):
    """Position sizing and risk limits."""

    sizing: SizingConfig = Field(default_factory=SizingConfig)
    max_position_size_usd: Positive = Field(default=1000, alias="maxPositionSizeUSD")
    """Largest position value per symbol and account, in USD. Orders that would exceed it are
    rejected (risk_limit)."""
    max_order_size_usd: Positive = Field(default=10000, alias="maxOrderSizeUSD")
    """Largest single order value, in USD. Orders are capped to it, even with an explicit
    amount."""
    daily_loss_limit_usd: NonNegative = Field(default=0, alias="dailyLossLimitUSD")
    """Realised loss per UTC day after which new entries are rejected; 0 turns the limit
    off."""
    allowed_symbols: tuple[_SYMBOL, ...] = Field(default=(), max_length=256, strict=False)
    """Unified symbols (e.g. BTC/USDT) alerts may trade. Empty means any market the exchange
    lists."""
    paper_balance_usd: Positive = Field(default=10000, alias="paperBalanceUSD")
    """The balance used for sizing in dry-run."""


class RateLimitConfig(ContractModel):
    """Webhook rate limit, per source address."""

    requests_per_minute: Annotated[int, CrdSchema(maximum=100000)] = Field(default=100, ge=1)
    """Alerts accepted per minute from one source; more are answered 429."""


class CircuitBreakerConfig(ContractModel):
    """Per-account circuit breaker on exchange failures."""

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    """Consecutive exchange failures that open the circuit (alerts are then answered 503
    circuit_open)."""
    reset_timeout_seconds: int = Field(default=60, ge=1, le=86400)
    """Seconds the circuit stays open before one trial request is let through."""


class StateConfig(ContractModel):
    backend: StateBackend = "memory"
    redis_url_env: EnvName = "FKS_REDIS_URL"
    """Env var holding ``redis://...`` (backend ``redis`` only)."""
    journal_path: str = ""
    """SQLite journal (backend ``memory``); empty = kept in process memory only (dry-run)."""
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    """Backend ``redis``: a replica that stops renewing its lease for this long is dead, and
    its unfinished signals are taken over by another replica."""

    @model_validator(mode="after")
    def _redis_env(self) -> StateConfig:
        if self.backend == "redis" and not self.redis_url_env:
            raise KeyedError("redisUrlEnv", "required when backend is redis")
        return self


class ExecutionConfig(ContractModel):
    """How an accepted signal's orders are carried out."""

    deadline_seconds: Positive = Field(default=60.0, le=86400)
    """How long after its execution starts a signal may keep sending an order again that is
    proven absent after a transient exchange failure (a 5xx, 429/418, a dropped connection),
    with backoff. Past it the signal ends failed and counts as a lost trade
    (fks_lost_trades_total). At most webhook.maxSignalAgeSeconds."""
    warm_state_max_age_seconds: float = Field(default=0.0, ge=0, le=3600)
    """Above 0: balances, positions and tickers are kept from the venue's websocket streams
    and an order uses them while confirmed less than this many seconds ago (else it reads
    them by REST). 0: read by REST for every order."""
    mode: Annotated[Literal["orders", "target-position"], CrdSchema(maxLength=16)] = "orders"
    """orders: each alert is an order (buy, sell, close). target-position: each alert states
    where the position should be (``position``: long, short or flat) and the executor sends
    only what closes the gap to the real position (docs/trading.md#target-position)."""
    on_protection_failure: Annotated[Literal["alert", "close"], CrdSchema(maxLength=8)] = "alert"
    """What happens when a protective order (stop loss, take profit, trailing stop) could not
    be placed after the entry filled: alert (audit, fks_unprotected_positions, notification)
    or close (the same, and the position is closed instead of left unprotected)."""
    order_entry: Literal["rest", "websocket"] = "rest"
    """websocket: orders without a trigger price are sent over the venue's websocket
    (create_order_ws), with the same at-most-once protocol as REST."""


class AuditConfig(ContractModel):
    path: str = ""
    """File the audit JSON lines are appended to; empty = stdout."""


def _check_network(value: str, what: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        # never the value itself: it ends up in answers, condition messages and Events
        raise ValueError(f"holds an entry that is not {what}") from None
