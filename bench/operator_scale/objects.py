"""The bench's custom resources, and what the operator writes for them (rendered by its own
builders, for the plain client)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fks_operator.builders import (
    build_children,
    build_pipeline_status,
    pipeline_conditions,
    public_url,
)
from fks_operator.builders.plan import run_plan
from fks_operator.child_writes import waves
from fks_operator.drift import with_digest
from fks_operator.readiness import executors_state
from fks_operator.settings import OperatorSettings
from fks_operator.specs import parse_account, parse_pipeline

GROUP, VERSION = "execution.fks.io", "v1alpha1"
EXECUTOR_IMAGE = "fks-executor:bench"
WEBHOOK_SECRET = secrets.token_hex(32)
OPERATOR_LABELS = "app.kubernetes.io/managed-by=fks-operator"
PLAIN_LABELS = "app.kubernetes.io/managed-by=bench-plain"

Manifest = dict[str, Any]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def inputs(namespace: str) -> list[Manifest]:
    """The account, its keys and one webhook Secret every pipeline shares."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "keys", "namespace": namespace},
            "data": {"apiKey": b64("bench-key"), "secret": b64("bench-secret")},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hook", "namespace": namespace},
            # At least 32 bytes: a shorter webhook secret holds the pipeline (WebhookSecretWeak).
            "data": {"secret": b64(WEBHOOK_SECRET)},
        },
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ExchangeAccount",
            "metadata": {"name": "acct", "namespace": namespace},
            "spec": {"exchange": "binance", "credentialsSecretRef": {"name": "keys"}},
        },
    ]


def pipeline(name: str, namespace: str) -> Manifest:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ExecutionPipeline",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accounts": [{"name": "acct", "default": True}],
            "webhook": {"secretRef": {"name": "hook", "key": "secret"}},
            "risk": {"allowedSymbols": ["BTC/USDT"]},
        },
    }


def pipeline_names(count: int) -> list[str]:
    return [f"cold-{i:04d}" for i in range(count)]


def child_waves(name: str, namespace: str) -> list[list[Mapping[str, Any]]]:
    """The children of bench pipeline ``name`` in ``namespace`` as the operator applies them:
    its builders' manifests with its digest annotation, in its waves of concurrent applies;
    without owner references and labelled as the plain client's (the operator's watches must
    not see them)."""
    secret_a, secret_b, account_obj = inputs(namespace)
    secret_data = {s["metadata"]["name"]: s["data"] for s in (secret_a, secret_b)}
    children = build_children(
        parse_pipeline(pipeline(name, namespace)),
        {"acct": parse_account(account_obj)},
        OperatorSettings(executor_image=EXECUTOR_IMAGE),
        secret_data,
        service_monitor_api=False,
    )
    plain = []
    for manifest in run_plan(children).apply:
        meta = {k: v for k, v in manifest["metadata"].items() if k != "ownerReferences"}
        meta["labels"] = {**meta["labels"], "app.kubernetes.io/managed-by": "bench-plain"}
        plain.append(with_digest({**manifest, "metadata": meta})[0])
    return waves(plain)


def first_status(body: Manifest, deployment: Mapping[str, Any]) -> Manifest:
    """The status the operator writes after a pipeline's first reconcile (``body`` as
    created, ``deployment`` as its apply returned it)."""
    namespace = body["metadata"]["namespace"]
    parsed = parse_pipeline(body)
    account = parse_account(inputs(namespace)[2])
    secret_a, secret_b, _ = inputs(namespace)
    secret_data = {s["metadata"]["name"]: s["data"] for s in (secret_a, secret_b)}
    plan = run_plan(
        build_children(
            parsed,
            {"acct": account},
            OperatorSettings(executor_image=EXECUTOR_IMAGE),
            secret_data,
            service_monitor_api=False,
        )
    )
    executors = executors_state(deployment)
    return build_pipeline_status(
        parsed,
        {"acct": account},
        conditions=pipeline_conditions(parsed, executors=executors, notes=plan.notes),
        executors=executors,
        inputs_hash=plan.inputs_hash,
        previous={},
        now=datetime.now(UTC),
        public_url=public_url(parsed, http_route_api=False),
    )
