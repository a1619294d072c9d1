"""spec.webhook.expose and spec.networkPolicy on the real control plane: the Ingress, HTTPRoute
and NetworkPolicy are accepted by the API server as rendered, owned by the pipeline, put back
when edited or deleted by hand, and deleted when turned off; the HTTPRoute follows the Gateway
API being installed (the real standard-channel CRD) and is skipped while it is absent."""

from __future__ import annotations

import json
from typing import Any

from tests.harness.kube_cluster import KubeCluster
from tests.integration.operator.conftest import Cluster, setup_pipeline

WEBHOOK_PATH = "/webhook/tradingview"
NETWORK_POLICIES = "count/networkpolicies.networking.k8s.io"
NGINX = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
INGRESS = {
    "enabled": True,
    "className": "nginx",
    "host": "alerts.example.com",
    "tls": {"clusterIssuer": "letsencrypt-prod"},
    "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "64k"},
}
GATEWAY = {
    "enabled": True,
    "parentRefs": [{"name": "public", "namespace": "gateways", "sectionName": "https"}],
    "hostnames": ["routed.example.com"],
}


def webhook(**fields: Any) -> dict[str, Any]:
    return {"secretRef": {"name": "pipe-webhook", "key": "secret"}, **fields}


def patch(cluster: Cluster, spec: dict[str, Any]) -> None:
    cluster.kubectl(
        "patch", "executionpipeline", "pipe", "--type=merge", "-p", json.dumps({"spec": spec})
    )


def owned_by_pipe(body: dict[str, Any]) -> bool:
    [owner] = body["metadata"]["ownerReferences"]
    return (owner["kind"], owner["name"], owner["controller"]) == (
        "ExecutionPipeline",
        "pipe",
        True,
    )


def only_the_webhook(ingress: dict[str, Any] | None) -> bool:
    if ingress is None:
        return False
    paths = [
        (p["path"], p["pathType"], p["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]
    return paths == [(WEBHOOK_PATH, "Exact", "pipe-executor")]


def test_ingress_exposes_only_the_webhook_and_network_policy_admits_the_controller(
    cluster: Cluster,
) -> None:
    setup_pipeline(
        cluster,
        webhook=webhook(auth="token", allowedSources=["tradingview"], expose={"ingress": INGRESS}),
        networkPolicy={"webhookFrom": [NGINX]},
    )
    ready = cluster.wait_ready("pipe")
    # The executors run, but behind the Ingress every alert would come from the controller.
    assert ready["message"].startswith("1/1 executor pods ready; behind the Ingress every alert")
    assert "webhook.trustedProxies" in ready["message"]
    assert (
        cluster.pipeline_status("pipe")["publicURL"] == f"https://alerts.example.com{WEBHOOK_PATH}"
    )

    ingress = cluster.must_get("ingress", "pipe-executor")
    assert owned_by_pipe(ingress)
    assert only_the_webhook(ingress)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["alerts.example.com"], "secretName": "pipe-executor-tls"}
    ]
    assert ingress["spec"]["rules"][0]["host"] == "alerts.example.com"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "64k"

    policy = cluster.must_get("networkpolicy", "pipe-executor")
    assert owned_by_pipe(policy)
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "pipe"
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == [
        {"from": [{"namespaceSelector": NGINX}], "ports": [{"protocol": "TCP", "port": 8000}]}
    ]
    assert policy["spec"]["egress"][-1] == {"ports": [{"protocol": "TCP", "port": 443}]}

    # Someone opens everything by hand: the operator takes its rules back.
    cluster.kubectl(
        "patch", "ingress", "pipe-executor", "--type=json", "-p",
        json.dumps([{"op": "add", "path": "/spec/rules/0/http/paths/-", "value": {
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "pipe-executor", "port": {"name": "http"}}},
        }}]),
    )  # fmt: skip
    cluster.wait(
        lambda: only_the_webhook(cluster.get("ingress", "pipe-executor")),
        "the Ingress back to the webhook path only",
    )
    cluster.kubectl("delete", "networkpolicy", "pipe-executor")
    cluster.wait(lambda: cluster.get("networkpolicy", "pipe-executor"), "the NetworkPolicy back")

    # trustedProxies given: nothing left to say.
    patch(cluster, {"webhook": {"trustedProxies": ["10.244.0.0/16"]}})
    cluster.wait(
        lambda: (
            cluster.condition("executionpipeline", "pipe", "Ready").get("message")
            == "1/1 executor pods ready"
        ),
        "the Ready message without advice",
    )

    # Turned off: deleted, and no public URL any more.
    patch(cluster, {"webhook": {"expose": {"ingress": {"enabled": False}}}})
    cluster.wait(lambda: cluster.get("ingress", "pipe-executor") is None, "the Ingress deleted")
    cluster.wait(lambda: "publicURL" not in cluster.pipeline_status("pipe"), "publicURL removed")
    patch(cluster, {"networkPolicy": {"enabled": False}})
    cluster.wait(
        lambda: cluster.get("networkpolicy", "pipe-executor") is None,
        "the NetworkPolicy deleted",
    )
    assert cluster.condition("executionpipeline", "pipe", "Ready")["status"] == "True"


def test_http_route_appears_once_the_gateway_api_is_installed(
    cluster: Cluster, kube: KubeCluster, no_gateway_api: Any
) -> None:
    setup_pipeline(
        cluster,
        webhook=webhook(expose={"gateway": GATEWAY}),
        networkPolicy={
            "webhookFrom": [{"matchLabels": {"kubernetes.io/metadata.name": "gateways"}}]
        },
    )
    cluster.wait_ready("pipe")
    reconciled = cluster.condition("executionpipeline", "pipe", "Reconciled")
    assert reconciled["status"] == "True"
    assert (
        "HTTPRoute skipped: the cluster does not serve gateway.networking.k8s.io/v1."
        in reconciled["message"]
    )
    assert "publicURL" not in cluster.pipeline_status("pipe")

    # The real Gateway API CRD, installed while the operator runs.
    kube.kubectl("apply", "--server-side", "-f", str(no_gateway_api), timeout=120)
    kube.wait_established("httproutes.gateway.networking.k8s.io")
    route = cluster.wait(
        lambda: cluster.get("httproute", "pipe-executor"), "the HTTPRoute", timeout=45
    )
    assert owned_by_pipe(route)
    [parent] = route["spec"]["parentRefs"]
    assert (parent["name"], parent["namespace"], parent["sectionName"]) == (
        "public", "gateways", "https",
    )  # fmt: skip
    assert route["spec"]["hostnames"] == ["routed.example.com"]
    [rule] = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "Exact", "value": WEBHOOK_PATH}, "method": "POST"}]
    [backend] = rule["backendRefs"]
    assert (backend["name"], backend["port"]) == ("pipe-executor", 8000)
    cluster.wait(
        lambda: (
            cluster.pipeline_status("pipe").get("publicURL")
            == f"https://routed.example.com{WEBHOOK_PATH}"
        ),
        "publicURL from the route's first hostname",
    )
    cluster.wait(
        lambda: (
            "HTTPRoute skipped"
            not in cluster.condition("executionpipeline", "pipe", "Reconciled")["message"]
        ),
        "the Reconciled message to drop the note",
    )

    # Deleted by hand: restored. Switched to an Ingress in one apply: route deleted.
    cluster.kubectl("delete", "httproute", "pipe-executor")
    cluster.wait(lambda: cluster.get("httproute", "pipe-executor"), "the HTTPRoute restored")
    patch(
        cluster,
        {"webhook": {"expose": {"gateway": {"enabled": False}, "ingress": INGRESS}}},
    )
    cluster.wait(lambda: cluster.get("httproute", "pipe-executor") is None, "the route deleted")
    cluster.wait(lambda: cluster.get("ingress", "pipe-executor"), "the Ingress instead")
    cluster.wait(
        lambda: (
            cluster.pipeline_status("pipe").get("publicURL")
            == f"https://alerts.example.com{WEBHOOK_PATH}"
        ),
        "publicURL from the Ingress",
    )


def test_a_refused_network_policy_is_named_and_no_executor_starts_without_it(
    cluster: Cluster,
) -> None:
    """The NetworkPolicy goes before the pods it protects: when the API server refuses it (here
    a ResourceQuota allowing none, enforced by the real API server), the status names that
    child, and no Deployment runs the executors unprotected; once it is accepted, the pipeline
    comes up."""
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "no-network-policies"},
            "spec": {"hard": {NETWORK_POLICIES: "0"}},
        }
    )
    # No resource-quota controller runs here: set the status it would, which admission reads.
    status = {"status": {"hard": {NETWORK_POLICIES: "0"}, "used": {NETWORK_POLICIES: "0"}}}
    cluster.kubectl(
        "patch", "resourcequota", "no-network-policies", "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    setup_pipeline(cluster, webhook=webhook(), networkPolicy={"webhookFrom": [NGINX]})
    reconciled = cluster.wait_condition(
        "executionpipeline", "pipe", "Reconciled", "False", "ApplyFailed"
    )
    assert reconciled["message"].startswith(f"NetworkPolicy {cluster.ns}/pipe-executor: ")
    ready = cluster.condition("executionpipeline", "pipe", "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ApplyFailed")
    assert f"NetworkPolicy {cluster.ns}/pipe-executor" in ready["message"]
    assert cluster.get("deployment", "pipe-executor") is None

    cluster.kubectl("delete", "resourcequota", "no-network-policies")
    cluster.wait_ready("pipe", timeout=60)
    assert owned_by_pipe(cluster.must_get("networkpolicy", "pipe-executor"))
