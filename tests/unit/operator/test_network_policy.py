"""spec.networkPolicy: what may reach the executor pods and what they may reach (see
docs/security.md, "Network policy")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from fks_operator.builders import build_children, build_network_policy
from fks_operator.errors import RenderError, SpecError
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExchangeAccount, ExecutionPipeline
from tests.unit.operator.conftest import account, accounts_by_name, b64, pipeline

REDIS = {"backend": "redis", "redisSecretRef": {"name": "fks-redis", "key": "url"}}
NGINX = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
MONITORING = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
#: To any address: NodeLocal DNSCache (169.254.20.10), GKE Cloud DNS and OpenShift DNS are no
#: kube-dns pods in kube-system, and an executor that cannot resolve fails every order.
DNS = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def policy(
    p: ExecutionPipeline,
    *accounts: ExchangeAccount,
    secrets: Mapping[str, Mapping[str, str] | None] | None = None,
) -> dict[str, Any]:
    rendered = build_network_policy(p, accounts_by_name(*(accounts or (account(),))), secrets or {})
    assert rendered is not None
    return rendered


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def test_on_by_default_selecting_only_the_pipelines_pods() -> None:
    rendered = policy(pipeline())
    assert rendered["metadata"]["name"] == "btc-momentum-executor"
    assert rendered["metadata"]["ownerReferences"][0]["name"] == "btc-momentum"
    assert rendered["spec"]["podSelector"] == {
        "matchLabels": {
            "app.kubernetes.io/name": "fks-executor",
            "app.kubernetes.io/instance": "btc-momentum",
        }
    }
    assert rendered["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in rendered["spec"], "nobody named: policyTypes Ingress lets none in"
    assert rendered["spec"]["egress"] == [DNS, {"ports": tcp(443)}]


def test_turned_off_it_is_not_rendered_and_is_deleted() -> None:
    p = pipeline(networkPolicy={"enabled": False})
    assert build_network_policy(p, accounts_by_name(account()), {}) is None
    children = build_children(
        p, accounts_by_name(account()), OperatorSettings(), {}, service_monitor_api=True
    )
    assert ("networking.k8s.io/v1", "NetworkPolicy") in children.unwanted()
    assert not any("NetworkPolicy" in note for note in children.notes)


def test_webhook_and_metrics_sources_each_get_port_8000() -> None:
    rendered = policy(pipeline(networkPolicy={"webhookFrom": [NGINX], "metricsFrom": [MONITORING]}))
    assert rendered["spec"]["ingress"] == [
        {"from": [{"namespaceSelector": NGINX}], "ports": tcp(8000)},
        {"from": [{"namespaceSelector": MONITORING}], "ports": tcp(8000)},
    ]


def test_match_expressions_pass_through_and_every_namespace_is_written_out() -> None:
    expression = {"key": "team", "operator": "In", "values": ["a", "b"]}
    everywhere = {"key": "kubernetes.io/metadata.name", "operator": "Exists"}
    rendered = policy(
        pipeline(networkPolicy={"webhookFrom": [{"matchExpressions": [expression, everywhere]}]})
    )
    assert rendered["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchExpressions": [expression, everywhere]}}
    ]


OK_KEYS = ["team", "kubernetes.io/metadata.name", "a" * 63, "x.example.com/" + "b" * 63, "A_b.c-9"]
BAD_KEYS = [
    "-team",
    "team-",
    "te am",
    "a" * 64,
    "/team",
    "Example.com/team",
    "a/b/c",
    "x" * 254 + "/team",
    "example.com/",
]
OK_VALUES = ["", "prod", "a" * 63, "v1.2_3-x"]
BAD_VALUES = ["a" * 64, "-prod", "prod.", "a b", "a/b"]


@pytest.mark.parametrize("key", OK_KEYS)
def test_label_keys_kubernetes_accepts_are_accepted(key: str) -> None:
    pipeline(networkPolicy={"webhookFrom": [{"matchLabels": {key: "x"}}]})
    pipeline(
        networkPolicy={"metricsFrom": [{"matchExpressions": [{"key": key, "operator": "Exists"}]}]}
    )


@pytest.mark.parametrize("value", OK_VALUES)
def test_label_values_kubernetes_accepts_are_accepted(value: str) -> None:
    pipeline(networkPolicy={"webhookFrom": [{"matchLabels": {"team": value}}]})
    expression = {"key": "team", "operator": "NotIn", "values": [value]}
    pipeline(networkPolicy={"webhookFrom": [{"matchExpressions": [expression]}]})


def rejected(selector: dict[str, Any], field: str = "webhookFrom") -> SpecError:
    with pytest.raises(SpecError) as e:
        pipeline(networkPolicy={field: [NGINX, selector]})
    return e.value


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_label_keys_are_a_spec_error_naming_the_field_not_the_key(key: str) -> None:
    error = rejected({"matchLabels": {key: "x"}})
    assert error.path == "spec.networkPolicy.webhookFrom[1]"
    assert error.message.startswith("matchLabels holds a key that is not a Kubernetes label key")
    error = rejected({"matchExpressions": [{"key": key, "operator": "Exists"}]}, "metricsFrom")
    assert error.path == "spec.networkPolicy.metricsFrom[1].matchExpressions[0]"
    assert error.message.startswith("key is not a Kubernetes label key")
    assert key not in str(error)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_label_values_are_a_spec_error_naming_the_field_not_the_value(value: str) -> None:
    error = rejected({"matchLabels": {"team": value}})
    assert error.path == "spec.networkPolicy.webhookFrom[1]"
    assert error.message.startswith("matchLabels holds a value that is not a Kubernetes label")
    expression = {"key": "team", "operator": "In", "values": ["ok", value]}
    error = rejected({"matchExpressions": [expression]})
    assert error.path == "spec.networkPolicy.webhookFrom[1].matchExpressions[0]"
    assert error.message.startswith("values holds an entry that is not a Kubernetes label value")
    assert value not in str(error)


@pytest.mark.parametrize(
    ("operator", "values", "message"),
    [
        ("In", None, "values must not be empty with operator In"),
        ("NotIn", [], "values must not be empty with operator NotIn"),
        ("Exists", ["a"], "values must be empty with operator Exists"),
        ("DoesNotExist", ["a"], "values must be empty with operator DoesNotExist"),
    ],
)
def test_values_must_fit_the_operator(
    operator: str, values: list[str] | None, message: str
) -> None:
    expression: dict[str, Any] = {"key": "team", "operator": operator}
    if values is not None:
        expression["values"] = values
    error = rejected({"matchExpressions": [{"key": "ok", "operator": "Exists"}, expression]})
    assert error.path == "spec.networkPolicy.webhookFrom[1].matchExpressions[1]"
    assert error.message == message


def test_an_unknown_operator_is_a_spec_error() -> None:
    error = rejected({"matchExpressions": [{"key": "team", "operator": "Is"}]})
    assert error.path == "spec.networkPolicy.webhookFrom[1].matchExpressions[0].operator"
    assert error.message == "must be one of In, NotIn, Exists, DoesNotExist"


@pytest.mark.parametrize("selector", [{}, {"matchLabels": {}}, {"matchExpressions": []}])
def test_an_empty_selector_is_refused_not_every_namespace(selector: dict[str, Any]) -> None:
    """``namespaceSelector: {}`` would admit every namespace, while the docs say empty = none."""
    error = rejected(selector, "metricsFrom")
    assert error.path == "spec.networkPolicy.metricsFrom[1]"
    assert error.message.startswith("a namespace selector needs matchLabels or matchExpressions")
    assert "kubernetes.io/metadata.name with Exists" in error.message


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("redis://redis.trading.svc:6379/0", 6379),
        ("rediss://:pw@cache.example.com:6380/0", 6380),
        ("redis://redis", 6379),
        ("redis://redis:notaport", 6379),
    ],
)
def test_redis_egress_uses_the_port_of_its_url(url: str, port: int) -> None:
    secrets = {"fks-redis": {"url": b64(url)}}
    rendered = policy(pipeline(state=REDIS), secrets=secrets)
    assert {"ports": tcp(port)} in rendered["spec"]["egress"]
    assert ":pw@" not in str(rendered)
    assert "cache.example.com" not in str(rendered), "only the port is taken from the Secret"


def test_no_redis_egress_without_redis_and_a_default_port_without_its_secret() -> None:
    assert len(policy(pipeline())["spec"]["egress"]) == 2
    assert {"ports": tcp(6379)} in policy(pipeline(state=REDIS), secrets={})["spec"]["egress"]


@pytest.mark.parametrize(
    ("endpoint", "ports"),
    [
        ("", (443,)),
        ("https://gateway.internal.example", (443,)),
        ("https://testnet.example.com:8443/api", (443, 8443)),
        ("http://fake-exchange.fks-demo.svc:8080", (443, 8080)),
        ("http://fake-exchange.fks-demo.svc", (80, 443)),
    ],
)
def test_exchange_egress_covers_the_endpoint_override(endpoint: str, ports: tuple[int]) -> None:
    rendered = policy(pipeline(), account(endpoint=endpoint))
    assert rendered["spec"]["egress"][-1] == {"ports": tcp(*ports)}


def test_every_account_of_the_pipeline_counts() -> None:
    p = pipeline(accounts=[{"name": "a", "default": True}, {"name": "b"}])
    rendered = policy(
        p,
        account("a", endpoint="http://venue-a:9001"),
        account("b", endpoint="http://venue-b:9002"),
    )
    assert rendered["spec"]["egress"][-1] == {"ports": tcp(443, 9001, 9002)}


def test_exchange_cidrs_restrict_every_exchange_port() -> None:
    p = pipeline(networkPolicy={"exchangeCIDRs": ["203.0.113.7/24", "2001:db8::/32"]})
    rendered = policy(p, account(endpoint="http://venue:8080"))
    assert rendered["spec"]["egress"][-1] == {
        "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}, {"ipBlock": {"cidr": "2001:db8::/32"}}],
        "ports": tcp(443, 8080),
    }


def test_a_bad_cidr_or_endpoint_port_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match="exchangeCIDRs holds an entry that is not a CIDR") as e:
        pipeline(networkPolicy={"exchangeCIDRs": ["300.1.1.1/8"]})
    assert e.value.path.startswith("spec.networkPolicy.exchangeCIDRs")
    with pytest.raises(RenderError, match="'binance-testnet': endpoint has an invalid port"):
        policy(pipeline(), account(endpoint="http://venue:99999"))


def test_notes_say_what_the_policy_keeps_out() -> None:
    def notes(**spec: Any) -> tuple[str, ...]:
        rendered = build_children(
            pipeline(**spec), accounts_by_name(account()), OperatorSettings(), {},
            service_monitor_api=True,
        )  # fmt: skip
        return rendered.notes

    assert notes() == (
        "NetworkPolicy: nothing may reach the executors' port 8000 (networkPolicy.webhookFrom "
        "and metricsFrom are empty); kubectl port-forward still works.",
    )
    assert notes(networkPolicy={"webhookFrom": [NGINX]}) == (
        "NetworkPolicy: Prometheus may not scrape the executors (networkPolicy.metricsFrom is "
        "empty).",
    )
    assert notes(networkPolicy={"metricsFrom": [MONITORING]}) == (
        "NetworkPolicy: alerts from an ingress controller or gateway cannot reach the executors "
        "(networkPolicy.webhookFrom is empty; only metricsFrom may reach port 8000).",
    )
    no_monitor = {"serviceMonitor": {"enabled": False}}
    assert notes(networkPolicy={"webhookFrom": [NGINX]}, monitoring=no_monitor) == ()
    assert notes(networkPolicy={"webhookFrom": [NGINX], "metricsFrom": [MONITORING]}) == ()
