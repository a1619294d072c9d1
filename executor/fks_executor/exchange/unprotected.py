"""A position left without the protection its alert asked for: an alert of its own.

docs/trading.md#several-exits, "When a protection fails". After an entry filled, a protective
leg that was refused by the venue, or placed but not found there when checked
(``protection.verify_legs``), makes :meth:`ProtectionGuard.review`:

- write the audit line ``protection_failed`` (which notifications deliver);
- set ``fks_unprotected_positions{account,symbol}`` to 1;
- with ``execution.onProtectionFailure: close``: close the position the entry opened (in hedge
  mode only the side it opened) through ``closing`` / ``hedge``: on contracts a reduce-only
  market order first, this pipeline's open orders on the symbol cancelled only once it was
  accepted (a refused close leaves the legs); on spot the orders cancelled first (they lock
  the coins), then the free base balance sold (a refused sell is audited, the gauge stays 1);
  through the same at-most-once order protocol, under
  the client order id of the signal's own ``uc`` leg (``guard_close_id``), so a resumed
  signal looks it up before sending it again, and places no leg again once it exists.

The answer stays ``executed`` (the entry happened); its ``detail`` names the failed legs and
what was done. The gauge goes back to 0 when the symbol's position is closed by this
executor (that close, a ``close`` alert, or the close of a target-position flip; in hedge
mode one of the side left unprotected), or when a resumed execution of the same signal finds
every protection in place. A leg not placed because a limit entry has not filled yet
(``entry_not_filled``) protects nothing unprotected: it is no failure here, nor is
a leg not placed again by a resumed signal because the guard's close already exists
(``closed_unprotected``).
"""

from __future__ import annotations

import dataclasses
import logging

from fks_executor.audit import AuditLog
from fks_executor.config import ExecutorConfig
from fks_executor.domain import Action, OrderType, Position, Signal
from fks_executor.errors import ExecutorError
from fks_executor.exchange.base import ExchangeClient, ExecutionReport
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.exchange.plan import OrderLeg, OrderPlan, plan_close
from fks_executor.metrics import Metrics

__all__ = ["ProtectionGuard", "guard_close", "guard_close_id"]

log = logging.getLogger(__name__)


_NOT_A_FAILURE = frozenset({"entry_not_filled", "closed_unprotected"})


class ProtectionGuard:
    """One per trader: reviews every execution report for failed protection."""

    def __init__(
        self, config: ExecutorConfig, *, metrics: Metrics | None, audit: AuditLog | None
    ) -> None:
        self.pipeline = config.pipeline
        self.close_on_failure = config.execution.on_protection_failure == "close"
        self.metrics = metrics
        self.audit = audit
        # (account, symbol) -> (signal id, the hedge-mode side left unprotected, else None)
        self._unprotected: dict[tuple[str, str], tuple[str, str | None]] = {}

    def _gauge(self, key: tuple[str, str], value: int) -> None:
        if self.metrics is not None:
            self.metrics.unprotected_positions.labels(*key).set(value)

    def _protected(self, key: tuple[str, str]) -> None:
        if self._unprotected.pop(key, None) is not None:
            self._gauge(key, 0)

    def _closed(self, key: tuple[str, str], close: OrderPlan) -> None:
        """A close of this executor: the gauge clears unless it closed the other hedge side."""
        held = self._unprotected.get(key)
        if held is None:
            return
        sides = {
            Position.LONG if leg.side == "sell" else Position.SHORT for leg in close.hedge_closes
        }
        if held[1] is None or not sides or held[1] in sides:
            self._protected(key)

    @staticmethod
    def _flipped(signal: Signal, report: ExecutionReport) -> bool:
        """The report holds a close of the position besides its entry (a target-position
        flip: the report's plan is the entry)."""
        plan = report.plan
        cid = client_order_id(plan.pipeline, plan.account, signal.signal_id, Leg.CLOSE)
        return any(order.client_order_id == cid for order in report.legs)

    async def review(
        self,
        signal: Signal,
        report: ExecutionReport,
        client: ExchangeClient,
        *,
        resume: bool,
        attempted_at: float | None,
        deadline: float | None,
    ) -> ExecutionReport:
        """``report`` with what was done about a failed protection (never raises)."""
        plan = report.plan
        key = (plan.account, plan.symbol)
        if client.dry_run:
            return report
        if plan.action is Action.CLOSE:
            self._closed(key, plan)
            return report
        if self._flipped(signal, report):  # target-position: the close of a flip went first
            self._protected(key)
        failures = [f for f in report.leg_failures if f.reason not in _NOT_A_FAILURE]
        if not failures:
            held = self._unprotected.get(key)
            if plan.protective and held is not None and held[0] == signal.signal_id:
                self._protected(key)
            return report
        self._unprotected[key] = (
            signal.signal_id,
            _side_opened(plan) if plan.entry.hedged else None,
        )
        self._gauge(key, 1)
        what = "; ".join(f"{f.leg} leg: {f.reason}: {f.detail}" for f in failures)
        action = "closing the position" if self.close_on_failure else "the position stays open"
        self._record(signal, plan.account, plan.symbol, failures[0].reason, f"{what} ({action})")
        if not self.close_on_failure:
            return report
        return await self._close(signal, report, client, resume, attempted_at, deadline)

    async def _close(
        self,
        signal: Signal,
        report: ExecutionReport,
        client: ExchangeClient,
        resume: bool,
        attempted_at: float | None,
        deadline: float | None,
    ) -> ExecutionReport:
        plan = report.plan
        hedged = plan.entry.hedged
        close_signal = dataclasses.replace(
            signal,
            action=Action.CLOSE,
            order_type=OrderType.MARKET,
            price=None,
            position=_side_opened(plan) if hedged else None,
        )
        try:
            price = await client.fetch_price(plan.symbol)
            close_plan = guard_close(
                plan_close(
                    close_signal,
                    pipeline=plan.pipeline,
                    account=plan.account,
                    market=client.market(plan.symbol),
                    reference_price=price,
                    hedged=hedged,
                )
            )
            closed = await client.execute(
                close_plan, resume=resume, attempted_at=attempted_at, deadline=deadline
            )
        except ExecutorError as exc:
            detail = f"closing the unprotected position failed: {exc.reason}: {exc.detail}"
            log.warning("%s on %s/%s", detail, plan.account, plan.symbol)
            self._record(signal, plan.account, plan.symbol, exc.reason, detail)
            return dataclasses.replace(report, protection_note=detail)
        self._protected((plan.account, plan.symbol))
        order = closed.entry
        note = (
            "the position was closed (execution.onProtectionFailure: close): "
            f"order {order.client_order_id} {order.status}"
        )
        return dataclasses.replace(
            report,
            protection_close=order,
            protection_note=note,
            cancelled=report.cancelled + closed.cancelled,
            fills=report.fills + closed.fills,
        )

    def _record(self, signal: Signal, account: str, symbol: str, reason: str, detail: str) -> None:
        if self.audit is not None:
            self.audit.record(
                "protection_failed",
                signal_id=signal.signal_id,
                account=account,
                symbol=symbol,
                reason=reason,
                detail=detail,
            )


def _side_opened(plan: OrderPlan) -> Position:
    """The hedge-mode side the entry opened: a buy the long side, a sell the short side."""
    return Position.LONG if plan.entry.side == "buy" else Position.SHORT


def guard_close_id(plan: OrderPlan) -> str:
    """The client order id of the guard's close of ``plan``'s position (leg ``uc``)."""
    return client_order_id(plan.pipeline, plan.account, plan.signal_id, Leg.UNPROTECTED_CLOSE)


def guard_close(close: OrderPlan) -> OrderPlan:
    """``close`` (of the entry's signal) sent under the guard's own client order id."""
    cid = guard_close_id(close)

    def own(leg: OrderLeg) -> OrderLeg:
        return dataclasses.replace(leg, leg=Leg.UNPROTECTED_CLOSE, client_order_id=cid)

    return dataclasses.replace(
        close, entry=own(close.entry), hedge_closes=tuple(own(leg) for leg in close.hedge_closes)
    )
