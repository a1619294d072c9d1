"""How the trader words a plan (the audit's ``order_sent`` line), an execution (the
answer's ``detail``) and a lost trade (metric and audit ``lost_trade``)."""

from __future__ import annotations

from fks_executor.audit import AuditLog
from fks_executor.domain import Signal
from fks_executor.errors import ExecutorError
from fks_executor.exchange.base import ExchangeClient, ExecutionReport
from fks_executor.exchange.plan import OrderPlan
from fks_executor.metrics import Metrics

__all__ = ["answer_detail", "audit_plan", "describe", "lost_trade"]


def audit_plan(audit: AuditLog | None, signal: Signal, plan: OrderPlan, *, resume: bool) -> None:
    """The audit line ``order_sent``, written before the plan is carried out."""
    if audit is None:
        return
    resumed = " (resumed: each order is looked up by client order id before it is sent)"
    audit.record(
        "order_sent",
        signal_id=signal.signal_id,
        account=plan.account,
        symbol=plan.symbol,
        order_id=plan.entry.client_order_id,
        detail=describe(plan) + (resumed if resume else ""),
    )


def describe(plan: OrderPlan) -> str:
    leg = plan.entry
    amount = "all" if leg.amount is None else f"{leg.amount:g}"
    price = f" @ {leg.price:g}" if leg.price is not None else ""
    extra = "".join(f" {p.kind}@{p.trigger_price:g}" for p in plan.protective)
    sized = ""
    if plan.sizing is not None:
        sized = f" ({plan.sizing.method} {plan.sizing.notional_usd:.2f} USD"
        sized += f", capped by {plan.sizing.capped_by})" if plan.sizing.capped_by else ")"
    return f"{leg.type} {leg.side} {amount}{price}{extra}{sized}"


def answer_detail(report: ExecutionReport, first: str | None = None) -> str | None:
    """``first`` (what a target-position sync found), then the legs not placed."""
    parts = [f"{f.leg} leg not placed: {f.reason}: {f.detail}" for f in report.leg_failures]
    if report.recovered:
        parts.insert(0, "order found on the exchange by client order id (not sent again)")
    if first:
        parts.insert(0, first)
    parts += [report.protection_note] if report.protection_note else []
    return "; ".join(parts) or None


def lost_trade(
    metrics: Metrics | None,
    audit: AuditLog | None,
    signal: Signal,
    client: ExchangeClient,
    exc: ExecutorError,
    *,
    unknown: bool,
) -> None:
    """A signal that ends ``failed``: its trade did not happen (``unknown``: an order of
    it may exist, unseen). Never silent: counted and audited."""
    account = client.venue.account
    if metrics is not None:
        order = "unknown" if unknown else "absent"
        metrics.lost_trades.labels(account, client.venue.exchange_id, order).inc()
    if audit is not None:
        what = (
            "an order of it may exist on the exchange (not seen; looked up before anything "
            "is sent for it again)"
            if unknown
            else "no order of it exists on the exchange"
        )
        audit.record(
            "lost_trade",
            signal_id=signal.signal_id,
            account=account,
            symbol=signal.symbol,
            reason=exc.reason,
            detail=f"{what}: {exc.detail}",
        )
