"""The executor config (docs/configuration.md) rendered from a pipeline and its accounts.

Secrets are never in it: it names the environment variables that hold them, and the Deployment
fills those from Secrets with ``secretKeyRef`` (see :mod:`.secrets`). The rendering is
deterministic (fixed key order, floats as floats), so the same inputs give the same bytes and the
same hash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from fks_operator.builders.meta import (
    CONFIG_KEY,
    HTTP_PORT,
    STATE_DIR,
    Manifest,
    config_map_name,
    object_meta,
)
from fks_operator.errors import RenderError
from fks_operator.specs import ExchangeAccount, ExecutionPipeline

WEBHOOK_SECRET_ENV = "FKS_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
REDIS_URL_ENV = "FKS_REDIS_URL"
JOURNAL_PATH = f"{STATE_DIR}/journal.db"


def account_env_prefix(account_name: str) -> str:
    """``FKS_ACCOUNT_<NAME>``: the account name upper-cased, every other character ``_``."""
    return "FKS_ACCOUNT_" + re.sub(r"[^A-Z0-9]", "_", account_name.upper())


def account_env_names(account: ExchangeAccount) -> tuple[str, str, str]:
    """The variables holding an account's API key, secret and password ("" when none)."""
    ref = account.spec.credentials_secret_ref
    if ref is None:
        return "", "", ""
    prefix = account_env_prefix(account.name)
    password = f"{prefix}_PASSWORD" if ref.password_key else ""
    return f"{prefix}_API_KEY", f"{prefix}_SECRET", password


def credentials_wired(pipeline: ExecutionPipeline) -> bool:
    """Whether account credentials reach the pods: never for a dry-run pipeline, which cannot
    place orders and so gets no trading keys at all (least privilege)."""
    return not pipeline.spec.dry_run


def pipeline_accounts(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> list[ExchangeAccount]:
    """The pipeline's accounts in spec order; RenderError if one is not in ``accounts``."""
    missing = [name for name in pipeline.spec.account_names if name not in accounts]
    if missing:
        raise RenderError(f"ExchangeAccount {missing[0]!r} not found")
    result = [accounts[name] for name in pipeline.spec.account_names]
    prefixes: dict[str, str] = {}
    for account in result:
        prefix = account_env_prefix(account.name)
        if prefix in prefixes:
            raise RenderError(
                f"accounts {prefixes[prefix]!r} and {account.name!r} map to the same "
                f"environment variables ({prefix}_*); rename one of the ExchangeAccounts"
            )
        prefixes[prefix] = account.name
    return result


def executor_config(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> dict[str, Any]:
    """The executor config as a dict, keys in documentation order."""
    spec = pipeline.spec
    default = spec.default_account
    rendered_accounts = []
    for account in pipeline_accounts(pipeline, accounts):
        api_key_env, secret_env, password_env = (
            account_env_names(account) if credentials_wired(pipeline) else ("", "", "")
        )
        rendered_accounts.append(
            {
                "name": account.name,
                "exchange": account.spec.exchange,
                "environment": account.spec.environment,
                "marketType": account.spec.market_type,
                "apiKeyEnv": api_key_env,
                "secretEnv": secret_env,
                "passwordEnv": password_env,
                "endpoint": account.spec.endpoint,
                "options": dict(sorted(account.spec.options.items())),
                "default": account.name == default,
            }
        )
    sizing = spec.risk.sizing
    state: dict[str, Any] = {"backend": spec.state.backend}
    if spec.state.backend == "redis":
        state["redisUrlEnv"] = REDIS_URL_ENV
    else:
        state["journalPath"] = JOURNAL_PATH
    return {
        "pipeline": pipeline.name,
        "namespace": pipeline.namespace,
        "dryRun": spec.dry_run,
        "suspend": spec.suspend,
        "listen": {"host": "0.0.0.0", "port": HTTP_PORT},
        "responseDeadlineSeconds": float(spec.response_deadline_seconds),
        "execution": {"deadlineSeconds": float(spec.execution.deadline_seconds)},
        "webhook": {
            "auth": spec.webhook.auth,
            "secretEnv": WEBHOOK_SECRET_ENV,
            "allowedSources": list(spec.webhook.allowed_sources),
            "trustedProxies": list(spec.webhook.trusted_proxies),
            "maxSignalAgeSeconds": spec.webhook.max_signal_age_seconds,
            "minConfidence": float(spec.webhook.min_confidence),
        },
        "accounts": rendered_accounts,
        "risk": {
            "sizing": {
                "method": sizing.method,
                "riskPerTrade": float(sizing.risk_per_trade),
                "percent": float(sizing.percent),
                "notionalUSD": float(sizing.notional_usd),
                "atrMultiplier": float(sizing.atr_multiplier),
            },
            "maxPositionSizeUSD": float(spec.risk.max_position_size_usd),
            "maxOrderSizeUSD": float(spec.risk.max_order_size_usd),
            "dailyLossLimitUSD": float(spec.risk.daily_loss_limit_usd),
            "allowedSymbols": list(spec.risk.allowed_symbols),
            "paperBalanceUSD": float(spec.risk.paper_balance_usd),
        },
        "rateLimit": {"requestsPerMinute": spec.rate_limit.requests_per_minute},
        "circuitBreaker": {
            "failureThreshold": spec.circuit_breaker.failure_threshold,
            "resetTimeoutSeconds": spec.circuit_breaker.reset_timeout_seconds,
        },
        "state": state,
        "audit": {"path": ""},
    }


def render_executor_config(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> str:
    """The executor config file (YAML text), byte-for-byte deterministic."""
    header = (
        f"# Rendered by fks-operator from ExecutionPipeline {pipeline.namespace}/"
        f"{pipeline.name}. Do not edit: the operator overwrites changes.\n"
    )
    body = yaml.safe_dump(
        executor_config(pipeline, accounts),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    return header + body


def build_config_map(pipeline: ExecutionPipeline, config_yaml: str) -> Manifest:
    """The ConfigMap ``<pipeline>-executor-config`` holding the rendered config."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(pipeline, config_map_name(pipeline)),
        "data": {CONFIG_KEY: config_yaml},
    }
