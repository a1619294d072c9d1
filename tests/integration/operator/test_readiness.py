"""Readiness follows the pods, and a pipeline that may not run says why and runs nothing:
its executor Deployment is held at 0 replicas (created that way if it never existed)."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.operator.conftest import (
    EXAMPLES,
    WEBHOOK_SECRET,
    Cluster,
    account,
    pipeline,
    secret,
    setup_pipeline,
)


def replicas(cluster: Cluster, name: str = "pipe") -> Any:
    deployment = cluster.get("deployment", f"{name}-executor")
    return None if deployment is None else deployment["spec"].get("replicas")


def pod_count(cluster: Cluster, name: str = "pipe") -> int:
    out = cluster.kubectl("get", "pods", "-o", "name", "-l", f"app.kubernetes.io/instance={name}")
    return len(out.split())


def test_ready_follows_the_pods(cluster: Cluster) -> None:
    setup_pipeline(cluster)
    ready = cluster.wait_ready("pipe")
    assert ready["message"] == "1/1 executor pods ready"
    # Two replicas need shared state: switch to redis, scale, and Ready follows the new pods.
    cluster.apply(secret("redis", url="redis://redis:6379/0"))
    cluster.kubectl(
        "patch",
        "executionpipeline",
        "pipe",
        "--type=merge",
        "-p",
        '{"spec": {"replicas": 2, '
        '"state": {"backend": "redis", "redisSecretRef": {"name": "redis"}}}}',
    )
    cluster.wait(
        lambda: (
            cluster.condition("executionpipeline", "pipe", "Ready").get("message")
            == "2/2 executor pods ready"
        ),
        "Ready with 2/2 pods",
        timeout=45,
    )
    status = cluster.pipeline_status("pipe")
    assert (status["replicas"], status["readyReplicas"]) == (2, 2)


def test_missing_account_holds_the_executors_at_zero(cluster: Cluster) -> None:
    cluster.apply(secret("pipe-webhook", secret=WEBHOOK_SECRET))
    cluster.apply(pipeline("pipe", accounts=("ghost",)))
    ready = cluster.wait_condition("executionpipeline", "pipe", "Ready", "False", "AccountMissing")
    assert "ExchangeAccount 'ghost' not found" in ready["message"]
    assert "held at 0 replicas" in ready["message"]
    reconciled = cluster.condition("executionpipeline", "pipe", "Reconciled")
    assert (reconciled["status"], reconciled["reason"]) == ("False", "AccountMissing")
    # The Deployment exists, at zero, and nothing runs; no config can be rendered yet.
    cluster.wait(lambda: replicas(cluster) == 0, "the Deployment created with 0 replicas")
    assert cluster.get("configmap", "pipe-executor-config") is None
    assert cluster.get("service", "pipe-executor") is not None
    assert pod_count(cluster) == 0
    assert any("ghost" in e["message"] for e in cluster.events("AccountMissing"))

    cluster.apply(secret("ghost-keys", apiKey="k", secret="s"))
    cluster.apply(account("ghost"))
    cluster.wait_ready("pipe")
    assert replicas(cluster) == 1
    assert cluster.get("configmap", "pipe-executor-config") is not None


def test_missing_secret_key_says_which(cluster: Cluster) -> None:
    cluster.apply(secret("acct-keys", apiKey="k", secret="s"))
    cluster.apply(account("acct"))
    cluster.apply(secret("pipe-webhook", wrong="hook"))
    cluster.apply(pipeline("pipe"))
    ready = cluster.wait_condition("executionpipeline", "pipe", "Ready", "False", "KeyMissing")
    assert "webhook Secret 'pipe-webhook' has no (or an empty) 'secret'" in ready["message"]
    cluster.wait(lambda: replicas(cluster) == 0, "the Deployment held at 0 replicas")
    assert pod_count(cluster) == 0

    cluster.apply(secret("pipe-webhook", secret=WEBHOOK_SECRET))
    cluster.wait_ready("pipe")
    assert replicas(cluster) == 1


def test_account_losing_its_secret_scales_a_running_pipeline_to_zero(cluster: Cluster) -> None:
    setup_pipeline(
        cluster,
        state={"backend": "redis", "redisSecretRef": {"name": "redis"}},
        autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 3},
    )
    cluster.apply(secret("redis", url="redis://redis:6379/0"))
    cluster.wait_ready("pipe", timeout=60)
    assert cluster.get("horizontalpodautoscaler", "pipe-executor") is not None

    cluster.kubectl("delete", "secret", "acct-keys")
    account_ready = cluster.wait_condition(
        "exchangeaccount", "acct", "Ready", "False", "SecretMissing"
    )
    assert "Secret 'acct-keys' not found" in account_ready["message"]
    ready = cluster.wait_condition("executionpipeline", "pipe", "Ready", "False", "AccountNotReady")
    assert "ExchangeAccount 'acct' is not ready (SecretMissing" in ready["message"]
    cluster.wait(lambda: replicas(cluster) == 0, "the Deployment scaled to 0")
    cluster.wait(lambda: pod_count(cluster) == 0, "the executor pods gone")
    assert cluster.get("horizontalpodautoscaler", "pipe-executor") is None, "the HPA would scale up"
    assert cluster.get("poddisruptionbudget", "pipe-executor") is None
    assert cluster.get("configmap", "pipe-executor-config") is not None, "the ConfigMap stays"

    cluster.apply(secret("acct-keys", apiKey="k", secret="s"))
    cluster.wait_condition("exchangeaccount", "acct", "Ready", "True")
    cluster.wait(
        lambda: cluster.get("horizontalpodautoscaler", "pipe-executor") is not None,
        "the HPA back after the hold",
    )
    assert cluster.get("poddisruptionbudget", "pipe-executor") is not None
    cluster.wait(lambda: (replicas(cluster) or 0) >= 1, "the Deployment scaled up again")


def test_dry_run_only_account_refuses_a_trading_pipeline(cluster: Cluster) -> None:
    cluster.apply(account("acct", credentialsSecretRef=None))
    cluster.apply(secret("pipe-webhook", secret=WEBHOOK_SECRET))
    cluster.apply(pipeline("pipe"))
    account_ready = cluster.wait_condition(
        "exchangeaccount", "acct", "Ready", "True", "NoCredentials"
    )
    assert "only dry-run" in account_ready["message"]
    ready = cluster.wait_condition("executionpipeline", "pipe", "Ready", "False", "AccountNotReady")
    assert "has no credentials" in ready["message"]
    cluster.kubectl(
        "patch", "executionpipeline", "pipe", "--type=merge", "-p", '{"spec": {"dryRun": true}}'
    )
    cluster.wait_ready("pipe")
    assert cluster.pipeline_status("pipe")["mode"] == "dry-run"


def test_unknown_exchange_and_missing_sandbox(cluster: Cluster) -> None:
    cluster.apply(account("nowhere", exchange="nosuchexchange", credentialsSecretRef=None))
    cluster.apply(account("krak", exchange="kraken", credentialsSecretRef=None))
    unknown = cluster.wait_condition(
        "exchangeaccount", "nowhere", "Ready", "False", "ExchangeUnsupported"
    )
    assert "'nosuchexchange' is not a ccxt exchange id" in unknown["message"]
    cluster.wait_condition("exchangeaccount", "krak", "Ready", "False", "SandboxUnsupported")


def test_the_examples_placeholder_secret_is_refused_until_replaced(cluster: Cluster) -> None:
    """examples/ as shipped: the webhook secret is a placeholder anyone can read, so nothing
    runs until it is replaced (Ready False, WebhookSecretWeak, naming the Secret, not the value)."""
    cluster.apply_file(EXAMPLES / "exchangeaccount-testnet.yaml")
    cluster.apply_file(EXAMPLES / "pipeline-dry-run.yaml")
    ready = cluster.wait_condition(
        "executionpipeline", "btc-momentum", "Ready", "False", "WebhookSecretWeak"
    )
    assert "webhook Secret 'btc-momentum-webhook' (key 'secret')" in ready["message"]
    assert "example value" in ready["message"]
    status = json.dumps(cluster.must_get("executionpipeline", "btc-momentum")["status"])
    events = json.dumps(cluster.events("WebhookSecretWeak"))
    for text in (status, events):
        assert "replace-with-a-long-random-string" not in text
    cluster.wait(lambda: replicas(cluster, "btc-momentum") == 0, "the Deployment held at 0")
    assert pod_count(cluster, "btc-momentum") == 0

    cluster.apply(secret("btc-momentum-webhook", secret="short-but-random-91c3"))

    # the condition is WebhookSecretWeak already (the example value): wait for the new message
    def says_too_short() -> dict[str, Any] | None:
        found = cluster.condition("executionpipeline", "btc-momentum", "Ready")
        weak = found.get("reason") == "WebhookSecretWeak"
        return found if weak and "is shorter than 32 bytes" in found.get("message", "") else None

    ready = cluster.wait(says_too_short, "Ready=False WebhookSecretWeak: shorter than 32 bytes")
    assert ready["status"] == "False"

    cluster.apply(secret("btc-momentum-webhook", secret=WEBHOOK_SECRET))
    cluster.wait_ready("btc-momentum", timeout=60)
    assert replicas(cluster, "btc-momentum") == 1
