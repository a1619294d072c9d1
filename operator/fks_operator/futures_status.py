"""An ExchangeAccount's ``FuturesSettingsApplied`` condition, from what its executors report.

The executors apply an account's ``spec.futures`` (docs/trading.md#futures-settings) and list
the settings they could not apply in their ``/ready`` body (``futures.conflicts``: account,
symbol, setting, wanted, actual, reason; no secret). Executors have no API access, so the
operator asks them: at each reconcile of an account with ``spec.futures``, a ``GET /ready`` to
the executor Service of every pipeline in the namespace that uses the account (unauthenticated,
1 s timeout), then again every ``FKS_OPERATOR_FUTURES_POLL_SECONDS``.

    a conflict for this account     False, reason of the first (OpenPositionConflict, ...),
                                    message naming pipeline, symbol, setting, values
    every executor answered, none   True  Applied
    an executor did not answer      Unknown ExecutorUnreachable (the conflicts of the others
                                    still win)
    no pipeline uses the account    True  Applied ("no pipeline uses the account")
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx2

from fks_operator import references
from fks_operator.conditions import Condition, merge_conditions

if TYPE_CHECKING:
    from fks_operator.context import Context
    from fks_operator.specs import ExchangeAccount

__all__ = [
    "FUTURES_APPLIED",
    "FuturesReason",
    "executor_url",
    "fetch_conflicts",
    "futures_condition",
    "with_futures_condition",
]

log = logging.getLogger(__name__)

FUTURES_APPLIED = "FuturesSettingsApplied"
"""ExchangeAccount (with ``spec.futures``): its executors applied the settings."""


class FuturesReason:
    """Reasons of an ExchangeAccount's ``FuturesSettingsApplied`` condition."""

    APPLIED = "Applied"
    """True: no executor using the account reports a conflict."""
    OPEN_POSITION_CONFLICT = "OpenPositionConflict"
    """False: a setting differs on a symbol with an open position; entries on it are refused."""
    VENUE_REFUSED = "VenueRefused"
    """False: the venue refused a change (open orders, or positions for an account-wide one)."""
    NOT_VERIFIED = "NotVerified"
    """False: the venue accepted a change but reads back another value."""
    EXECUTOR_UNREACHABLE = "ExecutorUnreachable"
    """Unknown: an executor's ``/ready`` did not answer (not running yet, or a NetworkPolicy)."""


_KNOWN = {FuturesReason.OPEN_POSITION_CONFLICT, FuturesReason.VENUE_REFUSED}
_KNOWN.add(FuturesReason.NOT_VERIFIED)

_TIMEOUT = 1.0


def executor_url(template: str, pipeline: Mapping[str, Any]) -> str:
    meta = pipeline.get("metadata") or {}
    name = f"{meta.get('name', '')}-executor"
    return template.format(name=name, namespace=meta.get("namespace", "")).rstrip("/")


def pipelines_using(pipelines: Sequence[Mapping[str, Any]], account: str) -> list[Any]:
    return [p for p in pipelines if account in references.pipeline_accounts(p)]


async def fetch_conflicts(client: httpx2.AsyncClient, url: str) -> list[dict[str, str]] | None:
    """The ``futures.conflicts`` of one executor's ``/ready`` (200 or 503 alike), or None when
    it does not answer with them."""
    try:
        response = await client.get(f"{url}/ready")
        body = response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        log.debug("executor %s did not answer /ready: %s", url, exc)
        return None
    futures = body.get("futures") if isinstance(body, dict) else None
    conflicts = futures.get("conflicts") if isinstance(futures, dict) else None
    if not isinstance(conflicts, list):
        return None
    return [{str(k): str(v) for k, v in c.items()} for c in conflicts if isinstance(c, dict)]


def futures_condition(
    account: str,
    generation: int,
    reports: Mapping[str, list[dict[str, str]] | None],
) -> Condition:
    """The condition from each using pipeline's report (None: its executor did not answer)."""
    found = [
        (pipeline, c)
        for pipeline, conflicts in sorted(reports.items())
        for c in conflicts or ()
        if c.get("account") == account
    ]
    if found:
        reason = found[0][1].get("reason", "")
        message = "; ".join(
            f"pipeline {p}: {c.get('setting')} of {c.get('symbol')} is {c.get('actual')}, "
            f"spec.futures wants {c.get('wanted')} ({c.get('reason')}): entries refused"
            for p, c in found
        )
        reason = reason if reason in _KNOWN else FuturesReason.VENUE_REFUSED
        return Condition.false(FUTURES_APPLIED, reason, message, generation)
    silent = sorted(p for p, conflicts in reports.items() if conflicts is None)
    if silent:
        return Condition(
            FUTURES_APPLIED,
            "Unknown",
            FuturesReason.EXECUTOR_UNREACHABLE,
            f"no /ready answer from the executors of {', '.join(silent)} (not running yet, or "
            "a NetworkPolicy: add the operator's namespace to networkPolicy.metricsFrom)",
            generation,
        )
    using = ", ".join(sorted(reports)) or "no pipeline uses the account"
    return Condition.true(
        FUTURES_APPLIED, FuturesReason.APPLIED, f"no conflict reported ({using})", generation
    )


async def with_futures_condition(
    ctx: Context, account: ExchangeAccount | None, status: dict[str, Any]
) -> tuple[dict[str, Any], float]:
    """``status`` with the ``FuturesSettingsApplied`` condition set from the executors'
    reports (an account without ``spec.futures``, or one that does not parse: removed), and
    the seconds until the account is asked again (0: not scheduled)."""
    conditions = [c for c in status.get("conditions", ()) if c.get("type") != FUTURES_APPLIED]
    if account is None or account.spec.futures is None:
        return {**status, "conditions": conditions}, 0
    namespace = account.metadata.namespace
    using = pipelines_using(ctx.cache.pipelines_in(namespace), account.name)
    reports: dict[str, list[dict[str, str]] | None] = {}
    async with httpx2.AsyncClient(timeout=_TIMEOUT, trust_env=False) as client:
        for pipeline in using:
            url = executor_url(ctx.settings.executor_url, pipeline)
            reports[pipeline["metadata"]["name"]] = await fetch_conflicts(client, url)
    generation = int(status.get("observedGeneration", 0))
    condition = futures_condition(account.name, generation, reports)
    merged = merge_conditions(status.get("conditions"), [condition], ctx.now())
    return {**status, "conditions": merged}, ctx.settings.futures_poll_seconds
