"""The executor's config file (docs/configuration.md): typed, validated, side-effect free.

``load_config(path)`` / ``parse_config(mapping)`` turn the YAML the operator renders (or a
person writes) into an ``ExecutorConfig``; anything wrong raises ``ConfigError`` whose message
is ONE line naming the key path, e.g. ``risk.sizing.method: must be one of risk, ...``
(:mod:`fks_executor.validation`). ``resolve_secrets`` reads the secrets the config names from
the environment.

The models are the contract shared with the operator: it imports them (and only pydantic, yaml
and the standard library come with them; tests/unit/test_packaging.py) to parse custom
resources and to render this file, and the CRDs are generated from them (docs/crds.md).

    types     the vocabulary: base model, enumerations, constrained types
    sections  webhook, accounts, risk, rate limit, circuit breaker, state, ...
    notifications  the destinations of notifications (shared with the pipeline's spec)
    model     PipelineSettings (shared with the pipeline's spec), ExecutorConfig
    loading   YAML -> ExecutorConfig, ConfigError, the embedded default
    secrets   environment -> ResolvedSecrets
"""

from fks_executor.config.futures import FuturesSettings
from fks_executor.config.loading import (
    DEFAULT_CONFIG_YAML,
    ConfigError,
    default_config,
    load_config,
    parse_config,
)
from fks_executor.config.model import ExecutorConfig, PipelineSettings
from fks_executor.config.notifications import (
    NOTIFICATION_EVENTS,
    NotificationConfig,
    NotificationEvent,
    NotificationTarget,
    NotificationType,
)
from fks_executor.config.secrets import AccountCredentials, ResolvedSecrets, resolve_secrets
from fks_executor.config.sections import (
    TRADINGVIEW_SOURCES,
    AccountConfig,
    AuditConfig,
    CircuitBreakerConfig,
    ExecutionConfig,
    ListenConfig,
    RateLimitConfig,
    RiskConfig,
    SizingConfig,
    StateConfig,
    Venue,
    WebhookConfig,
    WebhookPolicy,
)

__all__ = [
    "DEFAULT_CONFIG_YAML",
    "NOTIFICATION_EVENTS",
    "TRADINGVIEW_SOURCES",
    "AccountConfig",
    "AccountCredentials",
    "AuditConfig",
    "CircuitBreakerConfig",
    "ConfigError",
    "ExecutionConfig",
    "ExecutorConfig",
    "FuturesSettings",
    "ListenConfig",
    "NotificationConfig",
    "NotificationEvent",
    "NotificationTarget",
    "NotificationType",
    "PipelineSettings",
    "RateLimitConfig",
    "ResolvedSecrets",
    "RiskConfig",
    "SizingConfig",
    "StateConfig",
    "Venue",
    "WebhookConfig",
    "WebhookPolicy",
    "default_config",
    "load_config",
    "parse_config",
    "resolve_secrets",
]
