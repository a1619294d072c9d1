"""Pipeline prerequisites (accounts, Secrets) and the executors' rollout verdict."""

from __future__ import annotations

from typing import Any

from fks_operator.accounts import AccountReadiness, evaluate_account
from fks_operator.conditions import AccountReason, PipelineReason
from fks_operator.readiness import executors_state, pipeline_problems
from tests.unit.operator.conftest import CATALOG, account, accounts_by_name, b64, pipeline

WEBHOOK = {"btc-momentum-webhook": {"secret": b64("w" * 32)}}
KEYS = {"apiKey": b64("k"), "secret": b64("s")}


def ready_verdicts(*names: str) -> dict[str, AccountReadiness]:
    return {name: evaluate_account(account(name).spec, KEYS, CATALOG) for name in names}


def test_all_good_means_no_problems() -> None:
    accounts = accounts_by_name(account())
    assert pipeline_problems(pipeline(), accounts, ready_verdicts("binance-testnet"), WEBHOOK) == []


def test_missing_account_is_named() -> None:
    [problem] = pipeline_problems(pipeline(), {}, {}, WEBHOOK)
    assert problem.reason == PipelineReason.ACCOUNT_MISSING
    assert problem.message == "ExchangeAccount 'binance-testnet' not found in namespace 'trading'"


def test_unready_account_is_named_with_its_reason() -> None:
    verdicts = {"binance-testnet": evaluate_account(account().spec, None, CATALOG)}
    [problem] = pipeline_problems(pipeline(), accounts_by_name(account()), verdicts, WEBHOOK)
    assert problem.reason == PipelineReason.ACCOUNT_NOT_READY
    assert "'binance-testnet'" in problem.message
    assert "SecretMissing" in problem.message


def test_account_that_does_not_parse_counts_as_not_ready() -> None:
    verdicts = {"binance-testnet": AccountReadiness(False, AccountReason.INVALID_SPEC, "bad")}
    [problem] = pipeline_problems(pipeline(), {}, verdicts, WEBHOOK)
    assert problem.reason == PipelineReason.ACCOUNT_NOT_READY


def test_account_without_credentials_serves_only_dry_run() -> None:
    bare = account(credentialsSecretRef=None)
    verdicts = {"binance-testnet": evaluate_account(bare.spec, None, CATALOG)}
    [problem] = pipeline_problems(pipeline(), accounts_by_name(bare), verdicts, WEBHOOK)
    assert problem.reason == PipelineReason.ACCOUNT_NOT_READY
    assert "dryRun: true" in problem.message
    dry = pipeline(dryRun=True)
    assert pipeline_problems(dry, accounts_by_name(bare), verdicts, WEBHOOK) == []


def test_webhook_and_redis_secrets() -> None:
    redis = {"backend": "redis", "redisSecretRef": {"name": "fks-redis"}}
    p = pipeline(state=redis)
    accounts = accounts_by_name(account())
    verdicts = ready_verdicts("binance-testnet")
    problems = pipeline_problems(p, accounts, verdicts, {})
    assert [(x.reason, x.message) for x in problems] == [
        (PipelineReason.SECRET_MISSING, "webhook Secret 'btc-momentum-webhook' not found"),
        (PipelineReason.SECRET_MISSING, "Redis Secret 'fks-redis' not found"),
    ]
    problems = pipeline_problems(
        p, accounts, verdicts, {"btc-momentum-webhook": {"other": b64("x")}, "fks-redis": {}}
    )
    assert [x.reason for x in problems] == [PipelineReason.KEY_MISSING] * 2
    assert "'secret'" in problems[0].message
    assert "'url'" in problems[1].message


def test_every_problem_is_reported_in_spec_order() -> None:
    p = pipeline(accounts=[{"name": "a"}, {"name": "b", "default": True}])
    problems = pipeline_problems(p, {}, {}, {})
    assert [x.message.split("'")[1] for x in problems] == ["a", "b", "btc-momentum-webhook"]


def deployment(
    *, desired: int = 2, generation: int = 5, observed: int = 5, **status: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": "btc-momentum-executor", "generation": generation},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": observed, **status},
    }


def test_executors_ready() -> None:
    state = executors_state(
        deployment(replicas=2, updatedReplicas=2, readyReplicas=2, availableReplicas=2)
    )
    assert (state.ready, state.reason, state.message) == (
        True,
        PipelineReason.EXECUTORS_READY,
        "2/2 executor pods ready",
    )
    assert (state.replicas, state.ready_replicas) == (2, 2)


def test_executors_rollout_states() -> None:
    cases = [
        (None, PipelineReason.EXECUTORS_NOT_READY),
        (deployment(observed=4), PipelineReason.ROLLOUT_IN_PROGRESS),
        (deployment(replicas=2, updatedReplicas=1), PipelineReason.ROLLOUT_IN_PROGRESS),
        (deployment(replicas=3, updatedReplicas=2), PipelineReason.ROLLOUT_IN_PROGRESS),
        (
            deployment(replicas=2, updatedReplicas=2, readyReplicas=1, availableReplicas=1),
            PipelineReason.EXECUTORS_NOT_READY,
        ),
        (deployment(desired=0), PipelineReason.SCALED_TO_ZERO),
        (
            deployment(
                conditions=[
                    {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "x"}
                ]
            ),
            PipelineReason.ROLLOUT_FAILED,
        ),
    ]
    for obj, reason in cases:
        state = executors_state(obj)
        assert not state.ready
        assert state.reason == reason, (obj, state)
