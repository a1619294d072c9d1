"""Drift is corrected: hand-deleted or hand-edited children come back; optional children the spec
no longer wants are deleted; deleting the pipeline garbage-collects everything."""

from __future__ import annotations

from tests.integration.operator.conftest import Cluster, secret, setup_pipeline


def uid(cluster: Cluster, kind: str, name: str) -> str | None:
    body = cluster.get(kind, name)
    return None if body is None else str(body["metadata"]["uid"])


def test_deleted_children_come_back(cluster: Cluster) -> None:
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    children = (
        ("configmap", "pipe-executor-config"),
        ("service", "pipe-executor"),
        ("deployment", "pipe-executor"),
    )
    before = {kind: uid(cluster, kind, name) for kind, name in children}
    for kind, name in children:
        cluster.kubectl("delete", kind, name, "--wait=false")
    for kind, name in children:
        cluster.wait(
            lambda k=kind, n=name: uid(cluster, k, n) not in (None, before[k]),  # type: ignore[misc]
            f"{kind} {name} re-created",
        )
    cluster.wait_ready("pipe")
    owner = cluster.must_get("executionpipeline", "pipe")["metadata"]["uid"]
    for kind, name in children:
        refs = cluster.must_get(kind, name)["metadata"]["ownerReferences"]
        assert [r["uid"] for r in refs] == [owner]


def test_edited_children_are_restored(cluster: Cluster) -> None:
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    config = cluster.must_get("configmap", "pipe-executor-config")["data"]["config.yaml"]
    image = cluster.must_get("deployment", "pipe-executor")["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]

    cluster.kubectl(
        "patch",
        "configmap",
        "pipe-executor-config",
        "--type=merge",
        "-p",
        '{"data": {"config.yaml": "pipeline: hijacked"}}',
    )
    cluster.kubectl(
        "patch",
        "deployment",
        "pipe-executor",
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", '
        '"value": "attacker/image:1"}]',
    )
    cluster.kubectl("scale", "deployment", "pipe-executor", "--replicas=4")
    cluster.kubectl("label", "service", "pipe-executor", "app.kubernetes.io/part-of-")
    cluster.kubectl(
        "patch",
        "service",
        "pipe-executor",
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/ports/0/port", "value": 9999}]',
    )

    cluster.wait(
        lambda: (
            cluster.must_get("configmap", "pipe-executor-config")["data"]["config.yaml"] == config
        ),
        "the ConfigMap restored",
    )

    def deployment_restored() -> bool:
        spec = cluster.must_get("deployment", "pipe-executor")["spec"]
        return spec["replicas"] == 1 and spec["template"]["spec"]["containers"][0]["image"] == image

    cluster.wait(deployment_restored, "the Deployment's image and replicas restored")

    def service_restored() -> bool:
        service = cluster.must_get("service", "pipe-executor")
        return (
            service["metadata"]["labels"].get("app.kubernetes.io/part-of") == "fks"
            and service["spec"]["ports"][0]["port"] == 8000
        )

    cluster.wait(service_restored, "the Service's label and port restored")
    cluster.wait_ready("pipe")


def test_edits_apply_cannot_undo_get_the_child_re_created(cluster: Cluster) -> None:
    """A container port renumbered in the Deployment (apply would add the operator's port next
    to it, both named http) and a ConfigMap made immutable and edited (apply may not change its
    data back): the API server refuses the apply, so the operator deletes the child and creates
    it again from its own manifest (the Service case is in test_edited_children_are_restored)."""
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    config = cluster.must_get("configmap", "pipe-executor-config")["data"]
    before = {kind: uid(cluster, kind, name) for kind, name in (
        ("configmap", "pipe-executor-config"), ("deployment", "pipe-executor"))}  # fmt: skip
    cluster.kubectl(
        "patch", "deployment", "pipe-executor", "--type=json", "-p",
        '[{"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/containerPort", '
        '"value": 8001}]',
    )  # fmt: skip
    cluster.kubectl(
        "patch", "configmap", "pipe-executor-config", "--type=json", "-p",
        '[{"op": "add", "path": "/immutable", "value": true}, '
        '{"op": "replace", "path": "/data/config.yaml", "value": "pipeline: hijacked"}]',
    )  # fmt: skip

    def deployment_recreated() -> bool:
        body = cluster.get("deployment", "pipe-executor")
        if body is None or body["metadata"]["uid"] == before["deployment"]:
            return False
        ports = body["spec"]["template"]["spec"]["containers"][0]["ports"]
        return [p["containerPort"] for p in ports] == [8000]

    def config_recreated() -> bool:
        body = cluster.get("configmap", "pipe-executor-config")
        return (
            body is not None
            and body["metadata"]["uid"] != before["configmap"]
            and body["data"] == config
            and not body.get("immutable")
        )

    cluster.wait(deployment_recreated, "the Deployment re-created with port 8000")
    cluster.wait(config_recreated, "the ConfigMap re-created, mutable, with the operator's config")
    log = cluster.operator.log()
    for kind, name in (("Deployment", "pipe-executor"), ("ConfigMap", "pipe-executor-config")):
        assert f"{kind} {cluster.ns}/{name} was changed in a way apply cannot undo" in log
    cluster.wait_ready("pipe")


def test_optional_children_follow_the_spec(cluster: Cluster) -> None:
    cluster.apply(secret("redis", url="redis://redis:6379/0"))
    setup_pipeline(
        cluster, state={"backend": "redis", "redisSecretRef": {"name": "redis"}}, replicas=3
    )
    cluster.wait_ready("pipe", timeout=60)
    assert cluster.get("poddisruptionbudget", "pipe-executor") is not None
    assert cluster.get("horizontalpodautoscaler", "pipe-executor") is None

    cluster.kubectl(
        "patch",
        "executionpipeline",
        "pipe",
        "--type=merge",
        "-p",
        '{"spec": {"autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 5}}}',
    )
    cluster.wait(
        lambda: cluster.get("horizontalpodautoscaler", "pipe-executor") is not None,
        "the HPA created",
    )
    hpa = cluster.must_get("horizontalpodautoscaler", "pipe-executor")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)

    # With autoscaling the operator does not own spec.replicas (the HPA does).
    def replicas_released() -> bool:
        deployment = cluster.must_get("deployment", "pipe-executor", managed_fields=True)
        for entry in deployment["metadata"]["managedFields"]:
            if entry["manager"] == "fks-operator" and entry["operation"] == "Apply":
                return "f:replicas" not in entry["fieldsV1"].get("f:spec", {})
        return False

    cluster.wait(replicas_released, "the operator to stop owning Deployment spec.replicas")

    cluster.kubectl(
        "patch",
        "executionpipeline",
        "pipe",
        "--type=merge",
        "-p",
        '{"spec": {"autoscaling": {"enabled": false}, "replicas": 1}}',
    )
    cluster.wait(
        lambda: (
            cluster.get("horizontalpodautoscaler", "pipe-executor") is None
            and cluster.get("poddisruptionbudget", "pipe-executor") is None
        ),
        "the HPA and the PDB deleted",
    )
    cluster.wait(
        lambda: cluster.must_get("deployment", "pipe-executor")["spec"]["replicas"] == 1,
        "replicas back to 1",
    )
    cluster.wait_ready("pipe")


def test_deleting_the_pipeline_garbage_collects_everything(cluster: Cluster) -> None:
    cluster.apply(secret("redis", url="redis://redis:6379/0"))
    setup_pipeline(
        cluster, state={"backend": "redis", "redisSecretRef": {"name": "redis"}}, replicas=2
    )
    cluster.wait_ready("pipe", timeout=60)
    cluster.kubectl("delete", "executionpipeline", "pipe", "--timeout=20s")  # no finalizer blocks

    kinds = "deployments,replicasets,pods,configmaps,services,pdb,hpa"

    def everything_gone() -> bool:
        out = cluster.kubectl("get", kinds, "-o", "name", "-l", "app.kubernetes.io/instance=pipe")
        return out.strip() == ""

    cluster.wait(everything_gone, "garbage collection of every child", timeout=60)
    # The inputs the user owns are untouched.
    assert cluster.get("secret", "pipe-webhook") is not None
    assert cluster.get("exchangeaccount", "acct") is not None
