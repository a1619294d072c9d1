"""Pods roll exactly when an input changes: once per Secret rotation, never for an unrelated key,
never because the operator restarted."""

from __future__ import annotations

import json
import time

from tests.integration.operator.conftest import Cluster, Operator, secret, setup_pipeline

HASH = "execution.fks.io/inputs-hash"


def replicasets(cluster: Cluster) -> list[str]:
    out = cluster.kubectl(
        "get", "replicasets", "-o", "name", "-l", "app.kubernetes.io/instance=pipe"
    )
    return sorted(out.split())


def template_hash(cluster: Cluster) -> str:
    deployment = cluster.must_get("deployment", "pipe-executor")
    return str(deployment["spec"]["template"]["metadata"]["annotations"][HASH])


def generation(cluster: Cluster) -> int:
    return int(cluster.must_get("deployment", "pipe-executor")["metadata"]["generation"])


def test_rotating_a_secret_rolls_the_pods_once(cluster: Cluster) -> None:
    setup_pipeline(cluster, dryRun=False)
    cluster.wait_ready("pipe")
    hash_before, gen_before, rs_before = (
        template_hash(cluster),
        generation(cluster),
        replicasets(cluster),
    )

    cluster.apply(secret("acct-keys", apiKey="k-2", secret="s-2"))  # rotate the account's keys
    cluster.wait(
        lambda: template_hash(cluster) != hash_before, "a new inputs hash in the pod template"
    )
    cluster.wait_ready("pipe")
    time.sleep(2.0)  # any second roll would show up by now
    assert generation(cluster) == gen_before + 1
    rs_after = replicasets(cluster)
    assert len(rs_after) == len(rs_before) + 1, (rs_before, rs_after)
    assert cluster.pipeline_status("pipe")["configHash"] == template_hash(cluster)
    pods = json.loads(
        cluster.kubectl("get", "pods", "-o", "json", "-l", "app.kubernetes.io/instance=pipe")
    )["items"]
    assert [p["metadata"]["annotations"][HASH] for p in pods] == [template_hash(cluster)]

    # A key nobody references, and metadata: nothing rolls.
    hash_rotated, gen_rotated = template_hash(cluster), generation(cluster)
    cluster.apply(secret("acct-keys", apiKey="k-2", secret="s-2", unrelated="x"))
    cluster.kubectl("annotate", "secret", "pipe-webhook", "team=trading")
    time.sleep(2.0)
    assert (template_hash(cluster), generation(cluster)) == (hash_rotated, gen_rotated)


def test_dry_run_pipelines_do_not_roll_for_account_keys(cluster: Cluster) -> None:
    setup_pipeline(cluster, dryRun=True)
    cluster.wait_ready("pipe")
    gen_before = generation(cluster)
    cluster.apply(secret("acct-keys", apiKey="k-9", secret="s-9"))
    time.sleep(2.0)
    assert generation(cluster) == gen_before, "a dry-run executor got (and rolled for) trading keys"


def test_operator_restart_causes_no_rollout_and_no_writes(cluster: Cluster, op: Operator) -> None:
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    time.sleep(1.0)
    kinds = (
        ("deployment", "pipe-executor"),
        ("configmap", "pipe-executor-config"),
        ("service", "pipe-executor"),
        ("executionpipeline", "pipe"),
        ("exchangeaccount", "acct"),
    )
    versions = {k: cluster.must_get(*k)["metadata"]["resourceVersion"] for k in kinds}
    gen_before, rs_before = generation(cluster), replicasets(cluster)

    op.restart()
    # The fresh process reconciles every object once, from its watch caches: the children carry
    # the digest of the manifest they were applied with, so none is applied again.
    cluster.wait(op.caught_up, "the restarted operator to reconcile everything", timeout=60)
    time.sleep(1.5)
    assert generation(cluster) == gen_before
    assert replicasets(cluster) == rs_before
    after = {k: cluster.must_get(*k)["metadata"]["resourceVersion"] for k in kinds}
    assert after == versions, "the restart wrote something (a spurious rollout or status churn)"
