"""The executor's config file (docs/configuration.md): typed, validated, side-effect free.

``load_config(path)`` / ``parse_config(mapping)`` turn the YAML the operator renders (or a
person writes) into an ``ExecutorConfig``; anything wrong raises ``ConfigError`` whose message
is ONE line naming the key path, e.g. ``risk.sizing.method: must be one of risk, ...``.

Secrets are never in the file, only the names of the environment variables that hold them.
``resolve_secrets(config, environ)`` reads those variables (separately, so a rendered ConfigMap
can be validated without the Secrets) and raises ``ConfigError`` naming the variable and the key.

This module imports nothing heavy (no ccxt, no web framework): the operator's contract tests
and ``fks-executor`` both load it before anything else.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "DEFAULT_CONFIG_YAML",
    "TRADINGVIEW_SOURCES",
    "AccountConfig",
    "AccountCredentials",
    "AuditConfig",
    "CircuitBreakerConfig",
    "ConfigError",
    "ExecutionConfig",
    "ExecutorConfig",
    "ListenConfig",
    "RateLimitConfig",
    "ResolvedSecrets",
    "RiskConfig",
    "SizingConfig",
    "StateConfig",
    "WebhookConfig",
    "default_config",
    "load_config",
    "parse_config",
    "resolve_secrets",
]

#: TradingView's published webhook source addresses (the ``tradingview`` preset).
TRADINGVIEW_SOURCES: tuple[str, ...] = (
    "52.89.214.238/32",
    "34.212.75.30/32",
    "54.218.53.128/32",
    "52.32.178.7/32",
)

AuthMode = Literal["hmac", "token", "hmac-or-token"]
Environment = Literal["testnet", "live"]
MarketType = Literal["spot", "future", "swap", "margin"]
SizingMethod = Literal["risk", "fixed-percent", "fixed-notional", "volatility"]
StateBackend = Literal["memory", "redis"]

# Shorthands for the numeric ranges the contract states.
Fraction = Annotated[float, Field(gt=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
EnvName = Annotated[str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$", max_length=253)]


class ConfigError(Exception):
    """Bad config: ``str(err)`` is one line, ``<key path>: <what is wrong>``."""


class _Model(BaseModel):
    """camelCase keys, unknown keys rejected, no type coercion ("1" is not a number)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
    )


class ListenConfig(_Model):
    host: str = Field(default="0.0.0.0", min_length=1)
    """Address to bind."""
    port: int = Field(default=8000, ge=1, le=65535)
    """TCP port."""


class WebhookConfig(_Model):
    auth: AuthMode = "hmac-or-token"
    """``hmac`` (signature header), ``token`` (``passphrase`` in the body) or either."""
    secret_env: EnvName = Field(min_length=1)
    """Environment variable holding the shared secret."""
    allowed_sources: tuple[str, ...] = Field(default=(), strict=False)
    """CIDRs/addresses and/or the preset ``tradingview``; empty = any source."""
    trusted_proxies: tuple[str, ...] = Field(default=(), strict=False)
    """CIDRs whose ``X-Forwarded-For`` is believed."""
    max_signal_age_seconds: float = Field(default=300, gt=0)
    """Older alerts are rejected ``stale``."""
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    """Alerts below this are answered ``ignored``."""

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


class AccountConfig(_Model):
    name: str = Field(min_length=1, max_length=253)
    """The ExchangeAccount's name (payload ``account`` refers to it)."""
    exchange: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    """A ccxt exchange id (checked against ccxt by the exchange layer, not here)."""
    environment: Environment = "testnet"
    market_type: MarketType = "spot"
    api_key_env: EnvName = ""
    """Env var holding the API key; empty: the account can only dry-run."""
    secret_env: EnvName = ""
    password_env: EnvName = ""
    endpoint: str = ""
    """Base URL override (private gateways, the fake exchange)."""
    options: dict[str, str] = Field(default_factory=dict)
    """Extra ccxt options."""
    default: bool = False

    @model_validator(mode="after")
    def _keys_pair(self) -> AccountConfig:
        if bool(self.api_key_env) != bool(self.secret_env):
            missing = "secretEnv" if self.api_key_env else "apiKeyEnv"
            raise _KeyedError(missing, "apiKeyEnv and secretEnv are set together or not at all")
        return self


class SizingConfig(_Model):
    method: SizingMethod = "risk"
    risk_per_trade: Fraction = 0.02
    percent: Fraction = 0.05
    notional_usd: Positive = Field(default=100, alias="notionalUSD")
    atr_multiplier: Positive = 2.0


class RiskConfig(_Model):
    sizing: SizingConfig = Field(default_factory=SizingConfig)
    max_position_size_usd: Positive = Field(default=1000, alias="maxPositionSizeUSD")
    max_order_size_usd: Positive = Field(default=10000, alias="maxOrderSizeUSD")
    daily_loss_limit_usd: NonNegative = Field(default=0, alias="dailyLossLimitUSD")
    """0 = off."""
    allowed_symbols: tuple[str, ...] = Field(default=(), strict=False)
    """Empty = any market the exchange lists."""
    paper_balance_usd: Positive = Field(default=10000, alias="paperBalanceUSD")
    """Balance used for sizing in dry-run."""


class RateLimitConfig(_Model):
    requests_per_minute: int = Field(default=100, ge=1)
    """Per source address."""


class CircuitBreakerConfig(_Model):
    failure_threshold: int = Field(default=5, ge=1)
    reset_timeout_seconds: Positive = 60


class StateConfig(_Model):
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
            raise _KeyedError("redisUrlEnv", "required when backend is redis")
        return self


class ExecutionConfig(_Model):
    deadline_seconds: Positive = 60.0
    """How long after its execution starts a signal may keep sending again an order proven
    absent after a transient failure (at most ``webhook.maxSignalAgeSeconds``)."""


class AuditConfig(_Model):
    path: str = ""
    """File the audit JSON lines are appended to; empty = stdout."""


class ExecutorConfig(_Model):
    pipeline: str = Field(min_length=1, max_length=253)
    namespace: str = ""
    dry_run: bool = False
    suspend: bool = False
    listen: ListenConfig = Field(default_factory=ListenConfig)
    response_deadline_seconds: Positive = 2.0
    webhook: WebhookConfig
    accounts: tuple[AccountConfig, ...] = Field(min_length=1, strict=False)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    @model_validator(mode="after")
    def _deadline(self) -> ExecutorConfig:
        if self.execution.deadline_seconds > self.webhook.max_signal_age_seconds:
            raise _KeyedError(
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
            if account.name in seen:
                raise _KeyedError(f"accounts[{i}].name", f"duplicate account {account.name!r}")
            seen.add(account.name)
        defaults = [i for i, a in enumerate(self.accounts) if a.default]
        if len(self.accounts) > 1 and len(defaults) != 1:
            raise _KeyedError(
                "accounts",
                f"exactly one account must be default: true (found {len(defaults)})",
            )
        if not self.dry_run and self.state.backend == "memory" and not self.state.journal_path:
            raise _KeyedError(
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
    def mode(self) -> str:
        """The effective mode: ``suspended``, ``dry-run``, ``live`` or ``testnet``."""
        if self.suspend:
            return "suspended"
        if self.dry_run:
            return "dry-run"
        if any(a.environment == "live" for a in self.accounts):
            return "live"
        return "testnet"


# --- secrets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountCredentials:
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None

    @property
    def present(self) -> bool:
        return self.api_key is not None and self.secret is not None


@dataclass(frozen=True, slots=True)
class ResolvedSecrets:
    """Values read from the environment; ``repr`` never shows them (``SecretStr``)."""

    webhook_secret: SecretStr
    accounts: Mapping[str, AccountCredentials] = field(default_factory=dict)
    redis_url: SecretStr | None = None


def resolve_secrets(
    config: ExecutorConfig, environ: Mapping[str, str] | None = None
) -> ResolvedSecrets:
    """Read every secret the config names; a named variable that is unset or empty is an error."""
    env = os.environ if environ is None else environ

    def need(var: str, key: str, what: str) -> SecretStr:
        value = env.get(var, "")
        if not value:
            raise ConfigError(f"{key}: environment variable {var} is not set ({what})")
        return SecretStr(value)

    webhook = need(config.webhook.secret_env, "webhook.secretEnv", "the webhook shared secret")
    accounts: dict[str, AccountCredentials] = {}
    for i, account in enumerate(config.accounts):
        where = f"accounts[{i}]"
        accounts[account.name] = AccountCredentials(
            api_key=(
                need(account.api_key_env, f"{where}.apiKeyEnv", f"API key of {account.name}")
                if account.api_key_env
                else None
            ),
            secret=(
                need(account.secret_env, f"{where}.secretEnv", f"API secret of {account.name}")
                if account.secret_env
                else None
            ),
            password=(
                need(account.password_env, f"{where}.passwordEnv", f"password of {account.name}")
                if account.password_env
                else None
            ),
        )
    redis_url = None
    if config.state.backend == "redis":
        redis_url = need(config.state.redis_url_env, "state.redisUrlEnv", "the Redis URL")
    return ResolvedSecrets(webhook_secret=webhook, accounts=accounts, redis_url=redis_url)


# --- loading ------------------------------------------------------------------------------

#: The embedded default (no --config, no FKS_CONFIG): a local dry-run on 127.0.0.1:8000.
DEFAULT_CONFIG_YAML = """\
pipeline: default
dryRun: true
listen: {host: 127.0.0.1, port: 8000}
webhook: {auth: hmac-or-token, secretEnv: FKS_WEBHOOK_SECRET}
accounts:
  - {name: paper, exchange: binance, environment: testnet, marketType: spot, default: true}
state: {backend: memory}
audit: {path: ""}
"""


def default_config() -> ExecutorConfig:
    return parse_config(yaml.safe_load(DEFAULT_CONFIG_YAML))


def parse_config(data: Any) -> ExecutorConfig:
    """Validate an already-parsed mapping (e.g. ``yaml.safe_load`` of a ConfigMap value)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"(top level): must be a mapping of keys, got {_kind(data)}")
    try:
        return ExecutorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def load_config(path: str | os.PathLike[str]) -> ExecutorConfig:
    """Read and validate the YAML file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file ({exc.__class__.__name__})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = (exc.problem or "invalid YAML").replace("\n", " ")
        raise ConfigError(f"{p}: invalid YAML at {where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        raise ConfigError(f"{p}: config file is empty")
    return parse_config(data)


# --- internals ----------------------------------------------------------------------------


class _KeyedError(ValueError):
    """Raised from a model validator to name a key below the model being validated."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}\x00{message}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _check_network(value: str, what: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not {what}") from None


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        tuple: "a list",
        dict: "a mapping",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _one_line(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    kind = first["type"]
    ctx = first.get("ctx") or {}
    message: str
    if kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        message = "unknown key"
    elif kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        message = f"must be one of {expected}"
    elif kind == "value_error" and isinstance(ctx.get("error"), _KeyedError):
        key, _, message = str(ctx["error"]).partition("\x00")
        loc = (*loc, *_split_key(key))
    elif kind == "value_error":
        message = str(ctx.get("error", first["msg"]))
    elif kind == "too_short":
        message = f"must have at least {ctx.get('min_length')} item(s)"
    else:
        got = _kind(first.get("input"))
        message = re.sub(r"^\w+ should", "must", first["msg"])
        if kind.endswith("_type"):
            message = f"{message} (got {got})"
    # Drop follow-on errors of a container whose item already failed (e.g. a too-short list).
    first_loc = tuple(first["loc"])
    more = [e for e in errors[1:] if tuple(e["loc"]) != first_loc[: len(e["loc"])]]
    extra = f" (and {len(more)} more)" if more else ""
    return f"{_path(loc)}: {message}{extra}".replace("\n", " ")


def _split_key(key: str) -> tuple[int | str, ...]:
    parts: list[int | str] = []
    for piece in key.replace("]", "").replace("[", ".").split("."):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)
