"""The Argo CD health checks (deploy/argocd/health/*.lua), run in Lua 5.1 as Argo CD runs them.

Two sources of objects: hand-written fixtures (fixtures/*.yaml, shaped like `kubectl get -o
yaml`), and statuses built by the operator's own pure status builders for every condition
reason it has, so a reason added to ``fks_operator.conditions`` without a decision here fails.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from fks_operator.accounts import AccountReadiness, StaticCatalog, evaluate_account
from fks_operator.builders.status import (
    build_account_status,
    build_pipeline_status,
    pipeline_conditions,
)
from fks_operator.conditions import AccountReason, PipelineReason
from fks_operator.readiness import Problem, executors_state
from fks_operator.specs import parse_account, parse_pipeline
from tests.unit.argocd.lua import ARGO_STATUSES, KINDS, health, script_path

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
CATALOG = StaticCatalog(
    exchanges=frozenset({"binance", "kraken"}), sandboxes=frozenset({"binance"})
)


def _cases(name: str) -> list[Any]:
    cases = yaml.safe_load((FIXTURES / name).read_text())
    return [pytest.param(case, id=case["name"]) for case in cases]


def _reasons(holder: type) -> set[str]:
    return {value for key, value in vars(holder).items() if key.isupper()}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("pipelines.yaml"))
def test_pipeline_fixture(case: dict[str, Any]) -> None:
    result = health("ExecutionPipeline", case["object"])
    assert result["status"] == case["expect"]["status"], result
    assert case["expect"]["message"] in result["message"], result


@pytest.mark.parametrize("case", _cases("accounts.yaml"))
def test_account_fixture(case: dict[str, Any]) -> None:
    result = health("ExchangeAccount", case["object"])
    assert result["status"] == case["expect"]["status"], result
    assert case["expect"]["message"] in result["message"], result


# --- every reason the operator can write ------------------------------------------------------

#: The decision for every pipeline reason. ``Applied`` only appears on Reconciled=True, where
#: Ready decides. Why each one is what it is: docs/argocd.md.
PIPELINE_HEALTH = {
    PipelineReason.APPLIED: None,
    PipelineReason.INVALID_SPEC: "Degraded",
    PipelineReason.ACCOUNT_MISSING: "Degraded",
    PipelineReason.ACCOUNT_NOT_READY: "Degraded",
    PipelineReason.SECRET_MISSING: "Degraded",
    PipelineReason.KEY_MISSING: "Degraded",
    PipelineReason.WEBHOOK_SECRET_WEAK: "Degraded",
    PipelineReason.RENDER_FAILED: "Degraded",
    PipelineReason.APPLY_FAILED: "Degraded",
    PipelineReason.EXECUTORS_READY: "Healthy",
    PipelineReason.ROLLOUT_IN_PROGRESS: "Progressing",
    PipelineReason.EXECUTORS_NOT_READY: "Progressing",
    PipelineReason.ROLLOUT_FAILED: "Degraded",
    PipelineReason.SCALED_TO_ZERO: "Suspended",
}

ACCOUNT_HEALTH = {
    AccountReason.CREDENTIALS_FOUND: "Healthy",
    AccountReason.NO_CREDENTIALS: "Healthy",
    AccountReason.SECRET_MISSING: "Degraded",
    AccountReason.KEY_MISSING: "Degraded",
    AccountReason.EXCHANGE_UNSUPPORTED: "Degraded",
    AccountReason.SANDBOX_UNSUPPORTED: "Degraded",
    AccountReason.LIVE_NOT_ACKNOWLEDGED: "Degraded",
    AccountReason.INVALID_SPEC: "Degraded",
}


def test_every_pipeline_reason_has_a_decision() -> None:
    assert set(PIPELINE_HEALTH) == _reasons(PipelineReason)


def test_every_account_reason_has_a_decision() -> None:
    assert set(ACCOUNT_HEALTH) == _reasons(AccountReason)


@pytest.mark.parametrize(
    ("kind", "holder", "decisions"),
    [
        ("ExecutionPipeline", PipelineReason, PIPELINE_HEALTH),
        ("ExchangeAccount", AccountReason, ACCOUNT_HEALTH),
    ],
)
def test_terminal_tables_name_real_reasons(
    kind: str, holder: type, decisions: dict[str, str | None]
) -> None:
    """The Lua's ``terminal`` set is exactly the reasons decided Degraded, spelled as in code."""
    text = script_path(kind).read_text()
    block = re.search(r"local terminal = \{(.*?)\n\}", text, re.S)
    assert block is not None
    listed = set(re.findall(r"^\s*(\w+) = true,", block.group(1), re.M))
    assert listed <= _reasons(holder)
    assert listed == {reason for reason, verdict in decisions.items() if verdict == "Degraded"}


def _pipeline(generation: int = 3, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "execution.fks.io/v1alpha1",
        "kind": "ExecutionPipeline",
        "metadata": {"name": "btc-momentum", "namespace": "trading", "generation": generation},
        "spec": {
            "accounts": [{"name": "binance-testnet", "default": True}],
            "dryRun": True,
            "webhook": {"secretRef": {"name": "btc-momentum-webhook", "key": "secret"}},
            **spec,
        },
    }


def _deployment(desired: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "btc-momentum-executor", "generation": 2},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": 2, **status},
    }


_EXECUTOR_DEPLOYMENTS = {
    PipelineReason.EXECUTORS_READY: _deployment(
        2, replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2
    ),
    PipelineReason.ROLLOUT_IN_PROGRESS: _deployment(
        2, replicas=3, updatedReplicas=1, readyReplicas=2, availableReplicas=2
    ),
    PipelineReason.EXECUTORS_NOT_READY: _deployment(
        2, replicas=2, updatedReplicas=2, readyReplicas=1, availableReplicas=1
    ),
    PipelineReason.ROLLOUT_FAILED: _deployment(
        2,
        replicas=2,
        updatedReplicas=1,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "x" has timed out progressing.',
            }
        ],
    ),
    PipelineReason.SCALED_TO_ZERO: _deployment(0),
}


def _built_pipeline(reason: str, *, suspend: bool = False) -> dict[str, Any]:
    """A pipeline whose status the operator's builders computed for ``reason``."""
    obj = _pipeline(suspend=suspend)
    pipeline = parse_pipeline(obj)
    executors = None
    if reason in _EXECUTOR_DEPLOYMENTS:
        executors = executors_state(_EXECUTOR_DEPLOYMENTS[reason])
        assert executors.reason == reason
        conditions = pipeline_conditions(pipeline, executors=executors)
    elif reason == PipelineReason.APPLY_FAILED:
        conditions = pipeline_conditions(pipeline, apply_error="Deployment: 403 exceeded quota")
    else:
        problem = Problem(reason, f"{reason}: what the operator says")
        conditions = pipeline_conditions(pipeline, problems=[problem])
    obj["status"] = build_pipeline_status(
        pipeline,
        {},
        conditions=conditions,
        executors=executors,
        inputs_hash="abc",
        previous=None,
        now=NOW,
    )
    return obj


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(reason, verdict) for reason, verdict in PIPELINE_HEALTH.items() if verdict is not None],
)
def test_pipeline_status_built_by_the_operator(reason: str, expected: str) -> None:
    obj = _built_pipeline(reason)
    result = health("ExecutionPipeline", obj)
    assert result["status"] == expected, result
    assert reason in result["message"]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (PipelineReason.EXECUTORS_READY, "Suspended"),  # kill switch in force in every pod
        (PipelineReason.ROLLOUT_IN_PROGRESS, "Progressing"),  # not in force everywhere yet
        (PipelineReason.SECRET_MISSING, "Degraded"),  # a problem outranks the kill switch
        (PipelineReason.ROLLOUT_FAILED, "Degraded"),
    ],
)
def test_suspended_pipeline(reason: str, expected: str) -> None:
    obj = _built_pipeline(reason, suspend=True)
    assert obj["status"]["mode"] == "suspended"
    assert health("ExecutionPipeline", obj)["status"] == expected


def test_pipeline_applied_becomes_progressing_when_the_spec_moves_on() -> None:
    """Healthy for generation 3; the user edits the spec (generation 4): Progressing at once."""
    obj = _built_pipeline(PipelineReason.EXECUTORS_READY)
    assert health("ExecutionPipeline", obj)["status"] == "Healthy"
    obj["metadata"]["generation"] = 4
    assert health("ExecutionPipeline", obj)["status"] == "Progressing"


def _account(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "execution.fks.io/v1alpha1",
        "kind": "ExchangeAccount",
        "metadata": {"name": "acct", "namespace": "trading", "generation": 2},
        "spec": {"exchange": "binance", "environment": "testnet", **spec},
    }


_KEYS = {"name": "acct-keys"}
_ACCOUNT_INPUTS: dict[str, tuple[dict[str, Any], dict[str, str] | None]] = {
    AccountReason.CREDENTIALS_FOUND: (
        {"credentialsSecretRef": _KEYS},
        {"apiKey": "a", "secret": "b"},
    ),
    AccountReason.NO_CREDENTIALS: ({}, None),
    AccountReason.SECRET_MISSING: ({"credentialsSecretRef": _KEYS}, None),
    AccountReason.KEY_MISSING: ({"credentialsSecretRef": _KEYS}, {"apiKey": "a"}),
    AccountReason.EXCHANGE_UNSUPPORTED: ({"exchange": "nosuchexchange"}, None),
    AccountReason.SANDBOX_UNSUPPORTED: ({"exchange": "kraken"}, None),
}


@pytest.mark.parametrize(("reason", "expected"), list(ACCOUNT_HEALTH.items()))
def test_account_status_built_by_the_operator(reason: str, expected: str) -> None:
    if reason == AccountReason.INVALID_SPEC:
        obj = _account()
        verdict = AccountReadiness(False, reason, "spec.marketType: unknown value")
    elif reason == AccountReason.LIVE_NOT_ACKNOWLEDGED:
        # The parser refuses this spec (as the CRD's CEL rule does); an object stored before
        # the rule still reaches the readiness check, so build the spec past validation.
        obj = _account()
        spec = parse_account(obj).spec.model_copy(update={"environment": "live"})
        verdict = evaluate_account(spec, None, CATALOG)
    else:
        spec, secret = _ACCOUNT_INPUTS[reason]
        obj = _account(**spec)
        verdict = evaluate_account(parse_account(obj).spec, secret, CATALOG)
    assert verdict.reason == reason
    obj["status"] = build_account_status(2, verdict, previous=None, now=NOW)
    result = health("ExchangeAccount", obj)
    assert result["status"] == expected, result
    assert reason in result["message"]


# --- the scripts themselves ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "obj",
    [
        {"metadata": {}},
        {"metadata": {"generation": 1}, "status": {}},
        {"metadata": {"generation": 1}, "status": {"conditions": []}},
        {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": [{}]}},
        {"metadata": {"generation": 1}, "status": {"observedGeneration": "1"}},
    ],
    ids=["no-generation", "empty-status", "no-conditions", "empty-condition", "string-gen"],
)
def test_odd_objects_never_raise(kind: str, obj: dict[str, Any]) -> None:
    """A script error shows the resource as Unknown with a Lua stack in Argo CD's UI."""
    assert health(kind, obj)["status"] in ARGO_STATUSES


@pytest.mark.parametrize("kind", KINDS)
def test_scripts_use_only_the_sandboxed_library(kind: str) -> None:
    """Argo CD's Lua VM has no os/io/require (without useOpenLibs): the check must not need them."""
    text = script_path(kind).read_text()
    assert not re.search(r"\b(os|io|require|dofile|loadfile|debug)\b\s*[.(]", text)
