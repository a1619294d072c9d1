"""The operator reconciles from its watch caches: a steady-state re-reconcile of an unchanged
pipeline sends the API server nothing, drift is still corrected, a deleted child comes back, and
a restarted operator writes nothing for children that are already right.

Requests are counted by the operator's own ``fks_operator_api_requests_total`` (every request
of the reconcile loop goes through its one API client and is counted there, whatever its
outcome). kopf's watch streams are not in it: they are long-lived, and re-established only every
5 minutes, longer than these tests.

The package's operator is restarted for each of these tests watching only the test's namespace
(so other tests' objects add no requests) with a 2 s resync (every pipeline is then reconciled
again every 2 s, from the caches), and restored afterwards."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.integration.operator.conftest import Cluster, Operator, setup_pipeline

RESYNC_SECONDS = 2
READS = ("get", "list")
WRITES = ("apply", "apply_dry_run", "patch_status", "create", "delete")


@pytest.fixture
def fast_resync(operator: Operator, namespace: str) -> Iterator[Operator]:
    operator.env["FKS_OPERATOR_RESYNC_SECONDS"] = str(RESYNC_SECONDS)
    operator.env["FKS_OPERATOR_NAMESPACES"] = namespace
    operator.restart()
    try:
        yield operator
    finally:
        del operator.env["FKS_OPERATOR_RESYNC_SECONDS"]
        del operator.env["FKS_OPERATOR_NAMESPACES"]
        operator.restart()


def requests(operator: Operator) -> dict[str, float]:
    """API requests of the reconcile loop so far, by verb."""
    totals: dict[str, float] = {}
    pattern = (
        r'^fks_operator_api_requests_total\{kind="[^"]*",result="[^"]*",verb="([^"]+)"\} (\S+)'
    )
    for match in re.finditer(pattern, operator.metrics(), re.M):
        totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(2))
    return totals


def reconciles(operator: Operator) -> float:
    """Pipeline reconciles so far (any result)."""
    pattern = r'^fks_operator_reconcile_total\{kind="ExecutionPipeline",result="[^"]*"\} (\S+)'
    return sum(float(m.group(1)) for m in re.finditer(pattern, operator.metrics(), re.M))


def count(totals: dict[str, float], verbs: tuple[str, ...]) -> float:
    return sum(totals.get(verb, 0.0) for verb in verbs)


def steady(cluster: Cluster) -> None:
    """The pipeline ready, and a moment for the last Deployment status events to pass."""
    cluster.wait_ready("pipe")
    time.sleep(RESYNC_SECONDS + 1)


def test_a_steady_state_resync_reads_and_writes_nothing(
    fast_resync: Operator, cluster: Cluster
) -> None:
    setup_pipeline(cluster)
    steady(cluster)
    before, reconciled_before = requests(fast_resync), reconciles(fast_resync)
    time.sleep(3 * RESYNC_SECONDS + 1)
    after, reconciled_after = requests(fast_resync), reconciles(fast_resync)

    assert reconciled_after - reconciled_before >= 3, "the resync reconciled the pipeline again"
    assert count(after, READS) == count(before, READS), f"reads: {before} -> {after}"
    assert count(after, WRITES) == count(before, WRITES), f"writes: {before} -> {after}"
    assert cluster.condition("executionpipeline", "pipe", "Ready")["status"] == "True"


def test_drift_is_corrected_from_the_cache(fast_resync: Operator, cluster: Cluster) -> None:
    setup_pipeline(cluster)
    steady(cluster)
    image = cluster.must_get("deployment", "pipe-executor")["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    before = requests(fast_resync)
    cluster.kubectl(
        "patch",
        "deployment",
        "pipe-executor",
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", '
        '"value": "attacker/image:1"}]',
    )
    cluster.wait(
        lambda: (
            cluster.must_get("deployment", "pipe-executor")["spec"]["template"]["spec"][
                "containers"
            ][0]["image"]
            == image
        ),
        "the Deployment's image restored",
    )
    after = requests(fast_resync)
    assert count(after, READS) == count(before, READS), f"reads: {before} -> {after}"
    assert after.get("apply", 0) > before.get("apply", 0)


def test_a_deleted_child_is_recreated_from_the_cache(
    fast_resync: Operator, cluster: Cluster
) -> None:
    setup_pipeline(cluster)
    steady(cluster)
    old = cluster.must_get("service", "pipe-executor")["metadata"]["uid"]
    before = requests(fast_resync)
    cluster.kubectl("delete", "service", "pipe-executor")

    def recreated() -> bool:
        body = cluster.get("service", "pipe-executor")
        return body is not None and body["metadata"]["uid"] != old

    cluster.wait(recreated, "the Service re-created")
    after = requests(fast_resync)
    assert count(after, READS) == count(before, READS), f"reads: {before} -> {after}"
    owner = cluster.must_get("executionpipeline", "pipe")["metadata"]["uid"]
    refs = cluster.must_get("service", "pipe-executor")["metadata"]["ownerReferences"]
    assert [r["uid"] for r in refs] == [owner]


def test_a_restarted_operator_writes_nothing_for_children_already_right(
    fast_resync: Operator, cluster: Cluster
) -> None:
    setup_pipeline(cluster)
    steady(cluster)
    deployment = cluster.must_get("deployment", "pipe-executor")["metadata"]
    fast_resync.restart()
    # Its first reconcile of every object, and a few resyncs after it.
    cluster.wait(lambda: reconciles(fast_resync) >= 3, "the pipeline reconciled 3 times")
    totals = requests(fast_resync)
    assert count(totals, WRITES) == 0, f"writes after the restart: {totals}"
    # The only reads a cold start may make: a Secret in use (webhook Secret, account keys), once,
    # when a reconcile needs it before the Secret watch has shown it.
    assert totals.get("get", 0) <= 2, f"reads after the restart: {totals}"
    assert totals.get("list", 0) == 0
    after = cluster.must_get("deployment", "pipe-executor")["metadata"]
    assert (after["generation"], after["uid"]) == (deployment["generation"], deployment["uid"])
