"""Stop-loss and take-profit legs after a filled entry: separate orders, or one OCO list.

Called by :meth:`LiveExchange.execute` once the entry filled, with the amount the legs may
sell (the fill minus a fee taken in the base currency). A leg that cannot be placed never
undoes the entry: it is reported as a :class:`LegFailure` (the answer stays ``executed``).
Every order goes through the account's order protocol (:class:`~.sender.OrderSender`: at most
once, resent only when proven absent, until the execution deadline), and on a resumed signal
each is looked up by client order id first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fks_executor.domain import OrderResult
from fks_executor.errors import ExecutorError
from fks_executor.exchange.base import LegFailure
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.markets import MarketInfo, check_limits
from fks_executor.exchange.oco import oco_request, split_reports
from fks_executor.exchange.plan import OrderLeg, OrderPlan

if TYPE_CHECKING:
    from fks_executor.exchange.live import LiveExchange

__all__ = ["place_oco", "protect_separately", "protect_with_oco"]

Legs = tuple[list[OrderResult], list[LegFailure]]


def _check(market: MarketInfo, leg: OrderLeg, amount: float) -> None:
    check_limits(market, amount, leg.price or leg.trigger_price or 0.0, what=leg.kind)


async def protect_separately(
    ex: LiveExchange,
    market: MarketInfo,
    plan: OrderPlan,
    amount: float,
    *,
    resume: bool,
    attempted_at: float | None,
    deadline: float | None = None,
) -> Legs:
    """One conditional order per leg, stop-loss first (protection before profit)."""
    legs: list[OrderResult] = []
    failures: list[LegFailure] = []
    for leg in plan.protective:
        sized = dataclasses.replace(leg, amount=amount)
        try:
            _check(market, leg, amount)
            sent = await ex.place(
                market, sized, look_first=resume, attempted_at=attempted_at, deadline=deadline
            )
        except ExecutorError as exc:
            failures.append(LegFailure(leg.leg.value, exc.reason, exc.detail))
            continue
        legs.append(ex.result(sent.raw, sized, market))
    return legs, failures


async def protect_with_oco(
    ex: LiveExchange,
    market: MarketInfo,
    plan: OrderPlan,
    amount: float,
    *,
    resume: bool,
    attempted_at: float | None,
    deadline: float | None = None,
) -> Legs:
    """Both legs as one OCO list (one request, one balance lock)."""
    first, second = (dataclasses.replace(leg, amount=amount) for leg in plan.protective)
    try:
        for leg in (first, second):
            _check(market, leg, amount)
        legs = await place_oco(
            ex,
            market,
            plan,
            (first, second),
            look_first=resume,
            attempted_at=attempted_at,
            deadline=deadline,
        )
    except ExecutorError as exc:
        return [], [LegFailure(leg.leg.value, exc.reason, exc.detail) for leg in (first, second)]
    return legs, []


async def place_oco(
    ex: LiveExchange,
    market: MarketInfo,
    plan: OrderPlan,
    legs: tuple[OrderLeg, OrderLeg],
    *,
    look_first: bool,
    attempted_at: float | None,
    deadline: float | None = None,
) -> list[OrderResult]:
    """Send the OCO list at most once; returns the [stop-loss, take-profit] orders.

    Its stop-loss leg's client order id tells whether it exists (the legs of a list are
    orders the exchange can look up one by one)."""
    stop_loss, take_profit = sorted(legs, key=lambda leg: leg.leg is not Leg.STOP_LOSS)
    assert plan.oco_list_id is not None
    api = ex.api
    request = oco_request(
        market,
        stop_loss,
        take_profit,
        plan.oco_list_id,
        amount_text=lambda x: str(api.amount_to_precision(market.symbol, x)),
        price_text=lambda x: str(api.price_to_precision(market.symbol, x)),
    )

    async def send() -> Any:
        return await api.private_post_orderlist_oco(request)

    sent = await ex.sender.send(
        market,
        stop_loss,
        send,
        look_first=look_first,
        attempted_at=attempted_at,
        deadline=deadline,
    )
    raw = sent.raw
    if sent.found:  # the list exists (its stop-loss was found): look the take-profit up too
        sl = ex.result(raw, stop_loss, market)
        tp = await ex.find_order(market.symbol, take_profit)
        if tp is None:
            tp = dataclasses.replace(
                sl, id="", client_order_id=take_profit.client_order_id, type=take_profit.kind
            )
        return [sl, tp]
    reports = split_reports(raw if isinstance(raw, Mapping) else {}, legs)
    ccxt_market = api.market(market.symbol)
    results: list[OrderResult] = []
    for leg in (stop_loss, take_profit):
        report = reports.get(leg.client_order_id)
        parsed = api.parse_order(report, ccxt_market) if report else {}
        results.append(ex.result(parsed, leg, market))
    return results
