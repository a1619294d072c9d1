"""Every schema and CEL rule of the CRDs accepts its good object and rejects its bad one through
the real API server (server-side dry-run, so nothing is stored)."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster

P: dict[str, Any] = {
    "apiVersion": "execution.fks.io/v1alpha1",
    "kind": "ExecutionPipeline",
    "metadata": {"name": "p1"},
    "spec": {"accounts": [{"name": "a"}], "webhook": {"secretRef": {"name": "w"}}},
}
A: dict[str, Any] = {
    "apiVersion": "execution.fks.io/v1alpha1",
    "kind": "ExchangeAccount",
    "metadata": {"name": "a1"},
    "spec": {"exchange": "binance"},
}
REDIS = {"backend": "redis", "redisSecretRef": {"name": "r"}}
INGRESS = {"enabled": True, "host": "alerts.example.com", "tls": {"clusterIssuer": "le"}}
SLACK = {"name": "ops", "type": "slack", "secretRef": {"name": "notify"}}
TELEGRAM = {"name": "tg", "type": "telegram", "secretRef": {"name": "notify", "key": "token"}}
GATEWAY = {"enabled": True, "parentRefs": [{"name": "public", "namespace": "gw"}]}
FUTURES = {
    "leverage": 10,
    "leverageBySymbol": {"ETH/USDT:USDT": 5},
    "marginMode": "isolated",
    "positionMode": "hedge",
}
FUTURES_RULE = "futures settings need marketType future or swap"


def exposed(**expose: Any) -> dict[str, Any]:
    return m(P, webhook={"secretRef": {"name": "w"}, "expose": expose})


def m(base: dict[str, Any], **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    obj["spec"].update(spec)
    return obj


def named(base: dict[str, Any], name: str) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    obj["metadata"]["name"] = name
    return obj


def selector_with(expression: dict[str, Any]) -> dict[str, Any]:
    return m(P, networkPolicy={"webhookFrom": [{"matchExpressions": [expression]}]})


EVERY_NAMESPACE = {"key": "kubernetes.io/metadata.name", "operator": "Exists"}
IN = {"key": "team", "operator": "In", "values": ["trading"]}
EMPTY_SELECTOR = "a namespace selector needs matchLabels or matchExpressions"
VALUES_RULE = "values must not be empty with operator In or NotIn, and must be empty with Exists"


# (case, object, accepted, fragment of the error message when rejected)
CASES: list[tuple[str, dict[str, Any], bool, str]] = [
    ("pipeline defaults", P, True, ""),
    ("single account without default", m(P, accounts=[{"name": "acct-x"}]), True, ""),
    (
        "two accounts one default",
        m(P, accounts=[{"name": "acct-x"}, {"name": "acct-y", "default": True}]),
        True,
        "",
    ),
    (
        "two accounts no default",
        m(P, accounts=[{"name": "acct-x"}, {"name": "acct-y"}]),
        False,
        "exactly one account must have default: true",
    ),
    (
        "two defaults",
        m(P, accounts=[{"name": "acct-x", "default": True}, {"name": "acct-y", "default": True}]),
        False,
        "exactly one account must have default: true",
    ),
    (
        "duplicate account names",
        m(P, accounts=[{"name": "acct-x", "default": True}, {"name": "acct-x"}]),
        False,
        "spec.accounts",
    ),
    (
        "replicas 3 with memory state",
        m(P, replicas=3),
        False,
        "state.backend must be redis when replicas > 1",
    ),
    (
        "autoscaling with memory state",
        m(P, autoscaling={"enabled": True}),
        False,
        "state.backend must be redis",
    ),
    ("replicas 3 with redis", m(P, replicas=3, state=REDIS), True, ""),
    ("execution deadline 60 (default age 300)", m(P, execution={"deadlineSeconds": 60}), True, ""),
    (
        "execution deadline past the default signal age",
        m(P, execution={"deadlineSeconds": 301}),
        False,
        "execution.deadlineSeconds must be at most webhook.maxSignalAgeSeconds",
    ),
    (
        "execution deadline past maxSignalAgeSeconds",
        m(
            P,
            execution={"deadlineSeconds": 30.5},
            webhook={"secretRef": {"name": "w"}, "maxSignalAgeSeconds": 30},
        ),
        False,
        "execution.deadlineSeconds must be at most webhook.maxSignalAgeSeconds",
    ),
    ("execution deadline 0", m(P, execution={"deadlineSeconds": 0}), False, "deadlineSeconds"),
    ("redis without secret ref", m(P, state={"backend": "redis"}), False, "redisSecretRef"),
    (
        "minReplicas above maxReplicas",
        m(P, state=REDIS, autoscaling={"enabled": True, "minReplicas": 5, "maxReplicas": 3}),
        False,
        "minReplicas",
    ),
    ("riskPerTrade 0", m(P, risk={"sizing": {"riskPerTrade": 0}}), False, "riskPerTrade"),
    ("riskPerTrade 1", m(P, risk={"sizing": {"riskPerTrade": 1}}), True, ""),
    ("percent 1.5", m(P, risk={"sizing": {"percent": 1.5}}), False, "percent"),
    ("notionalUSD 0", m(P, risk={"sizing": {"notionalUSD": 0}}), False, "notionalUSD"),
    ("atrMultiplier -1", m(P, risk={"sizing": {"atrMultiplier": -1}}), False, "atrMultiplier"),
    ("unknown sizing method", m(P, risk={"sizing": {"method": "yolo"}}), False, "method"),
    (
        "unknown auth mode",
        m(P, webhook={"secretRef": {"name": "w"}, "auth": "none"}),
        False,
        "auth",
    ),
    ("webhook without secretRef", m(P, webhook={}), False, "secretRef"),
    (
        "source neither CIDR nor preset",
        m(P, webhook={"secretRef": {"name": "w"}, "allowedSources": ["not a cidr"]}),
        False,
        "allowedSources",
    ),
    ("ingress", exposed(ingress=INGRESS), True, ""),
    ("gateway", exposed(gateway={**GATEWAY, "hostnames": ["a.example.com"]}), True, ""),
    (
        "ingress and gateway",
        exposed(ingress=INGRESS, gateway=GATEWAY),
        False,
        "enable at most one of expose.ingress and expose.gateway",
    ),
    (
        "switching from ingress to gateway in one apply",
        exposed(ingress={**INGRESS, "enabled": False}, gateway=GATEWAY),
        True,
        "",
    ),
    (
        "ingress without host",
        exposed(ingress={"enabled": True}),
        False,
        "expose.ingress.host is required when the Ingress is enabled",
    ),
    ("disabled ingress without host", exposed(ingress={"className": "nginx"}), True, ""),
    ("wildcard ingress host", exposed(ingress={**INGRESS, "host": "*.example.com"}), False, "host"),
    (
        "gateway without parentRefs",
        exposed(gateway={"enabled": True}),
        False,
        "expose.gateway.parentRefs is required when the route is enabled",
    ),
    (
        "parentRef without name",
        exposed(gateway={"enabled": True, "parentRefs": [{"namespace": "gw"}]}),
        False,
        "name",
    ),
    (
        "network policy",
        m(
            P,
            networkPolicy={
                "webhookFrom": [{"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}],
                "metricsFrom": [{"matchExpressions": [{"key": "team", "operator": "Exists"}]}],
                "exchangeCIDRs": ["203.0.113.0/24", "2001:db8::/32"],
            },
        ),
        True,
        "",
    ),
    ("network policy off", m(P, networkPolicy={"enabled": False}), True, ""),
    (
        "exchange CIDR without prefix length",
        m(P, networkPolicy={"exchangeCIDRs": ["203.0.113.7"]}),
        False,
        "exchangeCIDRs",
    ),
    (
        "unknown selector operator",
        m(
            P,
            networkPolicy={"webhookFrom": [{"matchExpressions": [{"key": "a", "operator": "Is"}]}]},
        ),
        False,
        "operator",
    ),
    (
        "every namespace written out",
        m(P, networkPolicy={"webhookFrom": [{"matchExpressions": [EVERY_NAMESPACE]}]}),
        True,
        "",
    ),
    (
        "In and NotIn with values",
        m(
            P,
            networkPolicy={
                "metricsFrom": [{"matchExpressions": [IN, {**IN, "operator": "NotIn"}]}]
            },
        ),
        True,
        "",
    ),
    ("empty selector", m(P, networkPolicy={"webhookFrom": [{}]}), False, EMPTY_SELECTOR),
    (
        "selector with empty matchLabels",
        m(P, networkPolicy={"metricsFrom": [{"matchLabels": {}}]}),
        False,
        EMPTY_SELECTOR,
    ),
    ("In without values", selector_with({"key": "team", "operator": "In"}), False, VALUES_RULE),
    (
        "NotIn with empty values",
        selector_with({"key": "team", "operator": "NotIn", "values": []}),
        False,
        VALUES_RULE,
    ),
    (
        "Exists with values",
        selector_with({"key": "team", "operator": "Exists", "values": ["a"]}),
        False,
        VALUES_RULE,
    ),
    (
        "DoesNotExist with values",
        selector_with({"key": "team", "operator": "DoesNotExist", "values": ["a"]}),
        False,
        VALUES_RULE,
    ),
    (
        "selector key not a label key",
        selector_with({"key": "-team", "operator": "Exists"}),
        False,
        "matchExpressions[0].key",
    ),
    (
        "selector value not a label value",
        selector_with({**IN, "values": ["a b"]}),
        False,
        "matchExpressions[0].values[0]",
    ),
    (
        "matchLabels value not a label value",
        m(P, networkPolicy={"webhookFrom": [{"matchLabels": {"team": "a" * 64}}]}),
        False,
        "matchLabels.team",
    ),
    (
        "notifications slack and telegram",
        m(P, notifications=[SLACK, {**TELEGRAM, "chatId": "-1001234567890"}]),
        True,
        "",
    ),
    (
        "telegram without chatId",
        m(P, notifications=[TELEGRAM]),
        False,
        "chatId is required with type telegram, and only with it",
    ),
    (
        "slack with chatId",
        m(P, notifications=[{**SLACK, "chatId": "-1"}]),
        False,
        "chatId is required with type telegram, and only with it",
    ),
    (
        "slack with endpoint",
        m(P, notifications=[{**SLACK, "endpoint": "http://127.0.0.1:9"}]),
        False,
        "endpoint is for type telegram only",
    ),
    (
        "two notifications of one name",
        m(P, notifications=[SLACK, {**SLACK, "type": "discord"}]),
        False,
        "Duplicate value",
    ),
    (
        "unknown notification event",
        m(P, notifications=[{**SLACK, "events": ["order_lost"]}]),
        False,
        "events",
    ),
    ("name longer than 54", named(P, "a" * 55), False, "at most 54 characters"),
    ("dotted name", named(P, "a.b"), False, "name"),
    ("account defaults", A, True, ""),
    (
        "live without acknowledgement",
        m(A, environment="live"),
        False,
        "set acknowledgeLiveTrading: true to confirm",
    ),
    ("live acknowledged", m(A, environment="live", acknowledgeLiveTrading=True), True, ""),
    ("unknown environment", m(A, environment="prod"), False, "environment"),
    ("unknown market type", m(A, marketType="options"), False, "marketType"),
    (
        "futures settings on a swap account",
        m(A, marketType="swap", futures=FUTURES),
        True,
        "",
    ),
    ("futures settings on a dated future", m(A, marketType="future", futures=FUTURES), True, ""),
    (
        "hedge mode on spot",
        m(A, marketType="spot", futures={"positionMode": "hedge"}),
        False,
        FUTURES_RULE,
    ),
    ("leverage on margin", m(A, marketType="margin", futures={"leverage": 3}), False, FUTURES_RULE),
    ("futures without a market type", m(A, futures={"leverage": 3}), False, FUTURES_RULE),
    ("leverage 0", m(A, marketType="swap", futures={"leverage": 0}), False, "leverage"),
    ("leverage 126", m(A, marketType="swap", futures={"leverage": 126}), False, "leverage"),
    (
        "leverage by symbol 126",
        m(A, marketType="swap", futures={"leverageBySymbol": {"BTC/USDT:USDT": 126}}),
        False,
        "leverageBySymbol",
    ),
    (
        "unknown margin mode",
        m(A, marketType="swap", futures={"marginMode": "portfolio"}),
        False,
        "marginMode",
    ),
    (
        "unknown position mode",
        m(A, marketType="swap", futures={"positionMode": "both"}),
        False,
        "positionMode",
    ),
    ("exchange id with capitals", m(A, exchange="Binance"), False, "exchange"),
]


@pytest.fixture(scope="module")
def cel_ns(kube: KubeCluster) -> Iterator[str]:
    """One namespace for every case (dry-run creates nothing in it)."""
    name = f"t-cel-{secrets.token_hex(3)}"
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.parametrize(("case", "obj", "accepted", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_rule(
    kube: KubeCluster,
    crds: None,
    cel_ns: str,
    case: str,
    obj: dict[str, Any],
    accepted: bool,
    fragment: str,
) -> None:
    result = kube.kubectl(
        "create",
        "--dry-run=server",
        "-n",
        cel_ns,
        "-f",
        "-",
        input=yaml.safe_dump(obj),
        check=False,
    )
    if accepted:
        assert result.returncode == 0, f"{case}: refused:\n{result.stderr}"
    else:
        assert result.returncode != 0, f"{case}: the API server accepted it"
        assert "is invalid" in result.stderr, result.stderr
        assert fragment in result.stderr, f"{case}: {fragment!r} not in:\n{result.stderr}"


def test_exchange_is_immutable_other_fields_are_not(
    kube: KubeCluster, crds: None, namespace: str
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(A))
    changed = kube.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=yaml.safe_dump(m(A, exchange="kraken")),
        check=False,
    )
    assert changed.returncode != 0
    assert "exchange is immutable" in changed.stderr, changed.stderr
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(m(A, marketType="swap")))
