"""What a user checks on the rendered children, beyond the golden files."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from fks_operator.builders import (
    INPUTS_HASH_ANNOTATION,
    build_children,
    build_pipeline_status,
    effective_mode,
    executor_config,
    pipeline_conditions,
    referenced_secrets,
    webhook_url,
)
from fks_operator.conditions import PipelineReason
from fks_operator.errors import RenderError
from fks_operator.readiness import ExecutorsState, Problem
from fks_operator.settings import OperatorSettings
from tests.unit.operator.conftest import (
    PIPELINE_UID,
    account,
    accounts_by_name,
    b64,
    pipeline,
)
from tests.unit.operator.variants import REDIS, VARIANTS, Variant

SETTINGS = OperatorSettings(executor_image="registry.example/fks-executor:1.2.3")
PLAIN = {
    "webhook": "wh-7f3a9c-s3cret",
    "apiKey": "AK-41d2e8-s3cret",
    "secret": "SK-9b0c11-s3cret",
    "url": "redis://:pw-5e6f@redis:6379/0",
}
SECRETS = {
    "btc-momentum-webhook": {"secret": b64(PLAIN["webhook"])},
    "binance-testnet-keys": {
        "apiKey": b64(PLAIN["apiKey"]),
        "secret": b64(PLAIN["secret"]),
        "other": b64("x"),
    },
    "fks-redis": {"url": b64(PLAIN["url"])},
}


def children(p: Any = None, accounts: Any = None, secrets: Any = None, api: bool = True) -> Any:
    return build_children(
        p or pipeline(),
        accounts if accounts is not None else accounts_by_name(account()),
        SETTINGS,
        SECRETS if secrets is None else secrets,
        service_monitor_api=api,
    )


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return result


def test_names_labels_and_owner_references_on_every_child() -> None:
    rendered = children(pipeline(state=REDIS, replicas=2))
    kinds = [m["kind"] for m in rendered.manifests()]
    # The NetworkPolicy first: when the API server refuses it, nothing else has changed (no new
    # config waiting in the ConfigMap for the next pod restart).
    assert kinds == [
        "NetworkPolicy",
        "ConfigMap",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "ServiceMonitor",
    ]
    for manifest in rendered.manifests():
        meta = manifest["metadata"]
        expected = (
            "btc-momentum-executor-config"
            if manifest["kind"] == "ConfigMap"
            else "btc-momentum-executor"
        )
        assert meta["name"] == expected
        assert meta["namespace"] == "trading"
        assert meta["labels"] == {
            "app.kubernetes.io/name": "fks-executor",
            "app.kubernetes.io/instance": "btc-momentum",
            "app.kubernetes.io/managed-by": "fks-operator",
            "app.kubernetes.io/part-of": "fks",
        }
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "execution.fks.io/v1alpha1",
                "kind": "ExecutionPipeline",
                "name": "btc-momentum",
                "uid": PIPELINE_UID,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_restricted_pod_security() -> None:
    spec = pod_spec(children().deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 65532
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    [container] = spec["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for path in ("/var/lib/fks", "/tmp"):
        assert "emptyDir" in volumes[mounts[path]]
    assert volumes[mounts["/etc/fks"]]["configMap"]["name"] == "btc-momentum-executor-config"
    assert container["args"] == ["--config", "/etc/fks/config.yaml"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_image_and_resources_default_from_settings() -> None:
    [container] = pod_spec(children().deployment)["containers"]
    assert container["image"] == "registry.example/fks-executor:1.2.3"
    assert container["resources"] == {
        "limits": {"memory": "512Mi"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
    }
    [custom] = pod_spec(children(pipeline(image="x/y:1")).deployment)["containers"]
    assert custom["image"] == "x/y:1"


def test_autoscaling_leaves_replicas_to_the_hpa() -> None:
    p = pipeline(state=REDIS, replicas=5, autoscaling={"enabled": True, "minReplicas": 2})
    rendered = children(p)
    assert "replicas" not in rendered.deployment["spec"]
    assert rendered.hpa is not None
    assert rendered.hpa["spec"]["scaleTargetRef"]["name"] == "btc-momentum-executor"
    assert rendered.pdb is not None
    assert rendered.unwanted() == [
        ("networking.k8s.io/v1", "Ingress"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ]


def test_single_replica_has_no_hpa_or_pdb_and_says_so() -> None:
    rendered = children()
    assert rendered.deployment["spec"]["replicas"] == 1
    assert rendered.hpa is None
    assert rendered.pdb is None
    assert rendered.unwanted() == [
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("policy/v1", "PodDisruptionBudget"),
        ("networking.k8s.io/v1", "Ingress"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ]


def test_pdb_not_created_for_an_autoscaler_floor_of_one() -> None:
    p = pipeline(state=REDIS, autoscaling={"enabled": True, "minReplicas": 1})
    assert children(p).pdb is None


def test_strategy_follows_the_state_backend() -> None:
    assert children().deployment["spec"]["strategy"] == {"type": "Recreate"}
    redis = children(pipeline(state=REDIS)).deployment["spec"]["strategy"]
    assert redis["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_service_monitor_only_when_the_api_is_served() -> None:
    anywhere = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "Exists"}]}
    open_policy: dict[str, Any] = {"webhookFrom": [anywhere], "metricsFrom": [anywhere]}
    absent = children(pipeline(networkPolicy=open_policy), api=False)
    assert absent.service_monitor is None
    assert absent.notes == (
        "ServiceMonitor skipped: the cluster does not serve monitoring.coreos.com/v1.",
    )
    assert ("monitoring.coreos.com/v1", "ServiceMonitor") in absent.unwanted()
    disabled = children(
        pipeline(monitoring={"serviceMonitor": {"enabled": False}}, networkPolicy=open_policy)
    )
    assert disabled.service_monitor is None
    assert disabled.notes == ()


def test_pod_template_overrides_cannot_replace_operator_labels_or_annotations() -> None:
    p = pipeline(
        podTemplate={
            "labels": {"app.kubernetes.io/instance": "hijack", "team": "a"},
            "annotations": {INPUTS_HASH_ANNOTATION: "forged", "note": "n"},
        }
    )
    meta = children(p).deployment["spec"]["template"]["metadata"]
    assert meta["labels"]["app.kubernetes.io/instance"] == "btc-momentum"
    assert meta["labels"]["team"] == "a"
    assert meta["annotations"][INPUTS_HASH_ANNOTATION] != "forged"
    assert meta["annotations"]["note"] == "n"


def env_of(manifest: dict[str, Any]) -> dict[str, tuple[str, str]]:
    [container] = pod_spec(manifest)["containers"]
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container["env"]
    }


def test_secrets_by_reference() -> None:
    okx = account("okx-testnet", exchange="okx", credentialsSecretRef={"passwordKey": "pass"})
    p = pipeline(accounts=[{"name": "okx-testnet"}], state=REDIS)
    assert env_of(children(p, accounts_by_name(okx)).deployment) == {
        "FKS_WEBHOOK_SECRET": ("btc-momentum-webhook", "secret"),
        "FKS_REDIS_URL": ("fks-redis", "url"),
        "FKS_ACCOUNT_OKX_TESTNET_API_KEY": ("okx-testnet-keys", "apiKey"),
        "FKS_ACCOUNT_OKX_TESTNET_SECRET": ("okx-testnet-keys", "secret"),
        "FKS_ACCOUNT_OKX_TESTNET_PASSWORD": ("okx-testnet-keys", "pass"),
    }


def test_dry_run_pods_get_no_trading_keys() -> None:
    p = pipeline(dryRun=True)
    rendered = children(p)
    assert env_of(rendered.deployment) == {"FKS_WEBHOOK_SECRET": ("btc-momentum-webhook", "secret")}
    config = yaml.safe_load(rendered.config_map["data"]["config.yaml"])
    assert config["accounts"][0]["apiKeyEnv"] == ""
    assert config["accounts"][0]["secretEnv"] == ""
    assert referenced_secrets(p, accounts_by_name(account())) == ["btc-momentum-webhook"]


def test_no_secret_value_appears_in_any_manifest() -> None:
    rendered = children(pipeline(state=REDIS))
    dumped = json.dumps(rendered.manifests())
    assert "s3cret" not in dumped
    assert "pw-5e6f" not in dumped
    for value in PLAIN.values():
        assert b64(value) not in dumped


def pod_hash(rendered: Any) -> str:
    value: str = rendered.deployment["spec"]["template"]["metadata"]["annotations"][
        INPUTS_HASH_ANNOTATION
    ]
    assert value == rendered.inputs_hash
    return value


def test_inputs_hash_rolls_pods_exactly_when_an_input_changes() -> None:
    base = pod_hash(children())
    assert pod_hash(children()) == base
    rotated = {
        **SECRETS,
        "binance-testnet-keys": {**SECRETS["binance-testnet-keys"], "secret": b64("new")},
    }
    assert pod_hash(children(secrets=rotated)) != base
    webhook = {**SECRETS, "btc-momentum-webhook": {"secret": b64("new")}}
    assert pod_hash(children(secrets=webhook)) != base
    unrelated = {
        **SECRETS,
        "binance-testnet-keys": {**SECRETS["binance-testnet-keys"], "other": b64("y")},
    }
    assert pod_hash(children(secrets=unrelated)) == base
    unreferenced = {**SECRETS, "someone-else": {"k": b64("v")}}
    assert pod_hash(children(secrets=unreferenced)) == base
    assert pod_hash(children(pipeline(risk={"maxOrderSizeUSD": 5}))) != base
    # Pod-template-only changes roll through the template itself, not the hash.
    assert pod_hash(children(pipeline(image="x/y:2"))) == base


def test_env_var_collision_is_a_render_error() -> None:
    a, b = account("acct.one"), account("acct-one")
    p = pipeline(accounts=[{"name": "acct.one", "default": True}, {"name": "acct-one"}])
    with pytest.raises(RenderError, match=r"'acct\.one' and 'acct-one' map to the same"):
        children(p, accounts_by_name(a, b))


def test_missing_account_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="ExchangeAccount 'binance-testnet' not found"):
        children(accounts={})


def test_config_marks_exactly_one_default_account() -> None:
    single = executor_config(
        pipeline(accounts=[{"name": "binance-testnet"}]), accounts_by_name(account())
    )
    assert [a.default for a in single.accounts] == [True]


def test_a_config_the_executor_would_refuse_is_a_render_error_naming_the_key() -> None:
    """The config is validated by the executor's own model before it reaches a ConfigMap: a
    pipeline the API server would not store (a 300-character name) is not rendered."""
    long = pipeline(name="p" * 300, webhook={"secretRef": {"name": "w"}})
    with pytest.raises(RenderError) as caught:
        executor_config(long, accounts_by_name(account()))
    assert str(caught.value) == "executor config: pipeline: must have at most 253 characters"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_status_for_each_variant(variant: Variant) -> None:
    p, accounts = variant.parsed_pipeline(), variant.parsed_accounts()
    executors = ExecutorsState(
        True, PipelineReason.EXECUTORS_READY, "2/2 executor pods ready", 2, 2
    )
    now = datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)
    status = build_pipeline_status(
        p,
        accounts,
        conditions=pipeline_conditions(p, executors=executors),
        executors=executors,
        inputs_hash="abc",
        previous=None,
        now=now,
    )
    expected_mode = {
        "dry-run": "dry-run",
        "dry-run-no-credentials": "dry-run",
        "multi-account": "live",
        "suspended": "suspended",
    }.get(variant.name, "testnet")
    assert status["mode"] == expected_mode == effective_mode(p, accounts)
    assert (
        status["webhookURL"]
        == (f"http://{p.name}-executor.trading.svc:8000/webhook/tradingview")
        == webhook_url(p)
    )
    assert status["observedGeneration"] == 3
    assert (status["replicas"], status["readyReplicas"], status["configHash"]) == (2, 2, "abc")
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Reconciled", "True", "Applied"),
        ("Ready", "True", "ExecutorsReady"),
    ]
    assert all(c["observedGeneration"] == 3 for c in status["conditions"])


def test_status_keeps_the_deployed_hash_when_nothing_was_applied() -> None:
    p = pipeline()
    problems = [Problem(PipelineReason.ACCOUNT_MISSING, "ExchangeAccount 'x' not found")]
    status = build_pipeline_status(
        p,
        {},
        conditions=pipeline_conditions(p, problems=problems),
        executors=None,
        inputs_hash=None,
        previous={"configHash": "deployed"},
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert status["configHash"] == "deployed"
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Reconciled", "False", "AccountMissing"),
        ("Ready", "False", "AccountMissing"),
    ]
    assert status["conditions"][1]["message"] == "ExchangeAccount 'x' not found"


def test_conditions_for_problems_apply_errors_and_rollouts() -> None:
    p = pipeline()
    problems = [
        Problem(PipelineReason.ACCOUNT_MISSING, "ExchangeAccount 'a' not found"),
        Problem(PipelineReason.SECRET_MISSING, "webhook Secret 'w' not found"),
    ]
    reconciled, ready = pipeline_conditions(p, problems=problems)
    assert reconciled.reason == ready.reason == PipelineReason.ACCOUNT_MISSING
    assert ready.message == "ExchangeAccount 'a' not found; webhook Secret 'w' not found"
    reconciled, ready = pipeline_conditions(p, apply_error="Deployment: forbidden")
    assert (reconciled.status, reconciled.reason) == ("False", PipelineReason.APPLY_FAILED)
    assert ready.status == "False"
    rolling = ExecutorsState(False, PipelineReason.ROLLOUT_IN_PROGRESS, "1 of 2 updated")
    reconciled, ready = pipeline_conditions(p, executors=rolling, notes=["ServiceMonitor skipped."])
    assert reconciled.is_true
    assert "ServiceMonitor skipped." in reconciled.message
    assert (ready.status, ready.reason) == ("False", PipelineReason.ROLLOUT_IN_PROGRESS)


def test_secret_data_is_base64_as_read_from_the_api() -> None:
    # The hash covers the API's base64 text; equal plaintext always gives equal base64.
    assert base64.b64decode(SECRETS["btc-momentum-webhook"]["secret"]).decode() == PLAIN["webhook"]
