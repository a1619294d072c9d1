"""The executor pods' NetworkPolicy (networking.k8s.io/v1): what may reach them, and what they
may reach. See docs/security.md ("Network policy").

In: TCP 8000 (webhook, health and metrics share the port) from the namespaces of
``networkPolicy.webhookFrom`` and ``networkPolicy.metricsFrom`` only. Out: DNS (port 53) to any
address, Redis (backend redis) on the port of its URL, and the exchanges: TCP 443 plus the port
of every account ``endpoint`` that names another one, to any address or to
``networkPolicy.exchangeCIDRs``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fks_operator.builders.config import pipeline_accounts
from fks_operator.builders.meta import (
    HTTP_PORT,
    Manifest,
    executor_name,
    object_meta,
    selector_labels,
)
from fks_operator.builders.secrets import SecretData
from fks_operator.errors import RenderError
from fks_operator.specs import ExchangeAccount, ExecutionPipeline, LabelSelector

HTTPS_PORT = 443
DNS_PORT = 53
REDIS_PORT = 6379
#: DNS goes to any address: the resolver is not always a kube-dns pod (a NodeLocal DNSCache
#: on 169.254.20.10, GKE Cloud DNS on the metadata server, OpenShift's dns-default in
#: openshift-dns), and an executor that cannot resolve its exchange fails every order.
DNS = {"ports": [{"protocol": protocol, "port": DNS_PORT} for protocol in ("UDP", "TCP")]}


def _selector(selector: LabelSelector) -> dict[str, Any]:
    dumped = selector.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    return {"namespaceSelector": dumped}


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def endpoint_port(account: ExchangeAccount) -> int | None:
    """The port of an account's ``endpoint`` override (None when it has none)."""
    endpoint = account.spec.endpoint
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        message = f"ExchangeAccount {account.name!r}: endpoint has an invalid port"
        raise RenderError(message) from None
    return port or (HTTPS_PORT if parts.scheme == "https" else 80)


def redis_port(pipeline: ExecutionPipeline, secrets: Mapping[str, SecretData | None]) -> int:
    """The port of the Redis URL in the pipeline's Redis Secret (6379 when it names none, or
    cannot be read: the pipeline is held then, or the executor reports the bad URL). Only the
    port is taken from the Secret; nothing else of it reaches a manifest."""
    ref = pipeline.spec.state.redis_secret_ref
    data = secrets.get(ref.name) if ref is not None else None
    value = (data or {}).get(ref.key) if ref is not None else None
    if not value:
        return REDIS_PORT
    try:
        return urlsplit(base64.b64decode(value).decode()).port or REDIS_PORT
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return REDIS_PORT


def _ingress(pipeline: ExecutionPipeline) -> list[dict[str, Any]]:
    policy = pipeline.spec.network_policy
    rules = []
    for sources in (policy.webhook_from, policy.metrics_from):
        if sources:
            rules.append({"from": [_selector(s) for s in sources], "ports": [_tcp(HTTP_PORT)]})
    return rules


def _egress(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    secrets: Mapping[str, SecretData | None],
) -> list[dict[str, Any]]:
    spec = pipeline.spec
    rules: list[dict[str, Any]] = [DNS]
    if spec.state.backend == "redis":
        rules.append({"ports": [_tcp(redis_port(pipeline, secrets))]})
    ports = {HTTPS_PORT}
    for account in pipeline_accounts(pipeline, accounts):
        port = endpoint_port(account)
        if port is not None:
            ports.add(port)
    exchange: dict[str, Any] = {"ports": [_tcp(port) for port in sorted(ports)]}
    if spec.network_policy.exchange_cidrs:
        exchange = {
            "to": [{"ipBlock": {"cidr": cidr}} for cidr in spec.network_policy.exchange_cidrs],
            **exchange,
        }
    rules.append(exchange)
    return rules


def build_network_policy(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    secrets: Mapping[str, SecretData | None],
) -> Manifest | None:
    """The NetworkPolicy ``<pipeline>-executor`` selecting the pipeline's pods, or None when
    ``networkPolicy.enabled`` is false. No ``webhookFrom``/``metricsFrom``: no ingress at all."""
    if not pipeline.spec.network_policy.enabled:
        return None
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": selector_labels(pipeline)},
        "policyTypes": ["Ingress", "Egress"],
    }
    ingress = _ingress(pipeline)
    if ingress:  # none: policyTypes Ingress alone denies every connection (the API omits [])
        spec["ingress"] = ingress
    spec["egress"] = _egress(pipeline, accounts, secrets)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(pipeline, executor_name(pipeline)),
        "spec": spec,
    }


def network_notes(pipeline: ExecutionPipeline, *, service_monitor: bool) -> list[str]:
    """What the NetworkPolicy keeps out, for the Reconciled message (``service_monitor``: a
    ServiceMonitor was created, so someone means to scrape the executors)."""
    policy = pipeline.spec.network_policy
    if not policy.enabled:
        return []
    if not policy.webhook_from and not policy.metrics_from:
        return [
            "NetworkPolicy: nothing may reach the executors' port 8000 (networkPolicy.webhookFrom "
            "and metricsFrom are empty); kubectl port-forward still works."
        ]
    if not policy.webhook_from:
        return [
            "NetworkPolicy: alerts from an ingress controller or gateway cannot reach the "
            "executors (networkPolicy.webhookFrom is empty; only metricsFrom may reach port 8000)."
        ]
    if not policy.metrics_from and service_monitor:
        return [
            "NetworkPolicy: Prometheus may not scrape the executors (networkPolicy.metricsFrom "
            "is empty)."
        ]
    return []
