"""Factories for operator unit tests: API-shaped objects, parsed as the operator parses them."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from fks_operator.accounts import StaticCatalog
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExchangeAccount, ExecutionPipeline, parse_account, parse_pipeline

NAMESPACE = "trading"
PIPELINE_UID = "6f1c2a8e-0000-4000-8000-000000000001"

#: A catalog shaped like ccxt's: binance/bybit have sandboxes, kraken has none.
CATALOG = StaticCatalog(
    exchanges=frozenset({"binance", "bybit", "kraken", "okx"}),
    sandboxes=frozenset({"binance", "bybit", "okx"}),
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep merge; a None override deletes the key."""
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def account_obj(name: str = "binance-testnet", **spec: Any) -> dict[str, Any]:
    base = {
        "exchange": "binance",
        "environment": "testnet",
        "marketType": "spot",
        "credentialsSecretRef": {"name": f"{name}-keys"},
    }
    return {
        "apiVersion": "execution.fks.io/v1alpha1",
        "kind": "ExchangeAccount",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": f"uid-{name}", "generation": 1},
        "spec": merge(base, spec),
    }


def pipeline_obj(name: str = "btc-momentum", **spec: Any) -> dict[str, Any]:
    base = {
        "accounts": [{"name": "binance-testnet", "default": True}],
        "webhook": {"secretRef": {"name": f"{name}-webhook", "key": "secret"}},
    }
    return {
        "apiVersion": "execution.fks.io/v1alpha1",
        "kind": "ExecutionPipeline",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": PIPELINE_UID, "generation": 3},
        "spec": merge(base, spec),
    }


def account(name: str = "binance-testnet", **spec: Any) -> ExchangeAccount:
    return parse_account(account_obj(name, **spec))


def pipeline(name: str = "btc-momentum", **spec: Any) -> ExecutionPipeline:
    return parse_pipeline(pipeline_obj(name, **spec))


def accounts_by_name(*items: ExchangeAccount) -> dict[str, ExchangeAccount]:
    return {item.name: item for item in items}


@pytest.fixture
def settings() -> OperatorSettings:
    return OperatorSettings(executor_image="registry.example/fks-executor:1.2.3")
