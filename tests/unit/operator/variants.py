"""Pipeline variants every builder test and the config contract test run over.

Each is a realistic combination a user can apply (valid against the CRDs): what the operator
renders for it is pinned in golden/<name>.yaml and must load in the executor's own config loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fks_operator.specs import ExchangeAccount, ExecutionPipeline, parse_account, parse_pipeline
from tests.unit.operator.conftest import account_obj, b64, pipeline_obj

REDIS = {"backend": "redis", "redisSecretRef": {"name": "fks-redis", "key": "url"}}


@dataclass(frozen=True)
class Variant:
    name: str
    pipeline: dict[str, Any]
    accounts: list[dict[str, Any]]
    service_monitor_api: bool = True
    http_route_api: bool = True
    secrets: Mapping[str, Mapping[str, str] | None] = field(default_factory=dict)

    def parsed_accounts(self) -> dict[str, ExchangeAccount]:
        parsed = [parse_account(obj) for obj in self.accounts]
        return {item.name: item for item in parsed}

    def parsed_pipeline(self) -> ExecutionPipeline:
        return parse_pipeline(self.pipeline)


def _secrets(pipeline: dict[str, Any]) -> dict[str, dict[str, str]]:
    name = pipeline["metadata"]["name"]
    return {
        f"{name}-webhook": {"secret": b64(f"{name}-webhook-secret")},
        "fks-redis": {"url": b64("redis://redis:6379/0")},
        "binance-testnet-keys": {"apiKey": b64("bk"), "secret": b64("bs")},
        "okx-testnet-keys": {"apiKey": b64("ok"), "secret": b64("os"), "passphrase": b64("op")},
        "bybit-main-keys": {"apiKey": b64("yk"), "secret": b64("ys"), "unrelated": b64("u")},
    }


def _variant(
    name: str, pipeline: dict[str, Any], accounts: list[dict[str, Any]], **kw: Any
) -> Variant:
    return Variant(name, pipeline, accounts, secrets=_secrets(pipeline), **kw)


BINANCE = account_obj("binance-testnet")
OKX = account_obj(
    "okx-testnet",
    exchange="okx",
    marketType="swap",
    credentialsSecretRef={"name": "okx-testnet-keys", "passwordKey": "passphrase"},
)
BYBIT_LIVE = account_obj(
    "bybit-main",
    exchange="bybit",
    environment="live",
    acknowledgeLiveTrading=True,
    marketType="future",
    endpoint="https://gateway.internal.example",
    options={"recvWindow": "10000", "adjustForTimeDifference": "true"},
)
PAPER = account_obj("binance-paper", credentialsSecretRef=None)
FAKE_VENUE = account_obj(
    "fake-venue",
    endpoint="http://fake-exchange.fks-demo.svc:8080",
    credentialsSecretRef={"name": "binance-testnet-keys"},
)
INGRESS_NGINX = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}

VARIANTS: list[Variant] = [
    _variant(
        "dry-run",
        pipeline_obj("btc-dry", dryRun=True, risk={"allowedSymbols": ["BTC/USDT"]}),
        [BINANCE],
    ),
    _variant(
        "dry-run-no-credentials",
        pipeline_obj(
            "paper",
            dryRun=True,
            accounts=[{"name": "binance-paper"}],
            monitoring={"serviceMonitor": {"enabled": False}},
        ),
        [PAPER],
    ),
    _variant(
        "testnet",
        pipeline_obj(
            "okx-perps",
            accounts=[{"name": "okx-testnet"}],
            webhook={"auth": "hmac", "maxSignalAgeSeconds": 60, "minConfidence": 0.75},
            risk={"sizing": {"method": "fixed-percent", "percent": 0.1}},
            responseDeadlineSeconds=1.5,
        ),
        [OKX],
        service_monitor_api=False,
    ),
    _variant(
        "redis-replicas",
        pipeline_obj(
            "eth-swing",
            replicas=3,
            state=REDIS,
            webhook={
                "auth": "token",
                "allowedSources": ["tradingview"],
                "trustedProxies": ["10.0.0.0/8"],
            },
            risk={
                "sizing": {"method": "fixed-notional", "notionalUSD": 50},
                "dailyLossLimitUSD": 200,
            },
            rateLimit={"requestsPerMinute": 60},
            monitoring={"serviceMonitor": {"interval": "15s", "labels": {"release": "prom"}}},
        ),
        [BINANCE],
    ),
    _variant(
        "autoscaling",
        pipeline_obj(
            "sol-scalp",
            state=REDIS,
            autoscaling={
                "enabled": True,
                "minReplicas": 2,
                "maxReplicas": 6,
                "targetCPUUtilizationPercentage": 60,
            },
            risk={"sizing": {"method": "volatility", "atrMultiplier": 1.5, "riskPerTrade": 0.01}},
            image="registry.example/fks-executor@sha256:" + "a" * 64,
            resources={
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"cpu": 1, "memory": "1Gi"},
            },
            podTemplate={
                "annotations": {"example.com/team": "quant"},
                "labels": {"team": "quant", "app.kubernetes.io/name": "not-overridable"},
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "trading", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 100,
                                "podAffinityTerm": {
                                    "topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": {
                                        "matchLabels": {"app.kubernetes.io/instance": "sol-scalp"}
                                    },
                                },
                            }
                        ]
                    }
                },
                "priorityClassName": "trading-critical",
                "imagePullSecrets": [{"name": "registry-creds"}],
            },
        ),
        [BINANCE],
    ),
    _variant(
        "multi-account",
        pipeline_obj(
            "multi",
            accounts=[{"name": "binance-testnet"}, {"name": "bybit-main", "default": True}],
            state=REDIS,
            replicas=2,
        ),
        [BINANCE, BYBIT_LIVE],
    ),
    _variant(
        "ingress-cert-manager",
        pipeline_obj(
            "alerts",
            accounts=[{"name": "binance-testnet"}, {"name": "fake-venue", "default": True}],
            state=REDIS,
            replicas=2,
            webhook={
                "auth": "token",
                "allowedSources": ["tradingview"],
                "trustedProxies": ["10.244.0.0/16"],
                "expose": {
                    "ingress": {
                        "enabled": True,
                        "className": "nginx",
                        "host": "alerts.example.com",
                        "tls": {"clusterIssuer": "letsencrypt-prod"},
                        "annotations": {
                            "nginx.ingress.kubernetes.io/proxy-body-size": "64k",
                            "cert-manager.io/cluster-issuer": "overridden",
                        },
                    }
                },
            },
            networkPolicy={
                "webhookFrom": [INGRESS_NGINX],
                "metricsFrom": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/metadata.name",
                                "operator": "In",
                                "values": ["monitoring"],
                            }
                        ]
                    }
                ],
                "exchangeCIDRs": ["203.0.113.0/24", "2001:db8::/32"],
            },
        ),
        [BINANCE, FAKE_VENUE],
    ),
    _variant(
        "gateway",
        pipeline_obj(
            "routed",
            webhook={
                "expose": {
                    "gateway": {
                        "enabled": True,
                        "parentRefs": [
                            {"name": "public", "namespace": "gateways", "sectionName": "https"}
                        ],
                        "hostnames": ["alerts.example.com"],
                    }
                }
            },
            networkPolicy={"webhookFrom": [{"matchLabels": {"gateway": "public"}}]},
            monitoring={"serviceMonitor": {"enabled": False}},
        ),
        [BINANCE],
    ),
    _variant(
        "suspended",
        pipeline_obj("halted", suspend=True, replicas=0),
        [BINANCE],
    ),
]

SIZING_METHODS = ["risk", "fixed-percent", "fixed-notional", "volatility"]
