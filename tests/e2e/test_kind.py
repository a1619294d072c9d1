"""The product on a real cluster: images built and loaded into kind, the chart installed, the
examples applied, an alert through the executor Service, metrics, and garbage collection.

Runs in file order on one session cluster (tests/e2e/conftest.py); ``make e2e``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fks_executor.auth import sign
from tests.e2e.kind import ROOT, Cluster, PortForward, wait_for

pytestmark = pytest.mark.timeout(2400)

MANIFESTS = Path(__file__).parent / "manifests"
PIPELINE = "btc-momentum"
ACCOUNT = "binance-testnet"
CHILDREN = (
    f"deployment/{PIPELINE}-executor",
    f"service/{PIPELINE}-executor",
    f"configmap/{PIPELINE}-executor-config",
)


def _json(cluster: Cluster, *args: str) -> dict[str, Any]:
    out = cluster.kubectl("-n", cluster.namespace, "get", *args, "-o", "json").stdout
    data: dict[str, Any] = json.loads(out)
    return data


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for condition in obj.get("status", {}).get("conditions", []):
        if condition.get("type") == type_:
            return dict(condition)
    return {}


@pytest.fixture(scope="module")
def deployed(cluster: Cluster) -> Cluster:
    """The fake exchange, then examples/ (account + dry-run pipeline), account pointed at it."""
    cluster.apply(MANIFESTS / "fake-exchange.yaml")
    cluster.kubectl(
        "-n", cluster.namespace, "rollout", "status", "deployment/fake-exchange", "--timeout=180s",
        timeout=200,
    )  # fmt: skip
    cluster.apply(ROOT / "examples" / "exchangeaccount-testnet.yaml")
    endpoint = f"http://fake-exchange.{cluster.namespace}.svc:8765"
    cluster.kubectl(
        "-n", cluster.namespace, "patch", "exchangeaccount", ACCOUNT, "--type", "merge",
        "-p", json.dumps({"spec": {"endpoint": endpoint}}),
    )  # fmt: skip
    cluster.apply(ROOT / "examples" / "pipeline-dry-run.yaml")
    return cluster


def test_account_is_ready(deployed: Cluster) -> None:
    def ready() -> dict[str, Any] | None:
        account = _json(deployed, "exchangeaccount", ACCOUNT)
        return account if _condition(account, "Ready").get("status") == "True" else None

    account = wait_for("the ExchangeAccount to be Ready", ready, timeout=120)
    assert _condition(account, "Ready")["reason"] == "CredentialsFound"


def test_pipeline_is_ready_and_pods_run(deployed: Cluster) -> None:
    def ready() -> dict[str, Any] | None:
        pipeline = _json(deployed, "executionpipeline", PIPELINE)
        return pipeline if _condition(pipeline, "Ready").get("status") == "True" else None

    pipeline = wait_for("the ExecutionPipeline to be Ready", ready, timeout=300)
    assert pipeline["status"]["mode"] == "dry-run"
    assert pipeline["status"]["observedGeneration"] == pipeline["metadata"]["generation"]
    selector = f"app.kubernetes.io/name=fks-executor,app.kubernetes.io/instance={PIPELINE}"
    pods = _json(deployed, "pods", "-l", selector)["items"]
    assert pods
    assert all(pod["status"]["phase"] == "Running" for pod in pods)


@pytest.fixture(scope="module")
def executor_url(deployed: Cluster) -> Iterator[str]:
    forward = PortForward(deployed, f"service/{PIPELINE}-executor", 8000)
    try:
        wait_for(
            "the port-forward to answer",
            lambda: _answers(f"{forward.url}/health"),
            timeout=30,
            every=1,
        )
        yield forward.url
    finally:
        forward.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _webhook_secret(cluster: Cluster) -> str:
    import base64

    secret = _json(cluster, "secret", f"{PIPELINE}-webhook")
    return base64.b64decode(secret["data"]["secret"]).decode()


def test_signed_alert_is_answered_dry_run(deployed: Cluster, executor_url: str) -> None:
    body = json.dumps(
        {
            "symbol": "BTCUSDT",
            "action": "buy",
            "price": 68000,
            "size_usd": 50,
            "timestamp": int(time.time()),
            "id": f"e2e-{uuid.uuid4().hex[:12]}",
        }
    ).encode()
    signature = sign(body, _webhook_secret(deployed))
    answer = httpx.post(
        f"{executor_url}/webhook/tradingview",
        content=body,
        headers={"Content-Type": "application/json", "X-Webhook-Signature": signature},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["status"] == "dry_run", data
    assert data["order"]["dry_run"] is True
    assert data["order"]["symbol"] == "BTC/USDT"


def test_unsigned_alert_is_rejected(executor_url: str) -> None:
    answer = httpx.post(
        f"{executor_url}/webhook/tradingview",
        content=b'{"symbol": "BTCUSDT", "action": "buy", "timestamp": 0}',
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["reason"] == "invalid_signature"


def test_metrics_count_the_alerts(executor_url: str) -> None:
    text = httpx.get(f"{executor_url}/metrics", timeout=10).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    dry_run = (
        "fks_webhook_requests_total",
        (("pipeline", PIPELINE), ("reason", ""), ("status", "dry_run")),
    )
    assert samples.get(dry_run, 0) >= 1
    assert samples[("fks_webhook_signature_failures_total", ())] >= 1
    orders = [
        v
        for (name, labels), v in samples.items()
        if name == "fks_order_executions_total" and ("status", "dry_run") in labels
    ]
    assert sum(orders) >= 1


def test_deleting_the_pipeline_deletes_its_children(deployed: Cluster) -> None:
    deployed.kubectl(
        "-n", deployed.namespace, "delete", "executionpipeline", PIPELINE, "--wait=true",
        "--timeout=60s", timeout=90,
    )  # fmt: skip

    def gone() -> bool:
        left = deployed.kubectl(
            "-n", deployed.namespace, "get", *CHILDREN, "--ignore-not-found", "-o", "name",
            check=False,
        ).stdout.strip()  # fmt: skip
        pods = _json(deployed, "pods", "-l", f"app.kubernetes.io/instance={PIPELINE}")["items"]
        return not left and not pods

    wait_for("the executor children to be garbage-collected", gone, timeout=180)
