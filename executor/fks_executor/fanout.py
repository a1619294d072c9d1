"""One alert, many accounts (copy trading; docs/executor.md#fan-out).

A signal whose account is ``*`` (:data:`~fks_executor.domain.ALL_ACCOUNTS`: the alert said so,
or the pipeline has ``fanOut: true`` and the alert names no account) is executed once per
account of the pipeline, concurrently, each as the signal of that one account would be: sized
by that account's own balance, with that account's own client order ids (they derive from the
pipeline, the account and the signal id: ``exchange/client_ids.py``), behind that account's
circuit breaker. One account's refusal or failure does not stop the others.

The answer (:func:`combine`) carries every account's outcome in ``outcomes`` and, at the top,
the worst of them (:data:`SEVERITY`): ``failed`` > ``rejected`` > ``accepted`` > ``dry_run`` >
``executed``, with that outcome's reason and HTTP status; among failures a retryable one (503)
comes first, so a redelivery of the alert tries again the accounts that can be tried again.

At most one order per (signal, account): nothing per account is journaled besides the signal
itself. A signal resumed after a crash, or tried again after a retryable failure, runs every
account again with ``resume``: each account looks its orders up by their client order ids
before sending anything, so an account whose orders were placed finds them (and sends nothing),
and an account that had not got that far trades now. For that reason a retryable fan-out
outcome in which any account placed an order is recorded ``unsettled``: the next attempt looks
before it sends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from fks_executor.audit import AuditLog
from fks_executor.domain import Outcome, Signal
from fks_executor.errors import ExecutorError, InternalError
from fks_executor.state.store import is_retryable

__all__ = ["SEVERITY", "AccountExecutor", "audit_accounts", "combine", "fan_out", "worst"]

log = logging.getLogger("fks_executor.fanout")

#: How bad each status is, worst last: the top-level status of a fan-out is the worst.
SEVERITY: dict[str, int] = {
    "executed": 0,
    "dry_run": 1,
    "accepted": 2,
    "rejected": 3,
    "failed": 4,
}


class AccountExecutor(Protocol):
    """What executes the signal of one account (the exchange layer's ``Trader``)."""

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome: ...


async def fan_out(
    executor: AccountExecutor,
    accounts: Sequence[str],
    signal: Signal,
    *,
    resume: bool = False,
    attempted_at: float | None = None,
) -> Outcome:
    """Execute ``signal`` for every one of ``accounts`` at once; the combined outcome."""
    results = await asyncio.gather(
        *(
            _one(executor, dataclasses.replace(signal, account=name), resume, attempted_at)
            for name in accounts
        )
    )
    return combine(signal.signal_id, list(zip(accounts, results, strict=True)))


async def _one(
    executor: AccountExecutor, signal: Signal, resume: bool, attempted_at: float | None
) -> Outcome:
    try:
        return await executor.execute(signal, resume=resume, attempted_at=attempted_at)
    except ExecutorError as exc:
        return Outcome.from_error(exc, signal.signal_id)
    except Exception:
        # A bug below (the trader's own errors are ExecutorErrors): this account's outcome is a
        # 500, the others' outcomes (orders that were placed) must still be recorded.
        log.exception(
            "internal error executing signal %s for account %s", signal.signal_id, signal.account
        )
        return Outcome.from_error(InternalError(), signal.signal_id)


def worst(outcomes: Sequence[Outcome]) -> Outcome:
    """The worst outcome (:data:`SEVERITY`; a retryable failure before a final one; the first
    account's among equals)."""
    return max(outcomes, key=lambda o: (SEVERITY.get(o.status, 0), is_retryable(o)))


def combine(signal_id: str, results: Sequence[tuple[str, Outcome]]) -> Outcome:
    """The answer of a fan-out: the worst outcome at the top, every account's in ``outcomes``."""
    top = worst([outcome for _, outcome in results])
    placed = any(outcome.order is not None for _, outcome in results)
    return Outcome(
        status=top.status,
        signal_id=signal_id,
        http_status=top.http_status,
        reason=top.reason,
        detail="; ".join(f"{name}: {_summary(outcome)}" for name, outcome in results),
        outcomes=[_entry(name, outcome) for name, outcome in results],
        unsettled=any(o.unsettled for _, o in results) or (placed and is_retryable(top)),
    )


def _summary(outcome: Outcome) -> str:
    return outcome.status if outcome.reason is None else f"{outcome.status} ({outcome.reason})"


def _entry(account: str, outcome: Outcome) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "account": account,
        "status": outcome.status,
        "reason": outcome.reason,
        "order": outcome.order,
        "orders": outcome.orders,
    }
    if outcome.detail:
        entry["detail"] = outcome.detail
    return entry


def audit_accounts(audit: AuditLog, signal: Signal, outcome: Outcome) -> None:
    """The audit lines of a fan-out's outcome: one per account, as that account's signal would
    have had (so a failure at one account is notified once, for that account)."""
    for entry in outcome.outcomes:
        order = entry["order"]
        order_id = order.get("id") if order is not None else None
        audit.record(
            entry["status"],
            signal_id=signal.signal_id,
            account=entry["account"],
            symbol=signal.symbol,
            reason=entry["reason"],
            order_id=None if order_id is None else str(order_id),
            detail=entry.get("detail"),
        )
