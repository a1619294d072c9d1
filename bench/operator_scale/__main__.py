"""How fast and how big the operator is, against the real local control plane.

    make bench-operator      # or: .venv/bin/python -m bench.operator_scale [--pipelines N]

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
4. write rate: the operator's cold-start writes per second, divided by a plain client's
   making the same writes (mean of one round before and one after the operator's).
                                                                target: >= 0.7
   The same writes: per pipeline the four children the operator applies (its builders'
   manifests, server-side apply) and its first status write (merge patch of the status
   subresource), 5 writes. The same means: the plain client (plain.py) is a process of its own
   using the operator's API client (same HTTP client, TLS and credentials), the operator's waves
   of concurrent applies, as many pipelines in flight as the operator has workers, everything
   rendered before its clock starts. The same clock: on both sides the writes are timed by the
   bench's watches, from the first write seen to the last. The same cluster: Deployments are
   not paused on either side (the pods behind them start in both), and every round starts from
   a settled cluster (the previous round's pods all running).
5. steady state: with every pipeline reconciled and its executors settled, a full resync
   (every pipeline reconciled again, from the watch caches); the requests it made.
                                                                target: 0 reads, 0 writes

The control plane gets enough fake nodes for every executor pod of the three rounds and a /16
Service range (the harness's /24 holds 254 Services). Prints each figure, then PASS/FAIL per
target; exits 1 when a target fails. ``--profile FILE`` records the cold start's operator with
py-spy (collapsed stacks; ``PY_SPY`` names the binary).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from collections.abc import Iterator
from pathlib import Path

import yaml
from bench.operator_scale.operator_process import OperatorProcess
from bench.operator_scale.phases import (
    WRITES_PER_PIPELINE,
    measure_cold_start,
    measure_latency,
    per_pipeline,
    percentile,
    plain_round,
    say,
)
from tests.harness import controlplane
from tests.harness.controlplane import ControlPlane, new_run_dir
from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import REPO

from fks_operator.settings import OperatorSettings

MIB = 1024 * 1024
READS = ("get", "list")
WRITES = ("apply", "apply_dry_run", "patch_status", "create", "delete")


@contextlib.contextmanager
def control_plane(pipelines: int) -> Iterator[KubeCluster]:
    # Room for every executor pod (110 per fake node; three rounds of N) and every Service (a
    # /16, where the harness's /24 holds 254 ClusterIPs): the module constant is read when the
    # API server starts.
    controlplane.SERVICE_CIDR = "10.0.0.0/16"
    plane = ControlPlane(new_run_dir("bench-operator"), nodes=max(3, 3 * pipelines // 100 + 3))
    say("starting the local control plane ...")
    cluster = plane.start()
    say(f"  up in {plane.startup_seconds:.1f}s ({cluster.server})")
    try:
        yield cluster
    finally:
        plane.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pipelines", type=int, default=1000, help="pipelines for the cold start")
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument(
        "--resync-seconds", type=int, default=60, help="the operator's resync period (steady state)"
    )
    parser.add_argument("--profile", type=Path, help="py-spy record the cold start's operator")
    parser.add_argument(
        "--no-steady", action="store_true", help="skip RSS and the steady-state resync (iterating)"
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

        say(f"\n4a. the plain client making the cold start's writes of {n} pipelines (before)")
        plain = [plain_round(cluster, "bench-plain-1", n, workers)]

        say(f"\n2./3./5. cold start with {n} pipelines, then a steady-state resync")
        op = OperatorProcess(cluster, resync_seconds=args.resync_seconds, profile=args.profile)
        try:
            cold = measure_cold_start(cluster, op, n, steady=not args.no_steady)
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
        say(
            f"  operator: {cold.writes.writes} writes in {cold.writes.seconds:.1f} s = "
            f"{cold.writes.rate:.0f} writes/s ({workers} workers; CPU "
            f"{cold.writes.cpu / n * 1000:.1f} ms per pipeline)"
        )

        say("\n4b. the plain client again (after), and the ratio")
        plain.append(plain_round(cluster, "bench-plain-2", n, workers))
        ratio = cold.writes.rate / statistics.mean(r.rate for r in plain)
        say(f"  write rate operator / plain client (mean of both rounds): {ratio:.2f}")

    expected = WRITES_PER_PIPELINE * n
    steady_reads = per_pipeline(cold.steady, READS, n)
    steady_writes = per_pipeline(cold.steady, WRITES, n)
    results = [
        ("apply -> Deployment p50 <= 150 ms", p50 <= 0.150, f"{p50 * 1000:.0f} ms"),
        (f"cold start, {n} pipelines <= 90 s", cold.seconds <= 90.0, f"{cold.seconds:.1f} s"),
        (f"RSS at {n} pipelines <= 250 MiB", cold.rss <= 250 * MIB, f"{cold.rss / MIB:.0f} MiB"),
        (
            "write rate operator/plain client >= 0.7",
            ratio >= 0.7 and cold.writes.writes == expected,
            f"{ratio:.2f}",
        ),
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
        f"  INFO  CPU per pipeline during the writes: operator {cold.writes.cpu / n * 1000:.1f} "
        f"ms, plain client {statistics.mean(r.cpu for r in plain) / n * 1000:.1f} ms"
    )
    say(
        f"  INFO  steady state per pipeline: {per_pipeline(cold.steady, ('get',), n):.3f} GETs, "
        f"{per_pipeline(cold.steady, ('list',), n):.3f} LISTs"
    )
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
