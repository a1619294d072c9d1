"""One reconcile of one object: read the current state, call the pure core, write the difference.

Level-based and idempotent: every call reads what it needs from the watch caches
(:mod:`fks_operator.caches`; never from the event that queued it, and never from the API server
once a Secret has been read), so running it twice, or after a restart, gives the same result.
Writes:

- children by server-side apply (skipped when :mod:`fks_operator.drift` says nothing changed),
- optional children no longer wanted are deleted (only when they are this pipeline's),
- ``status`` through the status subresource, only when it differs from what is cached, with
  the cached ``resourceVersion`` as a precondition (a stale cache gets a 409, never clobbers),
- Events on transitions (a problem appears, executors become ready, an account goes live).

It never writes ``spec`` (or metadata) of a custom resource.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fks_operator import references
from fks_operator.accounts import AccountReadiness, SecretData, evaluate_account
from fks_operator.builders import (
    build_account_status,
    build_children,
    build_pipeline_status,
    pipeline_conditions,
    public_url,
)
from fks_operator.builders.plan import HELD_NOTE, Plan, held_plan, hold_plan, run_plan
from fks_operator.caches import custom_resource
from fks_operator.child_writes import execute
from fks_operator.conditions import (
    AccountReason,
    Condition,
    ConditionType,
    PipelineReason,
    find_condition,
    merge_conditions,
)
from fks_operator.context import Context, resource_version
from fks_operator.discovery import ServedApis
from fks_operator.drift import ChildKey
from fks_operator.errors import ApiError, KubeError, RenderError, SpecError
from fks_operator.futures_status import with_futures_condition
from fks_operator.kube import ACCOUNT, PIPELINE, Body, Kind
from fks_operator.notices import (
    LIVE_REASON,
    Notice,
    live_notice_for_pipeline,
    transition_notices,
)
from fks_operator.readiness import Problem, executors_state, pipeline_problems
from fks_operator.specs import ExchangeAccount, ExecutionPipeline, parse_account, parse_pipeline

log = logging.getLogger(__name__)

SUCCESS, HELD, INVALID, ERROR, GONE = "success", "held", "invalid", "error", "gone"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reconcile did: its result (a metrics label) and the children it applied."""

    result: str
    applied: tuple[ChildKey, ...] = ()
    requeue_after: float = 0  # seconds until the next reconcile (0: none; futures_status.py)


# --- pure helpers -------------------------------------------------------------------------------


def status_patch(previous: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any] | None:
    """The merge patch turning ``previous`` into ``status`` (removed keys as None), or None when
    they are equal, so unchanged status is never written."""
    if dict(previous) == dict(status):
        return None
    patch = dict(status)
    for key in previous:
        if key not in status:
            patch[key] = None
    return patch


# --- I/O helpers --------------------------------------------------------------------------------


async def _post(ctx: Context, involved: Mapping[str, Any], notice: Notice) -> None:
    meta = involved["metadata"]
    log.info(
        "event %s %s on %s %s/%s: %s",
        notice.type,
        notice.reason,
        involved["kind"],
        meta["namespace"],
        meta["name"],
        notice.message,
    )
    await ctx.api.post_event(
        involved, type_=notice.type, reason=notice.reason, message=notice.message
    )


async def _post_best_effort(ctx: Context, involved: Mapping[str, Any], notice: Notice) -> None:
    """Record a transition Event; a failure is logged, never fails the reconcile (the condition
    in the status says the same thing)."""
    try:
        await _post(ctx, involved, notice)
    except ApiError as exc:
        level = logging.DEBUG if exc.namespace_gone else logging.WARNING
        log.log(level, "cannot record event %s: %s", notice.reason, exc)
    except KubeError as exc:
        log.warning("cannot record event %s: %s", notice.reason, exc)


async def _write_status(
    ctx: Context, kind: Kind, body: Mapping[str, Any], status: Mapping[str, Any]
) -> bool:
    meta = body["metadata"]
    patch = status_patch(body.get("status") or {}, status)
    if patch is None:
        return False
    based_on = resource_version(body)
    try:
        written = await ctx.api.patch_status(
            kind, meta["namespace"], meta["name"], patch, resource_version=based_on or None
        )
    except ApiError as exc:
        if exc.code == 404:
            return False  # deleted since it was read: nothing to report on
        raise  # 409: the cache was stale; retried once the watch has caught up
    ctx.written[(kind.kind, meta["namespace"], meta["name"])] = (
        based_on,
        custom_resource(written),
    )
    ready = find_condition(status.get("conditions"), ConditionType.READY) or {}
    log.info(
        "%s %s/%s: Ready=%s %s: %s",
        kind,
        meta["namespace"],
        meta["name"],
        ready.get("status", "Unknown"),
        ready.get("reason", ""),
        ready.get("message", ""),
    )
    return True


async def _evaluate(ctx: Context, account: ExchangeAccount) -> AccountReadiness:
    ref = account.spec.credentials_secret_ref
    data = await ctx.secrets.get(account.metadata.namespace, ref.name) if ref else None
    # A table lookup (the catalog is ccxt_catalog.json, no ccxt): on the loop, no thread hop.
    return evaluate_account(account.spec, data, ctx.catalog)


# --- ExecutionPipeline --------------------------------------------------------------------------


@dataclass
class _Inputs:
    accounts: dict[str, ExchangeAccount]
    readiness: dict[str, AccountReadiness]
    secrets: dict[str, SecretData | None]


async def _load_inputs(ctx: Context, pipeline: ExecutionPipeline) -> _Inputs:
    """The pipeline's accounts and every Secret it needs (from the caches)."""
    namespace, spec = pipeline.namespace, pipeline.spec
    names = spec.account_names
    bodies = [ctx.current(ACCOUNT, namespace, name) for name in names]
    accounts: dict[str, ExchangeAccount] = {}
    readiness: dict[str, AccountReadiness] = {}
    for name, body in zip(names, bodies, strict=True):
        if body is None:
            continue
        try:
            accounts[name] = parse_account(body)
        except SpecError as exc:
            readiness[name] = AccountReadiness(False, AccountReason.INVALID_SPEC, str(exc))
    # Every Secret the pods could read: webhook, Redis, notifications, each account's keys.
    wanted = {spec.webhook.secret_ref.name}
    if spec.state.backend == "redis" and spec.state.redis_secret_ref is not None:
        wanted.add(spec.state.redis_secret_ref.name)
    wanted.update(target.secret_ref.name for target in spec.notifications)
    for account in accounts.values():
        if account.spec.credentials_secret_ref is not None:
            wanted.add(account.spec.credentials_secret_ref.name)
    secrets = await ctx.secrets.get_many(namespace, wanted)
    for name, account in accounts.items():
        readiness[name] = await _evaluate(ctx, account)
    return _Inputs(accounts, readiness, secrets)


def _plan(
    ctx: Context,
    pipeline: ExecutionPipeline,
    inputs: _Inputs,
    problems: list[Problem],
    apis: ServedApis,
) -> tuple[Plan, list[Problem]]:
    """The plan for this reconcile, and the problems to report (a render error is one)."""
    secrets = inputs.secrets
    try:
        children = build_children(
            pipeline,
            inputs.accounts,
            ctx.settings,
            secrets,
            service_monitor_api=apis.service_monitor,
            http_route_api=apis.http_route,
        )
    except RenderError as exc:
        if not problems:
            problems = [Problem(PipelineReason.RENDER_FAILED, str(exc))]
        return held_plan(pipeline, ctx.settings, secrets), problems
    if problems:
        return hold_plan(children), problems
    return run_plan(children), problems


def _invalid_conditions(generation: int, message: str) -> list[Condition]:
    reason = PipelineReason.INVALID_SPEC
    return [
        Condition.false(ConditionType.RECONCILED, reason, message, generation),
        Condition.false(ConditionType.READY, reason, message, generation),
    ]


async def _pipeline_invalid(ctx: Context, body: Body, error: SpecError) -> None:
    """A stored spec the operator cannot use: say so, touch nothing else."""
    previous = body.get("status") or {}
    generation = int(body["metadata"].get("generation", 0))
    status = {
        **previous,
        "observedGeneration": generation,
        "conditions": merge_conditions(
            previous.get("conditions"), _invalid_conditions(generation, str(error)), ctx.now()
        ),
    }
    for notice in transition_notices(previous.get("conditions"), status["conditions"]):
        await _post_best_effort(ctx, body, notice)
    await _write_status(ctx, PIPELINE, body, status)


async def reconcile_pipeline(ctx: Context, namespace: str, name: str) -> Outcome:
    """Bring one ExecutionPipeline's children and status in line with its spec and inputs."""
    body = ctx.current(PIPELINE, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return Outcome(GONE)  # the garbage collector removes the children (owner references)
    try:
        pipeline = parse_pipeline(body)
    except SpecError as exc:
        await _pipeline_invalid(ctx, body, exc)
        return Outcome(INVALID)
    inputs = await _load_inputs(ctx, pipeline)
    problems = pipeline_problems(pipeline, inputs.accounts, inputs.readiness, inputs.secrets)
    apis = ctx.discovery.snapshot(namespace)
    plan, problems = _plan(ctx, pipeline, inputs, problems, apis)
    if plan.held:
        problems = [*problems, Problem(problems[0].reason, HELD_NOTE)]

    apply_error: KubeError | None = None
    deployment: Body | None = None
    applied: list[ChildKey] = []
    try:
        deployment = await execute(ctx, pipeline, plan, apis, applied)
    except ApiError as exc:
        if exc.namespace_gone:
            raise  # nothing more to say, or write, in a namespace being deleted
        apply_error = exc
    except KubeError as exc:
        apply_error = exc
    executors = executors_state(deployment) if apply_error is None else None
    conditions = pipeline_conditions(
        pipeline,
        problems=problems,
        executors=executors,
        apply_error=None if apply_error is None else str(apply_error),
        notes=plan.notes,
    )
    previous = body.get("status") or {}
    status = build_pipeline_status(
        pipeline,
        inputs.accounts,
        conditions=conditions,
        executors=executors,
        inputs_hash=plan.inputs_hash if apply_error is None else None,
        previous=previous,
        now=ctx.now(),
        public_url=public_url(pipeline, http_route_api=apis.http_route),
    )
    if executors is None and apply_error is not None:
        # Nothing new is known about the pods: keep what the status said.
        for key in ("replicas", "readyReplicas"):
            if key in previous:
                status[key] = previous[key]
    for notice in transition_notices(previous.get("conditions"), status["conditions"]):
        await _post_best_effort(ctx, body, notice)
    await _write_status(ctx, PIPELINE, body, status)
    if apply_error is not None:
        raise apply_error  # retried with backoff
    return Outcome(HELD if plan.held else SUCCESS, tuple(applied))


# --- ExchangeAccount ----------------------------------------------------------------------------


async def _announce_live(ctx: Context, body: Body, account: ExchangeAccount) -> None:
    """The Warning on the account and on every pipeline in its namespace that uses it."""
    await _post(
        ctx,
        body,
        Notice(
            "Warning",
            LIVE_REASON,
            f"environment switched to live on {account.spec.exchange}: orders through this "
            "account use real money",
        ),
    )
    namespace = account.metadata.namespace
    for pipeline in ctx.cache.pipelines_in(namespace):
        if account.name in references.pipeline_accounts(pipeline):
            await _post(ctx, pipeline, live_notice_for_pipeline(account, pipeline))
    log.warning("ExchangeAccount %s/%s switched to live", namespace, account.name)


async def reconcile_account(ctx: Context, namespace: str, name: str) -> Outcome:
    """Evaluate one ExchangeAccount, announce a switch to live, and write its status."""
    body = ctx.current(ACCOUNT, namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return Outcome(GONE)
    meta = body["metadata"]
    generation = int(meta.get("generation", 0))
    previous = body.get("status") or {}
    result = SUCCESS
    try:
        account = parse_account(body)
    except SpecError as exc:
        readiness = AccountReadiness(False, AccountReason.INVALID_SPEC, str(exc))
        result = INVALID
    else:
        readiness = await _evaluate(ctx, account)
        uid = str(meta.get("uid", ""))
        observed = int(previous.get("observedGeneration", 0) or 0)
        if ctx.live.check(uid, account.spec, generation=generation, observed_generation=observed):
            await _announce_live(ctx, body, account)
        ctx.live.record(uid, account.spec)
    status = build_account_status(generation, readiness, previous=previous, now=ctx.now())
    status, poll = await with_futures_condition(ctx, None if result == INVALID else account, status)
    await _write_status(ctx, ACCOUNT, body, status)
    return Outcome(result, requeue_after=poll)
