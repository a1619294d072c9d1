"""What a reconcile writes: every child normally; while held, the Deployment at 0 replicas and
neither HPA nor PDB."""

from __future__ import annotations

from typing import Any

from fks_operator.builders import build_children
from fks_operator.builders.plan import held_plan, hold_plan, run_plan
from fks_operator.settings import OperatorSettings
from tests.unit.operator.conftest import account, accounts_by_name, b64, pipeline

REDIS = {"backend": "redis", "redisSecretRef": {"name": "fks-redis", "key": "url"}}
SECRETS = {
    "btc-momentum-webhook": {"secret": b64("w")},
    "fks-redis": {"url": b64("redis://r")},
    "binance-testnet-keys": {"apiKey": b64("k"), "secret": b64("s")},
}
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
PDB = ("policy/v1", "PodDisruptionBudget")
MONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")
NETWORK_POLICY = ("networking.k8s.io/v1", "NetworkPolicy")
INGRESS = ("networking.k8s.io/v1", "Ingress")
ROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")


def kinds(manifests: tuple[dict[str, Any], ...]) -> list[str]:
    return [m["kind"] for m in manifests]


def autoscaled_children(settings: OperatorSettings) -> Any:
    spec = {"state": REDIS, "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 4}}
    return build_children(
        pipeline(**spec), accounts_by_name(account()), settings, SECRETS, service_monitor_api=True
    )


def test_run_plan_applies_every_child(settings: OperatorSettings) -> None:
    plan = run_plan(autoscaled_children(settings))
    assert kinds(plan.apply) == [
        "NetworkPolicy", "ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "ServiceMonitor",
    ]  # fmt: skip
    assert plan.delete == (INGRESS, ROUTE), "not exposed: no Ingress, no HTTPRoute"
    assert not plan.held
    assert "replicas" not in plan.apply[3]["spec"], "the HPA owns replicas"


def test_hold_plan_scales_to_zero_and_drops_hpa_and_pdb(settings: OperatorSettings) -> None:
    children = autoscaled_children(settings)
    plan = hold_plan(children)
    assert plan.held
    assert kinds(plan.apply) == [
        "NetworkPolicy", "ConfigMap", "Service", "Deployment", "ServiceMonitor"
    ]  # fmt: skip
    assert set(plan.delete) == {HPA, PDB, INGRESS, ROUTE}
    deployment = plan.apply[3]
    assert deployment["spec"]["replicas"] == 0
    assert deployment["spec"]["template"] == children.deployment["spec"]["template"]
    assert plan.inputs_hash == children.inputs_hash
    assert "replicas" not in children.deployment["spec"], "the rendered children were modified"


def test_held_plan_without_accounts_wires_no_credentials(settings: OperatorSettings) -> None:
    plan = held_plan(pipeline(), settings, SECRETS)
    assert plan.held
    assert plan.inputs_hash is None, "nothing rendered: the status keeps the previous hash"
    assert kinds(plan.apply) == ["Service", "Deployment"]
    assert set(plan.delete) == {HPA, PDB}
    for kind in (MONITOR, NETWORK_POLICY, INGRESS, ROUTE):
        assert kind not in plan.delete, f"{kind[1]} is left as it is"
    deployment = plan.apply[1]
    assert deployment["spec"]["replicas"] == 0
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["FKS_WEBHOOK_SECRET"]
    owner = deployment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("ExecutionPipeline", "btc-momentum")
