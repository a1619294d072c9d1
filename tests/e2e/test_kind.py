"""The product on a real cluster, checked as a user would: images built and loaded into kind, the
chart's operator in a pod, the examples applied, alerts through the executor Service, a testnet
order on the fake exchange running in the cluster, a webhook-secret rotation, the PDB, metrics
from a pod, and garbage collection.

Runs in file order on one session cluster (tests/e2e/conftest.py); ``make e2e``, docs/kind.md.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fks_executor.auth import sign
from tests.e2e.kind import IMAGES, ROOT, VERSION, Cluster, PortForward, wait_for

pytestmark = pytest.mark.timeout(2400)

MANIFESTS = ROOT / "tests" / "e2e" / "manifests"
PIPELINE = "btc-momentum"  # examples/pipeline-dry-run.yaml
TESTNET = "btc-testnet"  # manifests/pipeline-testnet.yaml
ACCOUNT = "binance-testnet"  # examples/exchangeaccount-testnet.yaml
# The fake exchange's default credentials (docs/fake-exchange.md), put into the example's Secret
# where a user puts their testnet keys.
FAKE_KEYS = {"apiKey": "fks-fake-exchange-test-key", "secret": "fks-fake-exchange-test-secret"}


def _json(cluster: Cluster, *args: str) -> dict[str, Any]:
    out = cluster.kubectl("-n", cluster.namespace, "get", *args, "-o", "json").stdout
    data: dict[str, Any] = json.loads(out)
    return data


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for condition in obj.get("status", {}).get("conditions", []):
        if condition.get("type") == type_:
            return dict(condition)
    return {}


def _set_secret(cluster: Cluster, name: str, values: dict[str, str]) -> None:
    cluster.kubectl(
        "-n", cluster.namespace, "patch", "secret", name, "--type", "merge",
        "-p", json.dumps({"stringData": values}),
    )  # fmt: skip


def _pods(cluster: Cluster, pipeline: str) -> list[dict[str, Any]]:
    selector = f"app.kubernetes.io/name=fks-executor,app.kubernetes.io/instance={pipeline}"
    items: list[dict[str, Any]] = _json(cluster, "pods", "-l", selector)["items"]
    return items


def _ready(cluster: Cluster, kind: str, name: str, timeout: float) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = _json(cluster, kind, name)
        status = obj.get("status", {})
        current = status.get("observedGeneration") == obj["metadata"]["generation"]
        return obj if current and _condition(obj, "Ready").get("status") == "True" else None

    return wait_for(f"{kind}/{name} to be Ready", probe, timeout=timeout)


def _apply_and_roll_out(cluster: Cluster, name: str) -> None:
    """manifests/<name>.yaml with the project version in its image, until its pods are ready."""
    manifest = (MANIFESTS / f"{name}.yaml").read_text().replace("@VERSION@", VERSION)
    cluster.kubectl("-n", cluster.namespace, "apply", "-f", "-", stdin=manifest)
    cluster.kubectl(
        "-n", cluster.namespace, "rollout", "status", f"deployment/{name}", "--timeout=180s",
        timeout=200,
    )  # fmt: skip


@pytest.fixture(scope="module")
def deployed(cluster: Cluster) -> Cluster:
    """The fake exchange, examples/ (account + dry-run pipeline) as a user adapts them: the
    account's keys and endpoint point at the fake exchange, the webhook secret is random."""
    _apply_and_roll_out(cluster, "fake-exchange")
    cluster.apply(ROOT / "examples" / "exchangeaccount-testnet.yaml")
    _set_secret(cluster, "binance-testnet-keys", FAKE_KEYS)
    endpoint = f"http://fake-exchange.{cluster.namespace}.svc:8765"
    cluster.kubectl(
        "-n", cluster.namespace, "patch", "exchangeaccount", ACCOUNT, "--type", "merge",
        "-p", json.dumps({"spec": {"endpoint": endpoint}}),
    )  # fmt: skip
    cluster.apply(ROOT / "examples" / "pipeline-dry-run.yaml")
    _set_secret(cluster, f"{PIPELINE}-webhook", {"secret": secrets.token_hex(32)})
    return cluster


def _webhook_secret(cluster: Cluster, pipeline: str) -> str:
    secret = _json(cluster, "secret", f"{pipeline}-webhook")
    return base64.b64decode(secret["data"]["secret"]).decode()


def _alert(**fields: Any) -> dict[str, Any]:
    """An alert as TradingView's strategy template sends it (docs/tradingview.md).

    Alerts to the dry-run example carry ``size_usd``: it sizes by risk (a stop is needed), and
    its maxPositionSizeUSD (1,000) would refuse a second risk-sized buy as below_minimum."""
    return {
        "symbol": "BINANCE:BTCUSDT",
        "action": "buy",
        "price": 68000,
        "timestamp": int(time.time()),
        "id": f"e2e-{uuid.uuid4().hex[:12]}",
        **fields,
    }


def _post_signed(url: str, alert: dict[str, Any], secret: str) -> httpx.Response:
    body = json.dumps(alert).encode()
    return httpx.post(
        f"{url}/webhook/tradingview",
        content=body,
        headers={"Content-Type": "application/json", "X-Webhook-Signature": sign(body, secret)},
        timeout=15,
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _forward(cluster: Cluster, target: str, port: int, probe: str) -> PortForward:
    forward = PortForward(cluster, target, port)
    try:
        wait_for(f"{target} to answer", lambda: _answers(forward.url + probe), timeout=60, every=1)
    except TimeoutError:
        forward.close()
        raise
    return forward


def test_the_operator_runs_from_the_chart(cluster: Cluster) -> None:
    pods = _json(cluster, "pods", "-n", cluster.release_namespace)["items"]
    operators = [p for p in pods if p["spec"]["containers"][0]["image"] == IMAGES["operator"]]
    assert len(operators) == 1, [p["metadata"]["name"] for p in pods]
    status = operators[0]["status"]["containerStatuses"][0]
    assert status["ready"] is True
    assert "running" in status["state"]


def test_account_is_ready(deployed: Cluster) -> None:
    account = _ready(deployed, "exchangeaccount", ACCOUNT, timeout=120)
    assert _condition(account, "Ready")["reason"] == "CredentialsFound"


def test_pipeline_is_ready_and_pods_run_the_image(deployed: Cluster) -> None:
    pipeline = _ready(deployed, "executionpipeline", PIPELINE, timeout=300)
    assert pipeline["status"]["mode"] == "dry-run"
    assert pipeline["status"]["observedGeneration"] == pipeline["metadata"]["generation"]
    pods = _pods(deployed, PIPELINE)
    assert len(pods) == 1
    container = pods[0]["status"]["containerStatuses"][0]
    assert container["image"].endswith(IMAGES["executor"])
    assert container["ready"] is True
    assert "running" in container["state"]


@pytest.fixture(scope="module")
def executor_url(deployed: Cluster) -> Iterator[str]:
    """The dry-run pipeline's executor through its Service."""
    forward = _forward(deployed, f"service/{PIPELINE}-executor", 8000, "/health")
    try:
        yield forward.url
    finally:
        forward.close()


def test_signed_alert_is_answered_dry_run(deployed: Cluster, executor_url: str) -> None:
    answer = _post_signed(executor_url, _alert(size_usd=20), _webhook_secret(deployed, PIPELINE))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["status"] == "dry_run", data
    assert data["order"]["dry_run"] is True
    assert data["order"]["symbol"] == "BTC/USDT"


def test_tradingview_alert_is_answered_dry_run(deployed: Cluster, executor_url: str) -> None:
    """TradingView cannot sign: its message carries the passphrase, with strings for numbers."""
    alert = _alert(price="68000.5", size_usd="20", timestamp=str(int(time.time())))
    alert["passphrase"] = _webhook_secret(deployed, PIPELINE)
    answer = httpx.post(f"{executor_url}/webhook/tradingview", json=alert, timeout=15)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "dry_run"
    assert answer.json()["order"]["dry_run"] is True


def test_unsigned_alert_is_rejected(executor_url: str) -> None:
    answer = httpx.post(f"{executor_url}/webhook/tradingview", json=_alert(), timeout=10)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "invalid_signature"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_scraped_from_the_pod(deployed: Cluster) -> None:
    """What Prometheus scrapes: the pod's own /metrics (not through the Service)."""
    pod = _pods(deployed, PIPELINE)[0]["metadata"]["name"]
    forward = _forward(deployed, f"pod/{pod}", 8000, "/health")
    try:
        samples = _samples(httpx.get(f"{forward.url}/metrics", timeout=10).text)
    finally:
        forward.close()
    requests = {
        dict(labels).get("status"): value
        for (name, labels), value in samples.items()
        if name == "fks_webhook_requests_total" and dict(labels).get("pipeline") == PIPELINE
    }
    assert requests.get("dry_run", 0) >= 2, requests
    assert samples[("fks_webhook_signature_failures_total", ())] >= 1
    executions = [
        value
        for (name, labels), value in samples.items()
        if name == "fks_order_executions_total" and ("status", "dry_run") in labels
    ]
    assert sum(executions) >= 2


@pytest.fixture(scope="module")
def fake_exchange(deployed: Cluster) -> Iterator[str]:
    """The fake exchange's control API (loopback clients only: a port-forward is one)."""
    pod = _json(deployed, "pods", "-l", "app.kubernetes.io/name=fake-exchange")["items"][0]
    forward = _forward(deployed, f"pod/{pod['metadata']['name']}", 8765, "/_fake/health")
    try:
        yield forward.url
    finally:
        forward.close()


@pytest.fixture(scope="module")
def testnet(deployed: Cluster) -> Iterator[str]:
    """Two executors of a testnet pipeline, sharing state through Redis, behind their Service."""
    _apply_and_roll_out(deployed, "redis")
    deployed.apply(MANIFESTS / "pipeline-testnet.yaml")
    pipeline = _ready(deployed, "executionpipeline", TESTNET, timeout=300)
    assert pipeline["status"]["mode"] == "testnet"
    deployed.kubectl(
        "-n", deployed.namespace, "rollout", "status", f"deployment/{TESTNET}-executor",
        "--timeout=180s", timeout=200,
    )  # fmt: skip
    forward = _forward(deployed, f"service/{TESTNET}-executor", 8000, "/health")
    try:
        yield forward.url
    finally:
        forward.close()


def test_testnet_alert_places_one_order_on_the_exchange(
    deployed: Cluster, testnet: str, fake_exchange: str
) -> None:
    before = httpx.get(f"{fake_exchange}/_fake/orders", timeout=10).json()["count"]
    answer = _post_signed(testnet, _alert(), _webhook_secret(deployed, TESTNET))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["status"] == "executed", data
    order = data["order"]
    assert order["dry_run"] is False
    assert (order["symbol"], order["side"], order["status"]) == ("BTC/USDT", "buy", "closed")
    assert order["cost"] == pytest.approx(50, rel=0.01)  # fixed-notional 50 USD
    orders = httpx.get(f"{fake_exchange}/_fake/orders", timeout=10).json()
    assert orders["count"] == before + 1
    placed = [o for o in orders["orders"] if str(o["orderId"]) == str(order["id"])]
    assert len(placed) == 1, orders
    assert (placed[0]["symbol"], placed[0]["side"], placed[0]["status"]) == (
        "BTCUSDT",
        "BUY",
        "FILLED",
    )
    assert placed[0]["clientOrderId"] == order["client_order_id"]


def test_the_pdb_guards_the_testnet_executors(deployed: Cluster, testnet: str) -> None:
    def healthy() -> dict[str, Any] | None:
        pdb = _json(deployed, "pdb", f"{TESTNET}-executor")
        return pdb if pdb.get("status", {}).get("currentHealthy") == 2 else None

    pdb = wait_for("the PDB to count 2 healthy executors", healthy, timeout=120)
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["status"]["disruptionsAllowed"] == 1
    assert pdb["metadata"]["ownerReferences"][0]["name"] == TESTNET
    # The dry-run pipeline runs one executor: no PDB (it would block every drain).
    left = deployed.kubectl(
        "-n", deployed.namespace, "get", "pdb", f"{PIPELINE}-executor", "--ignore-not-found",
        "-o", "name",
    ).stdout.strip()  # fmt: skip
    assert left == ""


def _revision(cluster: Cluster, name: str) -> int:
    deployment = _json(cluster, "deployment", f"{name}-executor")
    return int(deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"])


def test_rotated_webhook_secret_rolls_the_pods_once(deployed: Cluster) -> None:
    old_secret = _webhook_secret(deployed, PIPELINE)
    revision = _revision(deployed, PIPELINE)
    old_pods = {p["metadata"]["name"] for p in _pods(deployed, PIPELINE)}
    new_secret = secrets.token_hex(32)
    _set_secret(deployed, f"{PIPELINE}-webhook", {"secret": new_secret})

    def rolled() -> bool:
        pods = _pods(deployed, PIPELINE)
        names = {p["metadata"]["name"] for p in pods}
        ready = all(
            s.get("ready") for p in pods for s in p.get("status", {}).get("containerStatuses", [])
        )
        return bool(pods) and not names & old_pods and ready and len(pods) == 1

    wait_for("the executor pods to be replaced", rolled, timeout=300)
    time.sleep(10)  # a second roll (e.g. a status write re-hashing) would show by now
    assert _revision(deployed, PIPELINE) == revision + 1
    forward = _forward(deployed, f"service/{PIPELINE}-executor", 8000, "/health")
    try:
        refused = _post_signed(forward.url, _alert(size_usd=20), old_secret)
        accepted = _post_signed(forward.url, _alert(size_usd=20), new_secret)
    finally:
        forward.close()
    assert refused.status_code == 401
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "dry_run"


def test_deleting_the_pipeline_deletes_its_children(deployed: Cluster) -> None:
    children = (
        f"deployment/{PIPELINE}-executor",
        f"service/{PIPELINE}-executor",
        f"configmap/{PIPELINE}-executor-config",
    )
    assert deployed.kubectl("-n", deployed.namespace, "get", *children, "-o", "name").stdout
    deployed.kubectl(
        "-n", deployed.namespace, "delete", "executionpipeline", PIPELINE, "--wait=true",
        "--timeout=60s", timeout=90,
    )  # fmt: skip

    def gone() -> bool:
        left = deployed.kubectl(
            "-n", deployed.namespace, "get", *children, "--ignore-not-found", "-o", "name",
            check=False,
        ).stdout.strip()  # fmt: skip
        return not left and not _pods(deployed, PIPELINE)

    wait_for("the executor children to be garbage-collected", gone, timeout=180)
