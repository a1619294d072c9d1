"""spec.webhook.expose: only the webhook path reaches the internet, publicURL, and the Ready
message saying what would keep alerts out (docs/tradingview.md, docs/security.md)."""

from __future__ import annotations

from typing import Any

import pytest

from fks_operator.builders import (
    build_children,
    build_pipeline_status,
    pipeline_conditions,
    public_url,
)
from fks_operator.conditions import PipelineReason
from fks_operator.errors import SpecError
from fks_operator.readiness import ExecutorsState
from fks_operator.settings import OperatorSettings
from fks_operator.specs import ExecutionPipeline
from tests.unit.operator.conftest import account, accounts_by_name, b64, pipeline

SECRETS = {
    "btc-momentum-webhook": {"secret": b64("w")},
    "binance-testnet-keys": {"apiKey": b64("k"), "secret": b64("s")},
}
INGRESS = {"enabled": True, "host": "alerts.example.com", "tls": {"secretName": "alerts-tls"}}
GATEWAY = {"enabled": True, "parentRefs": [{"name": "public"}], "hostnames": ["a.example.com"]}
NGINX = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
READY = ExecutorsState(True, PipelineReason.EXECUTORS_READY, "1/1 executor pods ready", 1, 1)


def exposed(expose: dict[str, Any], **spec: Any) -> ExecutionPipeline:
    return pipeline(webhook={"expose": expose}, **spec)


def render(p: ExecutionPipeline, *, routes: bool = True) -> Any:
    return build_children(
        p,
        accounts_by_name(account()),
        OperatorSettings(),
        SECRETS,
        service_monitor_api=True,
        http_route_api=routes,
    )


def ready_message(p: ExecutionPipeline) -> str:
    _, ready = pipeline_conditions(p, executors=READY)
    assert ready.status == "True", "advice never changes whether the executors are ready"
    return ready.message


def test_nothing_is_exposed_by_default() -> None:
    rendered = render(pipeline())
    assert rendered.ingress is None
    assert rendered.http_route is None
    assert {("networking.k8s.io/v1", "Ingress"), ("gateway.networking.k8s.io/v1", "HTTPRoute")} <= (
        set(rendered.unwanted())
    ), "turned off: deleted"
    assert public_url(pipeline(), http_route_api=True) is None
    assert ready_message(pipeline()) == "1/1 executor pods ready"


def test_the_ingress_routes_exactly_the_webhook_path_to_the_service() -> None:
    ingress = render(exposed({"ingress": INGRESS})).ingress
    assert ingress is not None
    assert ingress["metadata"]["name"] == "btc-momentum-executor"
    assert ingress["metadata"]["ownerReferences"][0]["name"] == "btc-momentum"
    assert "ingressClassName" not in ingress["spec"], "empty className: the default class"
    assert ingress["spec"]["tls"] == [{"hosts": ["alerts.example.com"], "secretName": "alerts-tls"}]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "alerts.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/webhook/tradingview",
            "pathType": "Exact",
            "backend": {"service": {"name": "btc-momentum-executor", "port": {"name": "http"}}},
        }
    ]
    assert "annotations" not in ingress["metadata"]


def test_cert_manager_issues_into_the_named_or_a_derived_secret() -> None:
    tls = {"clusterIssuer": "letsencrypt-prod"}
    ingress = render(exposed({"ingress": {**INGRESS, "tls": tls}})).ingress
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod"
    }
    assert ingress["spec"]["tls"][0]["secretName"] == "btc-momentum-executor-tls"
    both = render(exposed({"ingress": {**INGRESS, "tls": {**tls, "secretName": "mine"}}})).ingress
    assert both["spec"]["tls"][0]["secretName"] == "mine"


def test_user_annotations_pass_but_the_issuer_annotation_is_the_operators() -> None:
    spec = {
        **INGRESS,
        "className": "nginx",
        "tls": {"clusterIssuer": "real"},
        "annotations": {"cert-manager.io/cluster-issuer": "other", "b": "2", "a": "1"},
    }
    ingress = render(exposed({"ingress": spec})).ingress
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {
        "a": "1", "b": "2", "cert-manager.io/cluster-issuer": "real",
    }  # fmt: skip


def test_public_url_is_https_with_tls_and_says_when_it_is_not() -> None:
    assert public_url(exposed({"ingress": INGRESS}), http_route_api=False) == (
        "https://alerts.example.com/webhook/tradingview"
    )
    plain = exposed({"ingress": {**INGRESS, "tls": {}}}, networkPolicy={"webhookFrom": [NGINX]})
    assert (
        public_url(plain, http_route_api=False) == "http://alerts.example.com/webhook/tradingview"
    )
    assert "the passphrase travels in clear text" in ready_message(plain)
    assert render(plain).ingress["spec"].get("tls") is None


def test_the_route_matches_only_posts_to_the_webhook_path() -> None:
    route = render(exposed({"gateway": GATEWAY})).http_route
    assert route is not None
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "public"}]
    assert route["spec"]["hostnames"] == ["a.example.com"]
    assert route["spec"]["rules"] == [
        {
            "matches": [
                {"path": {"type": "Exact", "value": "/webhook/tradingview"}, "method": "POST"}
            ],
            "backendRefs": [{"name": "btc-momentum-executor", "port": 8000}],
        }
    ]
    p = exposed({"gateway": GATEWAY})
    assert public_url(p, http_route_api=True) == "https://a.example.com/webhook/tradingview"
    no_host = exposed({"gateway": {**GATEWAY, "hostnames": []}})
    assert "hostnames" not in render(no_host).http_route["spec"]
    assert public_url(no_host, http_route_api=True) is None, "the listener's host is not read"


def test_the_route_is_skipped_with_a_note_where_the_api_is_not_served() -> None:
    p = exposed({"gateway": GATEWAY})
    rendered = render(p, routes=False)
    assert rendered.http_route is None
    assert "HTTPRoute skipped: the cluster does not serve gateway.networking.k8s.io/v1." in (
        rendered.notes
    )
    assert public_url(p, http_route_api=False) is None


def test_missing_trusted_proxies_are_named_in_the_ready_message() -> None:
    sources = {"allowedSources": ["tradingview"], "expose": {"ingress": INGRESS}}
    p = pipeline(webhook=sources, networkPolicy={"webhookFrom": [NGINX]})
    message = ready_message(p)
    assert message.startswith("1/1 executor pods ready; behind the Ingress every alert comes")
    assert "webhook.trustedProxies" in message
    fixed = pipeline(
        webhook={**sources, "trustedProxies": ["10.244.0.0/16"]},
        networkPolicy={"webhookFrom": [NGINX]},
    )
    assert ready_message(fixed) == "1/1 executor pods ready"
    not_exposed = pipeline(webhook={"allowedSources": ["tradingview"]})
    assert ready_message(not_exposed) == "1/1 executor pods ready", "peer is the real client"


def test_an_unreachable_exposure_is_named_in_the_ready_message() -> None:
    p = exposed({"gateway": GATEWAY})
    assert "networkPolicy.webhookFrom is empty, so the HTTPRoute's proxy" in ready_message(p)
    off = exposed({"gateway": GATEWAY}, networkPolicy={"enabled": False})
    assert ready_message(off) == "1/1 executor pods ready"


def test_public_url_lands_in_the_status() -> None:
    from datetime import UTC, datetime

    p = exposed({"ingress": INGRESS})
    status = build_pipeline_status(
        p,
        {},
        conditions=pipeline_conditions(p, executors=READY),
        executors=READY,
        inputs_hash="h",
        previous=None,
        now=datetime(2025, 1, 1, tzinfo=UTC),
        public_url=public_url(p, http_route_api=False),
    )
    assert status["publicURL"] == "https://alerts.example.com/webhook/tradingview"
    assert status["webhookURL"].startswith("http://btc-momentum-executor.trading.svc:8000/")


@pytest.mark.parametrize(
    ("expose", "message"),
    [
        ({"ingress": INGRESS, "gateway": GATEWAY}, "enable at most one of"),
        ({"ingress": {"enabled": True}}, "expose.ingress.host is required"),
        ({"gateway": {"enabled": True}}, "expose.gateway.parentRefs is required"),
        ({"ingress": {"enabled": True, "host": "*.example.com"}}, "must match pattern"),
        ({"gateway": {**GATEWAY, "hostnames": ["Bad_Host"]}}, "must match pattern"),
    ],
)
def test_the_operator_checks_the_crd_rules_again(expose: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message) as raised:
        exposed(expose)
    assert raised.value.path.startswith("spec.webhook.expose")


@pytest.mark.parametrize(
    "key",
    [
        "nginx.ingress.kubernetes.io/rewrite-target",
        "nginx.ingress.kubernetes.io/configuration-snippet",
        "nginx.ingress.kubernetes.io/server-snippet",
        "haproxy.org/backend-config-snippet",
        "rewrite-target",
    ],
)
def test_annotations_that_could_route_other_paths_are_refused(key: str) -> None:
    """``rewrite-target: /metrics`` on the Exact webhook path would serve the metrics to the
    internet; a snippet can add any location (docs/security.md, "Exposure")."""
    ingress = {**INGRESS, "annotations": {"a": "1", key: "/metrics"}}
    with pytest.raises(SpecError, match="may not hold rewrite-target or \\*snippet\\*") as e:
        exposed({"ingress": ingress})
    assert e.value.path == "spec.webhook.expose.ingress.annotations"
    assert "/metrics" not in str(e.value).replace("/webhook/tradingview", "")


def test_other_controller_annotations_pass() -> None:
    annotations = {
        "nginx.ingress.kubernetes.io/proxy-body-size": "64k",
        "nginx.ingress.kubernetes.io/limit-rps": "5",
    }
    ingress = render(exposed({"ingress": {**INGRESS, "annotations": annotations}})).ingress
    assert ingress["metadata"]["annotations"] == annotations
