"""Status of an ExecutionPipeline and an ExchangeAccount, from verdicts already reached.

``previous`` is the object's current ``status``; conditions keep their ``lastTransitionTime``
unless their status flips, so a status built twice from the same facts is equal and the caller
writes only when it differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fks_operator.accounts import AccountReadiness
from fks_operator.builders.exposure import exposure_advice
from fks_operator.builders.service import webhook_url
from fks_operator.conditions import Condition, ConditionType, PipelineReason, merge_conditions
from fks_operator.readiness import ExecutorsState, Problem
from fks_operator.specs import ExchangeAccount, ExecutionPipeline


def effective_mode(pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]) -> str:
    """``suspended`` (kill switch), ``dry-run``, ``live`` (any account is live) or ``testnet``."""
    if pipeline.spec.suspend:
        return "suspended"
    if pipeline.spec.dry_run:
        return "dry-run"
    for name in pipeline.spec.account_names:
        account = accounts.get(name)
        if account is not None and account.spec.environment == "live":
            return "live"
    return "testnet"


def pipeline_conditions(
    pipeline: ExecutionPipeline,
    *,
    problems: Sequence[Problem] = (),
    executors: ExecutorsState | None = None,
    apply_error: str | None = None,
    notes: Sequence[str] = (),
) -> list[Condition]:
    """The ``Reconciled`` and ``Ready`` conditions.

    Problems (missing accounts, Secrets...) make both False with the first problem's reason and
    every problem in the message; an apply error makes both False (ApplyFailed); otherwise
    Reconciled is True and Ready follows the executors, its message followed by what would keep
    alerts from the internet from getting through (:func:`exposure_advice`).
    """
    generation = pipeline.metadata.generation
    if problems:
        reason = problems[0].reason
        message = "; ".join(problem.message for problem in problems)
        return [
            Condition.false(ConditionType.RECONCILED, reason, message, generation),
            Condition.false(ConditionType.READY, reason, message, generation),
        ]
    if apply_error is not None:
        return [
            Condition.false(
                ConditionType.RECONCILED, PipelineReason.APPLY_FAILED, apply_error, generation
            ),
            Condition.false(
                ConditionType.READY,
                PipelineReason.APPLY_FAILED,
                f"children not applied: {apply_error}",
                generation,
            ),
        ]
    message = " ".join(["children applied.", *notes]).strip()
    reconciled = Condition.true(
        ConditionType.RECONCILED, PipelineReason.APPLIED, message, generation
    )
    state = executors or ExecutorsState(
        False, PipelineReason.EXECUTORS_NOT_READY, "Deployment not found"
    )
    make = Condition.true if state.ready else Condition.false
    message = "; ".join([state.message, *exposure_advice(pipeline)])
    ready = make(ConditionType.READY, state.reason, message, generation)
    return [reconciled, ready]


def build_pipeline_status(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    *,
    conditions: Sequence[Condition],
    executors: ExecutorsState | None,
    inputs_hash: str | None,
    previous: Mapping[str, Any] | None,
    now: datetime,
    public_url: str | None = None,
) -> dict[str, Any]:
    """The whole ``status`` of a pipeline.

    ``inputs_hash`` None (nothing applied this time) keeps the previous ``configHash``: it
    describes what the pods run. ``public_url``: see ``exposure.public_url``; absent when None.
    """
    previous = previous or {}
    status: dict[str, Any] = {
        "observedGeneration": pipeline.metadata.generation,
        "mode": effective_mode(pipeline, accounts),
        "replicas": executors.replicas if executors else 0,
        "readyReplicas": executors.ready_replicas if executors else 0,
        "webhookURL": webhook_url(pipeline),
    }
    if public_url is not None:
        status["publicURL"] = public_url
    config_hash = inputs_hash if inputs_hash is not None else previous.get("configHash")
    if config_hash:
        status["configHash"] = config_hash
    status["conditions"] = merge_conditions(previous.get("conditions"), conditions, now)
    return status


def build_account_status(
    generation: int,
    readiness: AccountReadiness,
    *,
    previous: Mapping[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The whole ``status`` of an ExchangeAccount: observedGeneration and ``Ready``."""
    previous = previous or {}
    return {
        "observedGeneration": generation,
        "conditions": merge_conditions(
            previous.get("conditions"), [readiness.condition(generation)], now
        ),
    }
