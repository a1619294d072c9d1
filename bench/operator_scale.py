"""How fast and how big the operator is, against the real local control plane.

    make bench-operator            # or: .venv/bin/python bench/operator_scale.py [--pipelines N]

Starts its own control plane (tests/harness: kube-apiserver, etcd, controller-manager,
scheduler, kwok), installs the CRDs, runs ``fks-operator`` as a subprocess (admin kubeconfig,
default settings) and measures:

1. apply -> Deployment created: ExecutionPipelines are created one at a time (the operator
   idle, each on its own), and the time from the create call to the Deployment's ADDED watch
   event is taken (p50, p99).                                   target: p50 <= 150 ms
2. cold start: the operator is stopped, N pipelines are created, the operator is started;
   time from process start until every pipeline's status says Reconciled=True for its
   generation.                                                  target: <= 90 s for 1,000
   With it, the API requests of the reconcile loop (its own metric) per pipeline: GETs, LISTs
   and writes (figures; the watch caches make the reads a handful per cluster, not per pipeline).
3. the operator's resident memory (VmRSS) with N pipelines, after the cold start settled.
                                                                target: <= 250 MiB
4. object-write rate: children created per second by the operator during the cold start,
   divided by the rate of a plain client server-side-applying the same manifests (rendered
   by the same builders; its Deployments paused, so they start no pods) with the same
   concurrency in the same run (mean of one round before and one after the operator's, as
   other load on the machine moves both).
                                                                target: >= 0.7
5. steady state: with every pipeline reconciled and its executors settled, a full resync
   (every pipeline reconciled again, from the watch caches); the requests it made.
                                                                target: 0 reads, 0 writes

The control plane gets enough fake nodes for every executor pod and a /16 Service range (the
harness's /24 holds 254 Services). Prints each figure, then PASS/FAIL per target; exits 1 when
a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import math
import os
import re
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import yaml  # noqa: E402
from lightkube import AsyncClient, Client, KubeConfig  # noqa: E402
from lightkube.generic_resource import create_namespaced_resource  # noqa: E402
from lightkube.resources.apps_v1 import Deployment  # noqa: E402
from lightkube.resources.core_v1 import ConfigMap  # noqa: E402
from lightkube.types import PatchType  # noqa: E402
from tests.harness import controlplane  # noqa: E402
from tests.harness.controlplane import ControlPlane, new_run_dir, rss_of  # noqa: E402
from tests.harness.kube_cluster import KubeCluster  # noqa: E402
from tests.harness.procs import ManagedProcess, free_port  # noqa: E402

from fks_operator.builders import build_children  # noqa: E402
from fks_operator.settings import OperatorSettings  # noqa: E402
from fks_operator.specs import parse_account, parse_pipeline  # noqa: E402

MIB = 1024 * 1024
GROUP, VERSION = "execution.fks.io", "v1alpha1"
Pipeline = create_namespaced_resource(GROUP, VERSION, "ExecutionPipeline", "executionpipelines")
Account = create_namespaced_resource(GROUP, VERSION, "ExchangeAccount", "exchangeaccounts")
SELECTOR = {"app.kubernetes.io/managed-by": "fks-operator"}
EXECUTOR_IMAGE = "fks-executor:bench"
WEBHOOK_SECRET = secrets.token_hex(32)


def say(message: str) -> None:
    print(message, flush=True)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- objects ------------------------------------------------------------------------------------


def inputs(namespace: str) -> list[dict[str, Any]]:
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


def pipeline(name: str, namespace: str) -> dict[str, Any]:
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


# --- cluster helpers ----------------------------------------------------------------------------


def client_for(cluster: KubeCluster) -> Client:
    config = KubeConfig.from_file(str(cluster.kubeconfig))
    return Client(config=config, field_manager="bench", trust_env=False)


def apply_all(cluster: KubeCluster, objects: list[dict[str, Any]]) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(objects))


def create_namespace(cluster: KubeCluster, name: str) -> None:
    cluster.kubectl("create", "namespace", name)


def delete_namespace(cluster: KubeCluster, name: str) -> None:
    # A namespace with a thousand pipelines' children and pods takes minutes to empty here.
    cluster.kubectl("delete", "namespace", name, "--timeout=900s", timeout=960)


class Recorder:
    """Watches one kind in a namespace (own thread, own client) and records, per object name,
    the monotonic time at which ``predicate(event_type, object)`` first held."""

    def __init__(
        self,
        cluster: KubeCluster,
        resource: Any,
        namespace: str,
        predicate: Callable[[str, Any], bool],
        labels: dict[str, str] | None = None,
    ) -> None:
        self.times: dict[str, float] = {}
        self._client = client_for(cluster)
        self._resource, self._namespace = resource, namespace
        self._predicate, self._labels = predicate, labels
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        stream = self._client.watch(self._resource, namespace=self._namespace, labels=self._labels)
        self._ready.set()
        with contextlib.suppress(Exception):
            for event_type, obj in stream:
                name = obj.metadata.name
                if name not in self.times and self._predicate(event_type, obj):
                    self.times[name] = time.monotonic()

    def wait_for(self, names: set[str], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if names <= set(self.times):
                return
            time.sleep(0.05)
        missing = sorted(names - set(self.times))
        raise TimeoutError(
            f"{what}: {len(missing)} of {len(names)} missing after {timeout:.0f}s "
            f"(e.g. {missing[:3]})"
        )


def added(event_type: str, obj: Any) -> bool:
    return event_type == "ADDED"


def reconciled(event_type: str, obj: Any) -> bool:
    status = obj.get("status") or {}
    generation = obj["metadata"].get("generation")
    if status.get("observedGeneration") != generation:
        return False
    return any(
        c.get("type") == "Reconciled" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )


# --- the operator -------------------------------------------------------------------------------


class OperatorProcess:
    def __init__(self, cluster: KubeCluster, resync_seconds: int = 600) -> None:
        self.cluster = cluster
        self.resync_seconds = resync_seconds
        self.metrics_port, self.health_port = free_port(), free_port()
        self.proc: ManagedProcess | None = None
        self.started_at = 0.0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_OPERATOR_")}
        env.update(
            {
                "KUBECONFIG": str(self.cluster.kubeconfig),
                "FKS_OPERATOR_METRICS_PORT": str(self.metrics_port),
                "FKS_OPERATOR_HEALTH_PORT": str(self.health_port),
                "FKS_OPERATOR_EXECUTOR_IMAGE": EXECUTOR_IMAGE,
                "FKS_OPERATOR_LOG_LEVEL": "WARNING",
                "FKS_OPERATOR_RESYNC_SECONDS": str(self.resync_seconds),
            }
        )
        self.started_at = time.monotonic()
        self.proc = ManagedProcess(
            "fks-operator-bench", [sys.executable, "-m", "fks_operator"], env=env, cwd=REPO
        )
        self.proc.wait_ready(self._healthy, timeout=60)

    def _healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            return httpx.get(url, timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=30)
            self.proc = None

    def rss(self) -> int:
        return rss_of(self.proc.pid) if self.proc else 0

    def _metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        return httpx.get(url, timeout=5, trust_env=False).text

    def reconciles(self) -> float:
        """Pipeline reconciles so far, any result."""
        pattern = r'^fks_operator_reconcile_total\{kind="ExecutionPipeline",[^}]*\} (\S+)'
        return sum(float(m.group(1)) for m in re.finditer(pattern, self._metrics(), re.M))

    def requests(self) -> dict[str, float]:
        """API requests the reconcile loop made, by verb (from the operator's own metrics)."""
        text = self._metrics()
        totals: dict[str, float] = {}
        for match in re.finditer(
            r'^fks_operator_api_requests_total\{kind="[^"]*",result="[^"]*",verb="([^"]+)"\} (\S+)',
            text,
            re.M,
        ):
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(2))
        return totals


# --- measurements -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def measure_latency(cluster: KubeCluster, op: OperatorProcess, samples: int) -> list[float]:
    namespace = "bench-latency"
    create_namespace(cluster, namespace)
    client = client_for(cluster)
    apply_all(cluster, inputs(namespace))
    deployments = Recorder(cluster, Deployment, namespace, added)
    time.sleep(1.0)  # the account's first reconcile (and ccxt's import) out of the way
    started: dict[str, float] = {}
    for i in range(samples):
        name = f"lat-{i:03d}"
        started[name] = time.monotonic()
        client.create(Pipeline.from_dict(pipeline(name, namespace)))
        deadline = time.monotonic() + 10
        while f"{name}-executor" not in deployments.times and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
    deployments.wait_for({f"{n}-executor" for n in started}, 30, "Deployments")
    latencies = [deployments.times[f"{n}-executor"] - t for n, t in started.items()]
    op.stop()
    delete_namespace(cluster, namespace)
    return latencies


@dataclasses.dataclass
class ColdStart:
    seconds: float  # process start -> every pipeline Reconciled
    first_child: float
    last_child: float
    requests: dict[str, float]  # of the reconcile loop, when every pipeline was Reconciled
    rss: int = 0
    steady: dict[str, float] = dataclasses.field(default_factory=dict)  # during a full resync
    steady_reconciles: float = 0.0


def measure_cold_start(cluster: KubeCluster, op: OperatorProcess, count: int) -> ColdStart:
    namespace = "bench-cold"
    create_namespace(cluster, namespace)
    client = client_for(cluster)
    apply_all(cluster, inputs(namespace))
    names = [f"cold-{i:04d}" for i in range(count)]
    for name in names:
        client.create(Pipeline.from_dict(pipeline(name, namespace)))
    pipelines = Recorder(cluster, Pipeline, namespace, reconciled)
    config_maps = Recorder(cluster, ConfigMap, namespace, added, labels=SELECTOR)
    deployments = Recorder(cluster, Deployment, namespace, added)
    say(f"  {count} pipelines created with the operator stopped; starting it")
    op.start()
    pipelines.wait_for(set(names), 300, "pipelines Reconciled")
    requests = op.requests()
    done = max(pipelines.times.values())
    deployments.wait_for({f"{n}-executor" for n in names}, 60, "Deployments")
    result = ColdStart(
        seconds=done - op.started_at,
        first_child=min(config_maps.times.values()),
        last_child=max(max(config_maps.times.values()), max(deployments.times.values())),
        requests=requests,
    )
    say("  every pipeline reconciled; letting the executors become ready before sampling RSS")
    settle_until = time.monotonic() + 120
    while time.monotonic() < settle_until:
        ready = cluster.kubectl_json("get", "executionpipelines", "-n", namespace)["items"]
        if all(_ready(p) for p in ready):
            break
        time.sleep(2)
    time.sleep(5)  # the last status writes and Events of the Ready transitions
    result.rss = max(_sample(op.rss) for _ in range(5))
    say(f"  steady state: waiting for a full resync ({op.resync_seconds} s period)")
    before, reconciled_before = op.requests(), op.reconciles()
    deadline = time.monotonic() + 2 * op.resync_seconds + 60
    while op.reconciles() - reconciled_before < count and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)
    after = op.requests()
    result.steady = {verb: after.get(verb, 0) - before.get(verb, 0) for verb in after}
    result.steady_reconciles = op.reconciles() - reconciled_before
    return result


def _ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or ()
    )


def _sample(read: Callable[[], int]) -> int:
    time.sleep(1.0)
    return read()


def rendered_children(names: list[str], target: str) -> list[dict[str, Any]]:
    """The children of the bench pipelines ``names`` as the operator's builders render them,
    in namespace ``target``, without owner references (a plain client's objects)."""
    secret_a, secret_b, account_obj = inputs(target)
    account = parse_account(account_obj)
    secret_data = {s["metadata"]["name"]: s["data"] for s in (secret_a, secret_b)}
    settings = OperatorSettings(executor_image=EXECUTOR_IMAGE)
    manifests = []
    for name in names:
        children = build_children(
            parse_pipeline(pipeline(name, target)),
            {"acct": account},
            settings,
            secret_data,
            service_monitor_api=False,
        )
        for manifest in children.manifests():
            meta = {k: v for k, v in manifest["metadata"].items() if k != "ownerReferences"}
            # Not labelled as the operator's: its watches (and caches) must not see them.
            meta["labels"] = {**meta["labels"], "app.kubernetes.io/managed-by": "bench-plain"}
            plain = {**manifest, "metadata": meta}
            if plain["kind"] == "Deployment":
                # Paused: the Deployment controller creates no ReplicaSet, hence no pods, so
                # emptying the namespace afterwards is quick (it throttles itself at 20 requests
                # per second here). The request is the same size to the API server.
                plain["spec"] = {**plain["spec"], "paused": True}
            manifests.append(plain)
    return manifests


def plain_round(cluster: KubeCluster, names: list[str], namespace: str, workers: int) -> float:
    """Objects per second of a plain client applying the children of ``names`` in a namespace
    of their own (left in place: the control plane goes away at the end)."""
    create_namespace(cluster, namespace)
    manifests = rendered_children(names, namespace)
    seconds = asyncio.run(plain_apply(cluster, manifests, workers))
    say(
        f"  plain client: {len(manifests)} applies in {seconds:.1f} s = "
        f"{len(manifests) / seconds:.0f} objects/s ({workers} concurrent)"
    )
    return len(manifests) / seconds


async def plain_apply(
    cluster: KubeCluster, manifests: list[dict[str, Any]], concurrency: int
) -> float:
    """Seconds for a plain async client to server-side apply ``manifests``."""
    from lightkube.resources.core_v1 import ConfigMap as CM
    from lightkube.resources.core_v1 import Service
    from lightkube.resources.networking_v1 import NetworkPolicy

    kinds = {
        "ConfigMap": CM,
        "NetworkPolicy": NetworkPolicy,
        "Service": Service,
        "Deployment": Deployment,
    }
    config = KubeConfig.from_file(str(cluster.kubeconfig))
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for manifest in manifests:
        queue.put_nowait(manifest)
    async with AsyncClient(config=config, field_manager="bench-plain", trust_env=False) as client:

        async def worker() -> None:
            while not queue.empty():
                manifest = queue.get_nowait()
                meta = manifest["metadata"]
                await client.patch(
                    kinds[manifest["kind"]],
                    meta["name"],
                    manifest,
                    namespace=meta["namespace"],
                    patch_type=PatchType.APPLY,
                    force=True,
                )

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.monotonic() - started


# --- main ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def control_plane(pipelines: int) -> Iterator[KubeCluster]:
    # Room for every executor pod (110 per fake node) and every Service (a /16, where the
    # harness's /24 holds 254 ClusterIPs): the module constant is read when the API server
    # starts.
    controlplane.SERVICE_CIDR = "10.0.0.0/16"
    plane = ControlPlane(new_run_dir("bench-operator"), nodes=max(3, pipelines // 100 + 2))
    say("starting the local control plane ...")
    cluster = plane.start()
    say(f"  up in {plane.startup_seconds:.1f}s ({cluster.server})")
    try:
        yield cluster
    finally:
        plane.stop()


def per_pipeline(requests: dict[str, float], verbs: tuple[str, ...], pipelines: int) -> float:
    return sum(requests.get(verb, 0.0) for verb in verbs) / pipelines


READS = ("get", "list")
WRITES = ("apply", "apply_dry_run", "patch_status", "create", "delete")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", type=int, default=1000, help="pipelines for the cold start")
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument(
        "--resync-seconds", type=int, default=60, help="the operator's resync period (steady state)"
    )
    args = parser.parse_args()
    workers = OperatorSettings().workers
    n = args.pipelines

    with control_plane(n) as cluster:
        for path in sorted((REPO / "crds").glob("*.yaml")):
            cluster.kubectl("apply", "--server-side", "-f", str(path))
            name = yaml.safe_load(path.read_text())["metadata"]["name"]
            cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}")

        say(f"\n1. apply -> Deployment created, {args.latency_samples} pipelines one at a time")
        op = OperatorProcess(cluster)
        op.start()
        try:
            latencies = measure_latency(cluster, op, args.latency_samples)
        finally:
            op.stop()
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        say(
            f"  p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"mean {statistics.mean(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )

        names = [f"cold-{i:04d}" for i in range(n)]
        say("\n4a. a plain client applying the same children (before the operator's run)")
        plain_rates = [plain_round(cluster, names, "bench-plain-1", workers)]

        say(f"\n2./3./5. cold start with {n} pipelines, then a steady-state resync")
        op = OperatorProcess(cluster, resync_seconds=args.resync_seconds)
        try:
            cold = measure_cold_start(cluster, op, n)
        finally:
            op.stop()
        say(f"  all {n} Reconciled {cold.seconds:.1f} s after the operator process started")
        say(f"  operator RSS with {n} pipelines: {cold.rss / MIB:.0f} MiB")
        say(
            "  cold start, API requests of the reconcile loop: "
            f"{dict(sorted(cold.requests.items()))}"
        )
        say(
            f"  steady state, {cold.steady_reconciles:.0f} pipeline reconciles (a full resync): "
            f"{dict(sorted(cold.steady.items()))}"
        )
        # NetworkPolicy, ConfigMap, Service, Deployment each (as the plain client applies)
        children = len(rendered_children(names[:1], "bench-cold")) * n
        span = max(cold.last_child - cold.first_child, 1e-3)
        operator_rate = children / span
        say(
            f"  operator: {children} children in {span:.1f} s = "
            f"{operator_rate:.0f} objects/s ({workers} workers)"
        )

        say("\n4b. the plain client again (after), and the ratio")
        plain_rates.append(plain_round(cluster, names, "bench-plain-2", workers))
        ratio = operator_rate / statistics.mean(plain_rates)
        say(f"  object-write rate operator / plain client (mean of both rounds): {ratio:.2f}")

    steady_reads = per_pipeline(cold.steady, READS, n)
    steady_writes = per_pipeline(cold.steady, WRITES, n)
    results = [
        ("apply -> Deployment p50 <= 150 ms", p50 <= 0.150, f"{p50 * 1000:.0f} ms"),
        (f"cold start, {n} pipelines <= 90 s", cold.seconds <= 90.0, f"{cold.seconds:.1f} s"),
        (f"RSS at {n} pipelines <= 250 MiB", cold.rss <= 250 * MIB, f"{cold.rss / MIB:.0f} MiB"),
        ("object-write rate operator/plain client >= 0.7", ratio >= 0.7, f"{ratio:.2f}"),
        (
            "steady state: a full resync reads nothing",
            cold.steady_reconciles >= n and steady_reads == 0,
            f"{steady_reads:.3f} GET/LIST per pipeline ({cold.steady_reconciles:.0f} reconciles)",
        ),
        (
            "steady state: a full resync writes nothing",
            cold.steady_reconciles >= n and steady_writes == 0,
            f"{steady_writes:.3f} writes per pipeline",
        ),
    ]
    say("\nresults")
    for label, ok, figure in results:
        say(f"  {'PASS' if ok else 'FAIL'}  {label}: {figure}")
    say(f"  INFO  apply -> Deployment p99: {p99 * 1000:.0f} ms")
    say(
        f"  INFO  cold start per pipeline: {per_pipeline(cold.requests, ('get',), n):.3f} GETs, "
        f"{per_pipeline(cold.requests, ('list',), n):.3f} LISTs, "
        f"{per_pipeline(cold.requests, WRITES, n):.2f} writes"
    )
    say(
        f"  INFO  steady state per pipeline: {per_pipeline(cold.steady, ('get',), n):.3f} GETs, "
        f"{per_pipeline(cold.steady, ('list',), n):.3f} LISTs"
    )
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
