"""How the trader words a plan (the audit's ``order_sent`` detail) and an execution (the
answer's ``detail``). Pure."""

from __future__ import annotations

from fks_executor.exchange.base import ExecutionReport
from fks_executor.exchange.plan import OrderPlan

__all__ = ["answer_detail", "describe"]


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
    return "; ".join(parts) or None
