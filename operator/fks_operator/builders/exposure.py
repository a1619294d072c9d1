"""The webhook on the internet: an Ingress (networking.k8s.io/v1) or a Gateway API HTTPRoute
(gateway.networking.k8s.io/v1), routing exactly ``POST /webhook/tradingview`` to the executor
Service and nothing else (``/metrics``, ``/signals/...``, ``/health``, ``/ready`` stay inside
the cluster). See docs/tradingview.md and docs/security.md.
"""

from __future__ import annotations

from typing import Any

from fks_operator.builders.meta import (
    HTTP_PORT,
    WEBHOOK_PATH,
    Manifest,
    executor_name,
    object_meta,
)
from fks_operator.specs import ExecutionPipeline

HTTP_ROUTE_API = "gateway.networking.k8s.io/v1"
#: cert-manager's ingress-shim issues the Ingress's TLS certificate from this ClusterIssuer.
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"


def tls_secret_name(pipeline: ExecutionPipeline) -> str:
    """The Secret holding the Ingress's certificate: ``tls.secretName``, or (cert-manager
    issuing it) ``<pipeline>-executor-tls``."""
    return pipeline.spec.webhook.expose.ingress.tls.secret_name or f"{executor_name(pipeline)}-tls"


def build_ingress(pipeline: ExecutionPipeline) -> Manifest | None:
    """The Ingress ``<pipeline>-executor`` for ``expose.ingress.host``, or None when disabled.

    One rule, path ``/webhook/tradingview`` with ``pathType: Exact``. TLS with the given Secret,
    or with the certificate cert-manager issues into ``<pipeline>-executor-tls`` when a
    ``clusterIssuer`` is named (the annotation wins over a user annotation of the same key).
    """
    ingress = pipeline.spec.webhook.expose.ingress
    if not ingress.enabled:
        return None
    meta = object_meta(pipeline, executor_name(pipeline))
    annotations = dict(sorted(ingress.annotations.items()))
    if ingress.tls.cluster_issuer:
        annotations[CLUSTER_ISSUER_ANNOTATION] = ingress.tls.cluster_issuer
    if annotations:
        meta["annotations"] = annotations
    spec: dict[str, Any] = {}
    if ingress.class_name:
        spec["ingressClassName"] = ingress.class_name
    if ingress.tls_enabled:
        spec["tls"] = [{"hosts": [ingress.host], "secretName": tls_secret_name(pipeline)}]
    backend = {"service": {"name": executor_name(pipeline), "port": {"name": "http"}}}
    spec["rules"] = [
        {
            "host": ingress.host,
            "http": {"paths": [{"path": WEBHOOK_PATH, "pathType": "Exact", "backend": backend}]},
        }
    ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def build_http_route(pipeline: ExecutionPipeline) -> Manifest | None:
    """The HTTPRoute ``<pipeline>-executor`` attached to ``expose.gateway.parentRefs``, or None
    when disabled: exactly ``POST /webhook/tradingview`` to the Service's port 8000.

    Whether the API is served is the caller's question (see ``build_children``).
    """
    gateway = pipeline.spec.webhook.expose.gateway
    if not gateway.enabled:
        return None
    parents = [
        ref.model_dump(by_alias=True, exclude_none=True, mode="json") for ref in gateway.parent_refs
    ]
    spec: dict[str, Any] = {"parentRefs": parents}
    if gateway.hostnames:
        spec["hostnames"] = list(gateway.hostnames)
    spec["rules"] = [
        {
            "matches": [{"path": {"type": "Exact", "value": WEBHOOK_PATH}, "method": "POST"}],
            "backendRefs": [{"name": executor_name(pipeline), "port": HTTP_PORT}],
        }
    ]
    return {
        "apiVersion": HTTP_ROUTE_API,
        "kind": "HTTPRoute",
        "metadata": object_meta(pipeline, executor_name(pipeline)),
        "spec": spec,
    }


def public_url(pipeline: ExecutionPipeline, *, http_route_api: bool) -> str | None:
    """The URL TradingView posts to, or None when the webhook is not exposed (or the route is
    skipped, or its host is the Gateway listener's, which the operator does not read).

    https when the Ingress has TLS; an HTTPRoute's Gateway listener is assumed to terminate TLS
    (TradingView sends only to 80 and 443; the passphrase must not travel in clear text).
    """
    expose = pipeline.spec.webhook.expose
    if expose.ingress.enabled:
        scheme = "https" if expose.ingress.tls_enabled else "http"
        return f"{scheme}://{expose.ingress.host}{WEBHOOK_PATH}"
    if expose.gateway.enabled and http_route_api and expose.gateway.hostnames:
        return f"https://{expose.gateway.hostnames[0]}{WEBHOOK_PATH}"
    return None


def exposure_advice(pipeline: ExecutionPipeline) -> list[str]:
    """What keeps an exposed webhook from working (or from being safe), for the Ready message:
    the executors run, but alerts from the internet would not get through."""
    spec = pipeline.spec
    expose = spec.webhook.expose
    if not expose.enabled:
        return []
    way = "Ingress" if expose.ingress.enabled else "HTTPRoute"
    advice = []
    if spec.webhook.allowed_sources and not spec.webhook.trusted_proxies:
        advice.append(
            f"behind the {way} every alert comes from the proxy's address, which "
            "webhook.allowedSources refuses: list the ingress controller's (or gateway's) pod "
            "addresses in webhook.trustedProxies"
        )
    if spec.network_policy.enabled and not spec.network_policy.webhook_from:
        advice.append(
            f"networkPolicy.webhookFrom is empty, so the {way}'s proxy cannot reach the "
            "executors: name its namespace there"
        )
    if expose.ingress.enabled and not expose.ingress.tls_enabled:
        advice.append(
            "the Ingress has no TLS (expose.ingress.tls): the passphrase travels in clear text "
            "unless TLS ends in front of it"
        )
    return advice
