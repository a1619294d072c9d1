"""The watch caches: what is kept of each object, lookups, and Secrets read once then watched."""

from __future__ import annotations

import asyncio
from typing import Any

from fks_operator.caches import (
    ACCOUNTS,
    OPTIONAL_CRDS_INDEX,
    PIPELINES,
    SecretCache,
    WatchCache,
    child_index,
    child_record,
    custom_resource,
)
from fks_operator.drift import APPLIED_ANNOTATION
from fks_operator.kube import DEPLOYMENT, HTTP_ROUTE, SERVICE, SERVICE_MONITOR
from tests.unit.operator.conftest import pipeline_obj


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "pipe-executor", "namespace": "ns", "uid": "d1", "generation": 3,
            "resourceVersion": "77", "managedFields": [{"manager": "fks-operator"}],
            "labels": {"app.kubernetes.io/instance": "pipe"},
            "annotations": {APPLIED_ANNOTATION: "abc"},
            "ownerReferences": [{"apiVersion": "execution.fks.io/v1alpha1",
                                 "kind": "ExecutionPipeline", "name": "pipe", "uid": "p1",
                                 "controller": True}],
        },
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "x"}]}}},
        "status": {"readyReplicas": 1, "observedGeneration": 3},
    }  # fmt: skip


def test_a_child_record_keeps_identity_content_and_the_rollout_only() -> None:
    record = child_record(deployment(), "fks-operator")
    assert (record.uid, record.owner_uid, record.owner) == ("d1", "p1", "pipe")
    assert record.applied_digest == "abc"
    body = record.body()
    assert body["spec"] == deployment()["spec"]
    assert "status" not in body
    assert set(body["metadata"]) == {
        "name",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
    }
    assert record.rollout == {
        "metadata": {"name": "pipe-executor", "generation": 3},
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 1, "observedGeneration": 3},
    }
    service = {**deployment(), "kind": "Service"}
    assert child_record(service, "fks-operator").rollout is None


def test_lookups_read_kopf_shaped_indices() -> None:
    body = pipeline_obj()
    body["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    other = pipeline_obj()
    other["metadata"]["name"] = "b-other"
    kept = custom_resource(body)
    assert "managedFields" not in kept["metadata"]
    indices: dict[str, dict[Any, list[Any]]] = {
        PIPELINES: {
            ("trading", "btc-momentum"): [kept],
            ("trading", "b-other"): [custom_resource(other)],
            ("elsewhere", "x"): [custom_resource(other)],
        },
        ACCOUNTS: {},
        OPTIONAL_CRDS_INDEX: {"servicemonitors.monitoring.coreos.com": [True]},
        child_index(DEPLOYMENT): {
            ("Deployment", "ns", "pipe-executor"): [child_record(deployment(), "fks-operator")]
        },
        child_index(SERVICE): {},
    }
    cache = WatchCache(indices)
    assert cache.pipeline("trading", "btc-momentum") == kept
    assert cache.pipeline("trading", "nope") is None
    assert cache.account("trading", "acct") is None
    names = [p["metadata"]["name"] for p in cache.pipelines_in("trading")]
    assert names == ["b-other", "btc-momentum"]
    assert cache.child(("Deployment", "ns", "pipe-executor")) is not None
    assert cache.child(("Service", "ns", "pipe-executor")) is None
    assert cache.serves(SERVICE_MONITOR) is True
    assert cache.serves(HTTP_ROUTE) is False


async def test_a_secret_is_read_once_then_kept_by_the_watch() -> None:
    reads: list[tuple[str, str]] = []

    async def fetch(namespace: str, name: str) -> dict[str, Any] | None:
        reads.append((namespace, name))
        await asyncio.sleep(0.01)
        return {"data": {"k": "djE="}} if name == "there" else None

    secrets = SecretCache(fetch)
    found = await asyncio.gather(*(secrets.get("ns", "there") for _ in range(5)))
    assert found == [{"k": "djE="}] * 5
    assert reads == [("ns", "there")], "concurrent first reads share one request"
    assert await secrets.get("ns", "missing") is None
    assert await secrets.get("ns", "missing") is None
    assert len(reads) == 2, "an absent Secret is remembered too"
    secrets.observed("ns", "there", {"data": {"k": "djI="}})  # rotated
    assert await secrets.get("ns", "there") == {"k": "djI="}
    secrets.observed("ns", "missing", {"data": {"k": "eA=="}})  # created
    assert await secrets.get("ns", "missing") == {"k": "eA=="}
    secrets.forget("ns", "there")
    await secrets.get("ns", "there")
    assert len(reads) == 3


async def test_a_watch_event_during_the_first_read_wins() -> None:
    gate = asyncio.Event()

    async def fetch(namespace: str, name: str) -> dict[str, Any] | None:
        await gate.wait()
        return {"data": {"k": "old"}}  # read before the rotation below was applied

    secrets = SecretCache(fetch)
    reading = asyncio.create_task(secrets.get("ns", "s"))
    await asyncio.sleep(0)
    secrets.observed("ns", "s", {"data": {"k": "new"}})
    gate.set()
    assert await reading == {"k": "new"}
    assert await secrets.get("ns", "s") == {"k": "new"}
