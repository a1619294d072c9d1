"""The samples in examples/ apply; their children appear with the right spec, owner references
and labels; the pipeline status says what SPEC §2 says; the CRs themselves are left alone."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from fks_operator.builders import build_children
from fks_operator.settings import OperatorSettings
from fks_operator.specs import parse_account, parse_pipeline
from tests.integration.operator.conftest import (
    EXAMPLES,
    WEBHOOK_SECRET,
    Cluster,
    secret,
    setup_pipeline,
)

LABELS = {
    "app.kubernetes.io/name": "fks-executor",
    "app.kubernetes.io/managed-by": "fks-operator",
    "app.kubernetes.io/part-of": "fks",
}


def contains(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``actual`` (as stored, with server defaults) lacks something of ``expected``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(contains(actual[key], value, f"{path}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        return [
            p for i, item in enumerate(expected) for p in contains(actual[i], item, f"{path}[{i}]")
        ]
    return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


def secret_data(cluster: Cluster, name: str) -> dict[str, str] | None:
    body = cluster.get("secret", name)
    return None if body is None else dict(body.get("data") or {})


def test_examples_apply_and_every_child_matches_the_builders(cluster: Cluster) -> None:
    for name in (
        "exchangeaccount-testnet.yaml",
        "pipeline-dry-run.yaml",
        "pipeline-redis-replicas.yaml",
    ):
        cluster.apply_file(EXAMPLES / name)
    for name in ("btc-momentum-webhook", "eth-swing-webhook"):  # "replace it", as a user does
        cluster.apply(secret(name, secret=WEBHOOK_SECRET))

    account = cluster.wait_condition("exchangeaccount", "binance-testnet", "Ready", "True")
    assert account["reason"] == "CredentialsFound"
    cluster.wait_ready("btc-momentum")
    cluster.wait_ready("eth-swing", timeout=60)

    live_accounts = {
        "binance-testnet": parse_account(cluster.must_get("exchangeaccount", "binance-testnet"))
    }
    for name, replicas, pdb in (("btc-momentum", 1, False), ("eth-swing", 3, True)):
        body = cluster.must_get("executionpipeline", name)
        pipeline = parse_pipeline(body)
        secrets = {
            ref: secret_data(cluster, ref)
            for ref in ("binance-testnet-keys", f"{name}-webhook", "fks-redis")
        }
        expected = build_children(
            pipeline,
            live_accounts,
            OperatorSettings(executor_image="fks-executor:it"),
            secrets,
            service_monitor_api=False,
        )
        for manifest in expected.manifests():
            live = cluster.must_get(manifest["kind"], manifest["metadata"]["name"])
            problems = contains(live, manifest)
            assert not problems, f"{manifest['kind']} {name}: " + "; ".join(problems[:10])
            owners = live["metadata"]["ownerReferences"]
            assert owners == [
                {
                    "apiVersion": "execution.fks.io/v1alpha1",
                    "kind": "ExecutionPipeline",
                    "name": name,
                    "uid": body["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            assert LABELS.items() <= live["metadata"]["labels"].items()
            assert live["metadata"]["labels"]["app.kubernetes.io/instance"] == name
        assert (cluster.get("poddisruptionbudget", f"{name}-executor") is not None) is pdb
        assert cluster.get("horizontalpodautoscaler", f"{name}-executor") is None

        deployment = cluster.must_get("deployment", f"{name}-executor")
        assert deployment["spec"]["replicas"] == replicas
        status = cluster.pipeline_status(name)
        assert status["replicas"] == status["readyReplicas"] == replicas
        assert status["configHash"] == expected.inputs_hash
        template_hash = deployment["spec"]["template"]["metadata"]["annotations"]
        assert template_hash["execution.fks.io/inputs-hash"] == status["configHash"]
        pods = json.loads(
            cluster.kubectl("get", "pods", "-o", "json", "-l", f"app.kubernetes.io/instance={name}")
        )["items"]
        assert len(pods) == replicas
        assert {p["metadata"]["annotations"]["execution.fks.io/inputs-hash"] for p in pods} == {
            status["configHash"]
        }
        # The Secret values reach the pods only by reference.
        config = cluster.must_get("configmap", f"{name}-executor-config")["data"]["config.yaml"]
        for data in secrets.values():
            for value in (data or {}).values():
                assert base64.b64decode(value).decode() not in config


def test_pipeline_status_fields(cluster: Cluster) -> None:
    setup_pipeline(cluster, dryRun=False)
    cluster.wait_ready("pipe")
    body = cluster.must_get("executionpipeline", "pipe")
    status = body["status"]
    generation = body["metadata"]["generation"]
    assert set(status) == {
        "observedGeneration",
        "mode",
        "replicas",
        "readyReplicas",
        "webhookURL",
        "configHash",
        "conditions",
    }
    assert status["observedGeneration"] == generation
    assert status["mode"] == "testnet"
    assert (status["replicas"], status["readyReplicas"]) == (1, 1)
    assert status["webhookURL"] == f"http://pipe-executor.{cluster.ns}.svc:8000/webhook/tradingview"
    assert re.fullmatch(r"[0-9a-f]{64}", status["configHash"])
    conditions = {c["type"]: c for c in status["conditions"]}
    assert set(conditions) == {"Reconciled", "Ready"}
    for condition in conditions.values():
        assert condition["status"] == "True"
        assert condition["observedGeneration"] == generation
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", condition["lastTransitionTime"])
    assert conditions["Reconciled"]["reason"] == "Applied"
    assert "ServiceMonitor skipped" in conditions["Reconciled"]["message"]
    assert conditions["Ready"]["reason"] == "ExecutorsReady"
    assert conditions["Ready"]["message"] == "1/1 executor pods ready"

    # A spec change: observedGeneration follows, mode follows the spec.
    cluster.kubectl(
        "patch", "executionpipeline", "pipe", "--type=merge", "-p", '{"spec": {"suspend": true}}'
    )
    cluster.wait(
        lambda: cluster.pipeline_status("pipe").get("observedGeneration") == generation + 1,
        "observedGeneration to follow the new generation",
    )
    assert cluster.pipeline_status("pipe")["mode"] == "suspended"
    cluster.wait_ready("pipe")
    wide = cluster.kubectl("get", "executionpipeline", "pipe", "-o", "wide")
    assert "suspended" in wide
    assert "webhook/tradingview" in wide


def test_operator_leaves_the_custom_resources_alone(cluster: Cluster) -> None:
    """No kopf annotations, no finalizers, no spec writes: only status, via the subresource."""
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    cluster.wait_condition("exchangeaccount", "acct", "Ready", "True")
    for kind, name in (("executionpipeline", "pipe"), ("exchangeaccount", "acct")):
        body = cluster.must_get(kind, name, managed_fields=True)
        meta = body["metadata"]
        annotations = meta.get("annotations") or {}
        assert not [k for k in annotations if "kopf" in k], annotations
        assert not meta.get("finalizers"), meta.get("finalizers")
        assert meta["generation"] == 1, "the spec was written"
        assert not [
            k
            for k in body["status"]
            if k
            not in (
                "observedGeneration",
                "mode",
                "replicas",
                "readyReplicas",
                "webhookURL",
                "configHash",
                "conditions",
            )
        ]
        operator_writes = [m for m in meta["managedFields"] if m["manager"] != "kubectl"]
        assert operator_writes, meta["managedFields"]
        for entry in operator_writes:
            assert entry.get("subresource") == "status", entry


def test_status_is_written_only_when_it_changes(cluster: Cluster) -> None:
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    time.sleep(1.5)  # let the last Deployment status events settle
    before = cluster.must_get("executionpipeline", "pipe")["metadata"]["resourceVersion"]
    reconciles = _reconciles(cluster)
    # Provoke reconciles that change nothing the status shows: drift on a child, put back.
    cluster.kubectl(
        "patch",
        "configmap",
        "pipe-executor-config",
        "--type=merge",
        "-p",
        '{"data": {"config.yaml": "edited"}}',
    )
    cluster.wait(
        lambda: (
            "edited"
            not in cluster.must_get("configmap", "pipe-executor-config")["data"]["config.yaml"]
        ),
        "the ConfigMap to be restored",
    )
    cluster.wait(lambda: _reconciles(cluster) > reconciles, "a reconcile after the edit")
    time.sleep(1.0)
    after = cluster.must_get("executionpipeline", "pipe")["metadata"]["resourceVersion"]
    assert after == before, "the pipeline status was rewritten although nothing changed"


def _reconciles(cluster: Cluster) -> float:
    total = 0.0
    for line in cluster.operator.metrics().splitlines():
        if line.startswith('fks_operator_reconcile_total{kind="ExecutionPipeline"'):
            total += float(line.rsplit(" ", 1)[1])
    return total
