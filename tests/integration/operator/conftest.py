"""The operator as a real subprocess (``fks-operator``) against the real local control plane.

One operator per test package (``operator`` fixture), watching all namespaces with the harness's
admin kubeconfig; each test works in its own namespace (``namespace`` fixture). Every wait
polls with a timeout and, on failure, shows the objects involved and the operator's log tail.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import ManagedProcess, free_port
from tests.integration.operator import gateway_api

REPO = Path(__file__).resolve().parents[3]
CRD_DIR = REPO / "crds"
EXAMPLES = REPO / "examples"
GROUP = "execution.fks.io"
T = TypeVar("T")


class Operator:
    """The running ``fks-operator`` process (restartable)."""

    def __init__(self, kube: KubeCluster) -> None:
        self.kube = kube
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.proc: ManagedProcess | None = None
        self.env = {
            "KUBECONFIG": str(kube.kubeconfig),
            "FKS_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "FKS_OPERATOR_HEALTH_PORT": str(self.health_port),
            "FKS_OPERATOR_EXECUTOR_IMAGE": "fks-executor:it",
            "FKS_OPERATOR_LOG_LEVEL": "INFO",
        }
        self._previous_logs = ""

    @property
    def healthz(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/healthz"

    def start(self) -> None:
        argv = [sys.executable, "-m", "fks_operator"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_OPERATOR_")}
        env.update(self.env)
        self.proc = ManagedProcess("fks-operator", argv, env=env, cwd=REPO)
        self.proc.wait_ready(self._healthy, timeout=60)

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.healthz, timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=20)
            self._previous_logs += self.proc.log_path.read_text(errors="replace")
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        current = self.proc.log_path.read_text(errors="replace") if self.proc else ""
        return self._previous_logs + current

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def caught_up(self) -> bool:
        """Whether this process has reconciled at least as many times as it knows pipelines and
        accounts (its first listing queues each once) and its queue is empty."""
        try:
            stats = httpx.get(self.healthz, timeout=2, trust_env=False).json()["reconcile"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        known = stats["pipelines"] + stats["accounts"]
        return bool(stats["reconciles"] >= known and not stats["queued"] and not stats["active"])

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        return httpx.get(url, timeout=5, trust_env=False).text


@pytest.fixture(scope="package")
def crds(kube: KubeCluster) -> None:
    for path in sorted(CRD_DIR.glob("*.yaml")):
        kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    for path in sorted(CRD_DIR.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        kube.wait_established(name)


@pytest.fixture
def no_gateway_api(kube: KubeCluster, operator: Operator) -> Iterator[Path]:
    """The HTTPRoute CRD is absent at the start of the test and removed again at its end (other
    tests expect a cluster without it); yields the CRD file to install during the test.

    The removal happens with the operator stopped: a CRD deleted under a running operator can
    make kopf's watch of it answer 404, which kopf treats as fatal and exits (in a pod the
    container restarts and comes back without it; docs/operator.md, "Optional APIs"). That is a
    known limit, not what these tests are about, and the package's other tests share this
    operator."""
    path = gateway_api.crd_file()
    kube.kubectl("delete", "crd", gateway_api.HTTP_ROUTE_CRD, "--ignore-not-found", "--timeout=60s")
    yield path
    operator.stop()
    try:
        kube.kubectl(
            "delete", "crd", gateway_api.HTTP_ROUTE_CRD, "--ignore-not-found", "--timeout=60s"
        )
    finally:
        operator.start()


@pytest.fixture(scope="package")
def operator(kube: KubeCluster, crds: None) -> Iterator[Operator]:
    handle = Operator(kube)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def op(operator: Operator, request: pytest.FixtureRequest) -> Iterator[Operator]:
    """The operator, checked to be alive after the test (a crash fails the test)."""
    yield operator
    if operator.proc is not None and not operator.proc.alive():
        pytest.fail(f"fks-operator exited during the test:\n{operator.tail()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    funcargs = getattr(item, "funcargs", {})
    handle = funcargs.get("operator") or funcargs.get("op")
    if report.failed and isinstance(handle, Operator):
        report.sections.append(("fks-operator log (tail)", handle.tail(80)))
    return report


# --- helpers ------------------------------------------------------------------------------------


class Cluster:
    """kubectl helpers for one test namespace, with waits that explain themselves."""

    def __init__(self, kube: KubeCluster, operator: Operator, namespace: str) -> None:
        self.kube = kube
        self.operator = operator
        self.ns = namespace

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> str:
        return self.kube.kubectl(*args, "-n", self.ns, check=check, input=input).stdout

    def apply(self, manifest: str | dict[str, Any]) -> None:
        self.kube.apply(manifest, namespace=self.ns)

    def apply_file(self, path: Path) -> None:
        self.kube.kubectl("apply", "-n", self.ns, "-f", str(path))

    def get(self, kind: str, name: str, *, managed_fields: bool = False) -> dict[str, Any] | None:
        extra = ["--show-managed-fields"] if managed_fields else []
        result = self.kube.kubectl(
            "get", kind, name, "-n", self.ns, "-o", "json", *extra, check=False
        )
        if result.returncode != 0:
            if "NotFound" in result.stderr:
                return None
            raise AssertionError(result.stderr)
        found: dict[str, Any] = json.loads(result.stdout)
        return found

    def must_get(self, kind: str, name: str, *, managed_fields: bool = False) -> dict[str, Any]:
        found = self.get(kind, name, managed_fields=managed_fields)
        assert found is not None, f"{kind} {self.ns}/{name} not found"
        return found

    def describe(self) -> str:
        kinds = (
            "executionpipelines,exchangeaccounts,deployments,replicasets,pods,configmaps,services,"
            "hpa,pdb"
        )
        state = self.kube.kubectl("get", kinds, "-n", self.ns, "-o", "wide", check=False)
        pipelines = self.kube.kubectl(
            "get", "executionpipelines", "-n", self.ns, "-o", "jsonpath={.items[*].status}",
            check=False,
        )  # fmt: skip
        return (
            f"{state.stdout}{state.stderr}\npipeline status: {pipelines.stdout}\n"
            f"--- fks-operator log (tail) ---\n{self.operator.tail(60)}"
        )

    def wait(self, probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
        return self.kube.wait_for(
            probe, timeout=timeout, interval=0.25, what=what, describe=self.describe
        )

    def pipeline_status(self, name: str) -> dict[str, Any]:
        status: dict[str, Any] = (self.get("executionpipeline", name) or {}).get("status") or {}
        return status

    def condition(self, kind: str, name: str, type_: str) -> dict[str, Any]:
        body = self.get(kind, name) or {}
        for item in (body.get("status") or {}).get("conditions") or ():
            if item.get("type") == type_:
                found: dict[str, Any] = item
                return found
        return {}

    def wait_condition(
        self, kind: str, name: str, type_: str, status: str, reason: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:  # fmt: skip
        def probe() -> dict[str, Any] | None:
            found = self.condition(kind, name, type_)
            ok = found.get("status") == status and (reason is None or found.get("reason") == reason)
            return found if ok else None

        want = f"{type_}={status}" + (f" ({reason})" if reason else "")
        return self.wait(probe, f"{kind} {self.ns}/{name} {want}", timeout)

    def wait_ready(self, name: str, timeout: float = 45.0) -> dict[str, Any]:
        return self.wait_condition("executionpipeline", name, "Ready", "True", timeout=timeout)

    def events(self, reason: str) -> list[dict[str, Any]]:
        items = json.loads(
            self.kubectl("get", "events", "-o", "json", f"--field-selector=reason={reason}")
        )["items"]
        found: list[dict[str, Any]] = items
        return found


@pytest.fixture
def cluster(kube: KubeCluster, op: Operator, namespace: str) -> Cluster:
    return Cluster(kube, op, namespace)


# --- objects ------------------------------------------------------------------------------------


#: A webhook secret the operator accepts (at least 32 bytes, not an example's value).
WEBHOOK_SECRET = "it-webhook-secret-6f0c1e9a4b7d2c5e8f3a0b6d"


def secret(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def account(name: str = "acct", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"exchange": "binance", "credentialsSecretRef": {"name": f"{name}-keys"}}
    base.update(spec)
    base = {k: v for k, v in base.items() if v is not None}  # None: leave the field out
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "ExchangeAccount",
        "metadata": {"name": name},
        "spec": base,
    }


def pipeline(
    name: str = "pipe", *, accounts: tuple[str, ...] = ("acct",), **spec: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "accounts": [{"name": a, "default": i == 0} for i, a in enumerate(accounts)],
        "webhook": {"secretRef": {"name": f"{name}-webhook", "key": "secret"}},
    }
    base.update(spec)
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "ExecutionPipeline",
        "metadata": {"name": name},
        "spec": base,
    }


def setup_pipeline(cluster: Cluster, name: str = "pipe", **spec: Any) -> None:
    """An account with its keys, the webhook Secret, and the pipeline."""
    cluster.apply(secret("acct-keys", apiKey="k-1", secret="s-1"))
    cluster.apply(account("acct"))
    cluster.apply(secret(f"{name}-webhook", secret=WEBHOOK_SECRET))
    cluster.apply(pipeline(name, **spec))
