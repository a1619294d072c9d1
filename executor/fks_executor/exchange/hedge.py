"""``close`` in hedge mode (docs/trading.md#futures-settings): one reduce-only order per side.

The plan's ``hedge_closes`` (``futures.hedge_closes``) name the sides to close: the one the
alert's ``position`` names, else both. Each side holding contracts gets a reduce-only order
carrying its position side (ccxt ``hedged`` + ``reduceOnly``: Binance ``positionSide``, Bybit
``positionIdx``); then this pipeline's open orders on the symbol are cancelled (a refused close
raises before: the legs stay, docs/trading.md#when-a-protection-fails); closing one side
cancels only the orders on that side's closing side (a sell for the long side), so the other
side's stops stay. A resumed close looks each side's order up by client order id first and
sends only what is absent.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from fks_executor.domain import OrderResult
from fks_executor.errors import InvalidOrder
from fks_executor.exchange.base import ExecutionReport
from fks_executor.exchange.closing import cancel_own_orders
from fks_executor.exchange.errors import Operation
from fks_executor.exchange.markets import MarketInfo, amount_to_precision
from fks_executor.exchange.orders import fill_from_order, num
from fks_executor.exchange.plan import OrderPlan
from fks_executor.risk import Fill

if TYPE_CHECKING:
    from fks_executor.exchange.live import LiveExchange

__all__ = ["close_hedged", "hedge_sides"]


async def hedge_sides(ex: LiveExchange, market: MarketInfo) -> dict[str, float]:
    """Contracts held per side (long / short) on the symbol."""

    async def positions() -> Any:
        return await ex.api.fetch_positions([market.symbol])

    held = {"long": 0.0, "short": 0.0}
    for row in await ex.venue.call(Operation.READ, positions):
        side = row.get("side")
        if row.get("symbol") == market.symbol and side in held:
            held[side] += abs(num(row.get("contracts")) or 0.0)
    return held


async def close_hedged(
    ex: LiveExchange,
    plan: OrderPlan,
    market: MarketInfo,
    *,
    resume: bool,
    deadline: float | None = None,
) -> ExecutionReport:
    results: list[OrderResult] = []
    fills: list[Fill] = []
    todo = list(plan.hedge_closes)
    found = 0
    if resume:  # what an earlier attempt sent is reported, never sent again
        for leg in plan.hedge_closes:
            order = await ex.find_order(market.symbol, leg)
            if order is not None:
                results.append(order)
                todo.remove(leg)
                found += 1
    held = await hedge_sides(ex, market) if todo else {}
    for leg in todo:
        contracts = held["long" if leg.side == "sell" else "short"]
        if contracts <= 0:
            continue
        sized = dataclasses.replace(leg, amount=amount_to_precision(market, contracts))
        sent = await ex.place(market, sized, look_first=resume, deadline=deadline)
        result = ex.result(sent.raw, sized, market)
        results.append(result)
        fill = fill_from_order(sent.raw, result, market, ex.now())
        if fill is not None:
            fills.append(fill)
    cancelled: list[OrderResult] = []
    if plan.cancel_prefix and todo:  # after the closes: a refused one leaves the legs
        one_side = plan.hedge_closes[0].side if len(plan.hedge_closes) == 1 else None
        cancelled = await cancel_own_orders(ex, market, plan.cancel_prefix, side=one_side)
    if not results:
        sides = " or ".join(sorted({"long" if leg.side == "sell" else "short" for leg in todo}))
        raise InvalidOrder(f"nothing to close on {market.symbol}: no {sides} position (hedge mode)")
    return ExecutionReport(
        plan=plan,
        entry=results[0],
        legs=tuple(results[1:]),
        cancelled=tuple(cancelled),
        recovered=found > 0,
        fills=tuple(fills),
    )
