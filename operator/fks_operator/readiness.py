"""Pure verdicts for a pipeline: may it run (prerequisites), and do its executors run (rollout)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fks_operator.accounts import AccountReadiness, SecretData, missing_keys
from fks_operator.conditions import PipelineReason
from fks_operator.specs import ExchangeAccount, ExecutionPipeline, SecretKeySelector


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that keeps a pipeline from running: a reason constant and a message naming
    the object at fault."""

    reason: str
    message: str


#: The shortest webhook secret executors may run with (``openssl rand -hex 32`` gives 64).
MIN_WEBHOOK_SECRET_BYTES = 32
#: Webhook secrets printed in examples/ and docs/: public, so never a secret. A unit test
#: (tests/unit/operator/test_webhook_secret.py) keeps this list complete.
EXAMPLE_WEBHOOK_SECRETS = frozenset({b"replace-with-a-long-random-string"})


def _secret_problem(
    what: str, ref: SecretKeySelector, secrets: Mapping[str, SecretData | None]
) -> Problem | None:
    data = secrets.get(ref.name)
    if data is None:
        return Problem(PipelineReason.SECRET_MISSING, f"{what} Secret {ref.name!r} not found")
    if missing_keys(data, [ref.key]):
        return Problem(
            PipelineReason.KEY_MISSING,
            f"{what} Secret {ref.name!r} has no (or an empty) {ref.key!r}",
        )
    return None


def _weak_webhook_secret(
    ref: SecretKeySelector, secrets: Mapping[str, SecretData | None]
) -> Problem | None:
    """A webhook secret anyone could guess: an example's value, or a short one. The message
    names the Secret and its key, never the value."""
    value = base64.b64decode((secrets.get(ref.name) or {}).get(ref.key, ""))
    where = f"webhook Secret {ref.name!r} (key {ref.key!r})"
    if value.strip() in EXAMPLE_WEBHOOK_SECRETS:
        return Problem(
            PipelineReason.WEBHOOK_SECRET_WEAK,
            f"{where} holds the example value from examples/ or docs/: replace it with a long "
            "random value (openssl rand -hex 32)",
        )
    if len(value) < MIN_WEBHOOK_SECRET_BYTES:
        return Problem(
            PipelineReason.WEBHOOK_SECRET_WEAK,
            f"{where} is shorter than {MIN_WEBHOOK_SECRET_BYTES} bytes: use a long random value "
            "(openssl rand -hex 32)",
        )
    return None


def pipeline_problems(
    pipeline: ExecutionPipeline,
    accounts: Mapping[str, ExchangeAccount],
    readiness: Mapping[str, AccountReadiness],
    secrets: Mapping[str, SecretData | None],
) -> list[Problem]:
    """Everything that keeps the pipeline from running, in spec order; empty when it may run.

    ``accounts`` holds the pipeline's ExchangeAccounts that exist and parse; ``readiness`` the
    verdict on every account that exists (one whose spec does not parse has a verdict but no
    entry in ``accounts``); ``secrets`` the data of the webhook, Redis and notification
    Secrets (None: missing).
    An account without credentials only serves dry-run pipelines.
    """
    problems: list[Problem] = []
    spec = pipeline.spec
    for name in spec.account_names:
        verdict = readiness.get(name)
        if verdict is None:
            problems.append(
                Problem(
                    PipelineReason.ACCOUNT_MISSING,
                    f"ExchangeAccount {name!r} not found in namespace {pipeline.namespace!r}",
                )
            )
        elif not verdict.ready:
            problems.append(
                Problem(
                    PipelineReason.ACCOUNT_NOT_READY,
                    f"ExchangeAccount {name!r} is not ready ({verdict.reason}: {verdict.message})",
                )
            )
        elif verdict.dry_run_only and not spec.dry_run:
            problems.append(
                Problem(
                    PipelineReason.ACCOUNT_NOT_READY,
                    f"ExchangeAccount {name!r} has no credentials, so only dry-run pipelines can "
                    "use it: set dryRun: true, or give the account a credentialsSecretRef",
                )
            )
    webhook = _secret_problem("webhook", spec.webhook.secret_ref, secrets) or (
        _weak_webhook_secret(spec.webhook.secret_ref, secrets)
    )
    if webhook is not None:
        problems.append(webhook)
    if spec.state.backend == "redis" and spec.state.redis_secret_ref is not None:
        redis = _secret_problem("Redis", spec.state.redis_secret_ref, secrets)
        if redis is not None:
            problems.append(redis)
    for target in spec.notifications:
        notify = _secret_problem(f"notification {target.name!r}", target.secret_ref, secrets)
        if notify is not None:
            problems.append(notify)
    return problems


@dataclass(frozen=True, slots=True)
class ExecutorsState:
    """How the executor Deployment is doing, from its status."""

    ready: bool
    reason: str
    message: str
    replicas: int = 0
    ready_replicas: int = 0


def executors_state(deployment: Mapping[str, Any] | None) -> ExecutorsState:
    """The rollout verdict on the executor Deployment as read from the API (None: absent).

    Same logic as ``kubectl rollout status``: the controller must have observed the current
    generation, every desired pod must run the current template, old pods must be gone, and
    every desired pod must be ready.
    """
    if deployment is None:
        return ExecutorsState(False, PipelineReason.EXECUTORS_NOT_READY, "Deployment not found")
    name = deployment.get("metadata", {}).get("name", "executor")
    status: Mapping[str, Any] = deployment.get("status") or {}
    spec: Mapping[str, Any] = deployment.get("spec") or {}
    desired = int(spec.get("replicas", 1))
    replicas = int(status.get("replicas", 0))
    updated = int(status.get("updatedReplicas", 0))
    ready = int(status.get("readyReplicas", 0))
    available = int(status.get("availableReplicas", 0))

    def state(ok: bool, reason: str, message: str) -> ExecutorsState:
        return ExecutorsState(ok, reason, message, replicas, ready)

    generation = int(deployment.get("metadata", {}).get("generation", 0))
    if int(status.get("observedGeneration", 0)) < generation:
        return state(
            False,
            PipelineReason.ROLLOUT_IN_PROGRESS,
            f"waiting for the Deployment controller to observe Deployment {name!r}",
        )
    for condition in status.get("conditions") or ():
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return state(
                False,
                PipelineReason.ROLLOUT_FAILED,
                f"Deployment {name!r} exceeded its progress deadline: "
                f"{condition.get('message', '')}".rstrip(": "),
            )
    if desired == 0:
        return state(False, PipelineReason.SCALED_TO_ZERO, "replicas is 0: no executor runs")
    if updated < desired:
        return state(
            False,
            PipelineReason.ROLLOUT_IN_PROGRESS,
            f"{updated} of {desired} executor pods run the current template",
        )
    if replicas > updated:
        return state(
            False,
            PipelineReason.ROLLOUT_IN_PROGRESS,
            f"{replicas - updated} old executor pods are terminating",
        )
    if available < desired or ready < desired:
        return state(
            False,
            PipelineReason.EXECUTORS_NOT_READY,
            f"{min(ready, available)}/{desired} executor pods ready",
        )
    return state(True, PipelineReason.EXECUTORS_READY, f"{ready}/{desired} executor pods ready")
