"""The bench's measurements, one function per phase (see the package docstring)."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml
from bench.operator_scale.objects import (
    GROUP,
    OPERATOR_LABELS,
    PLAIN_LABELS,
    VERSION,
    inputs,
    pipeline,
    pipeline_names,
)
from bench.operator_scale.operator_process import OperatorProcess
from bench.operator_scale.watching import DEPLOYMENTS, Recorder, WriteWindow, added
from lightkube import Client, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import REPO

Pipeline = create_namespaced_resource(GROUP, VERSION, "ExecutionPipeline", "executionpipelines")
WRITES_PER_PIPELINE = 5  # NetworkPolicy, ConfigMap, Service, Deployment, status
SETTLE_SECONDS = 600


def say(message: str) -> None:
    print(message, flush=True)


def client_for(cluster: KubeCluster) -> Client:
    return Client(config=KubeConfig.from_file(str(cluster.kubeconfig)), trust_env=False)


def prepare(cluster: KubeCluster, namespace: str, names: list[str]) -> None:
    """A namespace with the account, its Secrets and the pipelines ``names``."""
    cluster.kubectl("create", "namespace", namespace)
    objects = inputs(namespace)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(objects))
    client = client_for(cluster)
    for name in names:
        client.create(Pipeline.from_dict(pipeline(name, namespace)))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# --- 1. apply -> Deployment ---------------------------------------------------------------------


def measure_latency(cluster: KubeCluster, op: OperatorProcess, samples: int) -> list[float]:
    namespace = "bench-latency"
    prepare(cluster, namespace, [])
    client = client_for(cluster)
    deployments = Recorder(cluster, DEPLOYMENTS, namespace, {"added": added})
    time.sleep(1.0)  # the account's first reconcile (and ccxt's import) out of the way
    started: dict[str, float] = {}
    for i in range(samples):
        name = f"lat-{i:03d}"
        started[name] = time.monotonic()
        client.create(Pipeline.from_dict(pipeline(name, namespace)))
        deadline = time.monotonic() + 10
        while f"{name}-executor" not in deployments.times["added"]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        time.sleep(0.1)
    deployments.wait_for("added", {f"{n}-executor" for n in started}, 30, "Deployments")
    deployments.close()
    op.stop()
    # Left in place (emptying it takes minutes); its pods are few and settled by the next phase.
    return [deployments.times["added"][f"{n}-executor"] - t for n, t in started.items()]


# --- 4. the plain client ------------------------------------------------------------------------


@dataclasses.dataclass
class Round:
    """One writer's cold-start writes, timed by the bench's watches."""

    writes: int
    seconds: float  # first write seen -> last write seen
    cpu: float  # the writer's CPU seconds for them

    @property
    def rate(self) -> float:
        return self.writes / max(self.seconds, 1e-3)


def plain_round(cluster: KubeCluster, namespace: str, count: int, workers: int) -> Round:
    """The plain client (bench/operator_scale/plain.py, its own process) making the operator's
    cold-start writes for ``count`` pipelines; then its pipelines are deleted (the operator,
    watching every namespace, must not find them) and the cluster settles (every Deployment's
    pods running) before the next phase."""
    names = pipeline_names(count)
    prepare(cluster, namespace, names)
    window = WriteWindow(cluster, namespace, PLAIN_LABELS)
    plain = "bench.operator_scale.plain"
    done = subprocess.run(
        [sys.executable, "-m", plain, str(cluster.kubeconfig), namespace, str(count), str(workers)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    client_seconds, cpu = (float(x) for x in done.stdout.split())
    window.wait(names, 120)
    first, last = window.span()
    say(f"  writes seen (s after the first): {window.spans(first)}")
    result = Round(window.writes(), last - first, cpu)
    say(
        f"  plain client: {result.writes} writes in {result.seconds:.1f} s = "
        f"{result.rate:.0f} writes/s ({workers} pipelines in flight; its own clock "
        f"{client_seconds:.1f} s; CPU {cpu / count * 1000:.1f} ms per pipeline)"
    )
    cluster.kubectl("delete", "executionpipelines", "--all", "-n", namespace, timeout=600)
    settle(window, names)
    window.close()
    return result


def settle(window: WriteWindow, names: list[str]) -> None:
    started = time.monotonic()
    window.wait_available(names, SETTLE_SECONDS)
    say(f"  every Deployment available {time.monotonic() - started:.0f} s later (settled)")


# --- 2./3./5. the operator's cold start ---------------------------------------------------------


@dataclasses.dataclass
class ColdStart:
    seconds: float  # process start -> every pipeline Reconciled
    writes: Round
    requests: dict[str, float]  # of the reconcile loop, when every pipeline was Reconciled
    rss: int = 0
    steady: dict[str, float] = dataclasses.field(default_factory=dict)  # during a full resync
    steady_reconciles: float = 0.0


def measure_cold_start(
    cluster: KubeCluster, op: OperatorProcess, count: int, steady: bool = True
) -> ColdStart:
    namespace = "bench-cold"
    names = pipeline_names(count)
    prepare(cluster, namespace, names)
    window = WriteWindow(cluster, namespace, OPERATOR_LABELS)
    say(f"  {count} pipelines created with the operator stopped; starting it")
    op.start()
    cpu_at_start = op.cpu()
    window.wait(names, 600)
    cpu = op.cpu() - cpu_at_start
    requests = op.requests()
    first, last = window.span()
    say(f"  writes seen (s after the operator started): {window.spans(op.started_at)}")
    done = max(window.pipelines.times["reconciled"].values())
    result = ColdStart(done - op.started_at, Round(window.writes(), last - first, cpu), requests)
    if not steady:
        window.close()
        return result
    say("  every pipeline reconciled; letting the executors become ready before sampling RSS")
    settle(window, names)
    window.pipelines.wait_for("ready", set(names), SETTLE_SECONDS, "pipelines Ready")
    window.close()
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


def _sample(read: Callable[[], int]) -> int:
    time.sleep(1.0)
    return read()


def per_pipeline(requests: dict[str, Any], verbs: tuple[str, ...], pipelines: int) -> float:
    return sum(float(requests.get(verb, 0.0)) for verb in verbs) / pipelines
