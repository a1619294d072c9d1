"""Protective legs after a filled entry: separate orders, or one OCO list; then checked.

Called by :meth:`LiveExchange.execute` once the entry filled, with the amount the legs may
sell (the fill minus a fee taken in the base currency): take-profit targets share it out
(``exits.size_legs``). A leg that cannot be placed never undoes the entry: it is reported as
a :class:`LegFailure` (the answer stays ``executed``). Every order goes through the account's
order protocol (:class:`~.sender.OrderSender`: at most once, resent only when proven absent,
until the execution deadline), and on a resumed signal each is looked up by client order id
first. A trailing stop that is a setting of the position (Bybit's trading-stop, no client
order id) is set idempotently instead (sending it twice sets the same value).

Then every placed leg is checked at the venue (docs/trading.md#several-exits): listed among
the account's open orders on the symbol (by client order id; Bybit's trailing stop by its
``stopOrderType``), else looked up by client order id (a leg that already executed counts as
placed). A leg missing there is a :class:`LegFailure` ``protection_missing``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fks_executor.domain import OrderResult
from fks_executor.errors import ExecutorError
from fks_executor.exchange.base import LegFailure
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.closing import list_open_orders
from fks_executor.exchange.errors import Operation
from fks_executor.exchange.exits import size_legs
from fks_executor.exchange.markets import MarketInfo, amount_to_precision, check_limits
from fks_executor.exchange.oco import oco_request, split_reports
from fks_executor.exchange.plan import OrderLeg, OrderPlan

if TYPE_CHECKING:
    from fks_executor.exchange.live import LiveExchange

__all__ = [
    "leg_amount_after_fill",
    "place_oco",
    "protect_separately",
    "protect_with_oco",
    "verify_legs",
]

log = logging.getLogger(__name__)

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
    sized_legs, too_small = size_legs(market, plan.protective, amount)
    failures = [LegFailure(leg.leg.value, exc.reason, exc.detail) for leg, exc in too_small]
    for sized in sized_legs:
        assert sized.amount is not None
        try:
            _check(market, sized, sized.amount)
            if sized.leg is Leg.TRAILING_STOP and ex.venue.quirks.trailing_on_position:
                legs.append(await _set_position_trailing(ex, market, sized))
                continue
            sent = await ex.place(
                market, sized, look_first=resume, attempted_at=attempted_at, deadline=deadline
            )
        except ExecutorError as exc:
            failures.append(LegFailure(sized.leg.value, exc.reason, exc.detail))
            continue
        legs.append(ex.result(sent.raw, sized, market))
    return await verify_legs(ex, market, plan, legs, failures)


async def _set_position_trailing(
    ex: LiveExchange, market: MarketInfo, leg: OrderLeg
) -> OrderResult:
    """The position's trailing stop (Bybit trading-stop): idempotent, so retried like a read;
    its answer carries no order, :func:`verify_legs` finds it."""
    params = leg.ccxt_params()

    async def create() -> Any:
        api = ex.api
        return await api.create_order(market.symbol, "market", leg.side, leg.amount, None, params)

    await ex.venue.call(Operation.ORDER, create)
    return ex.result({}, leg, market)


async def verify_legs(
    ex: LiveExchange,
    market: MarketInfo,
    plan: OrderPlan,
    legs: list[OrderResult],
    failures: list[LegFailure],
) -> Legs:
    """Keep the placed legs found at the venue; a missing one becomes a failure. A check
    that cannot be made (the venue does not answer) trusts the placement's answer."""
    if all(order.status == "closed" for order in legs):  # none, or all executed already
        return legs, failures
    try:
        listed = [raw for raw, _ in await list_open_orders(ex, market)]
    except ExecutorError as exc:
        log.warning("protection on %s not checked at the venue: %s", market.symbol, exc.detail)
        return legs, failures
    open_ids = {str(raw.get("clientOrderId") or "") for raw in listed}
    trailing_set = any(
        (raw.get("info") or {}).get("stopOrderType") == "TrailingStop" for raw in listed
    )
    planned = {leg.client_order_id: leg for leg in plan.protective}
    kept: list[OrderResult] = []
    for order in legs:
        leg = planned.get(order.client_order_id)
        if leg is None or order.status == "closed" or order.client_order_id in open_ids:
            kept.append(order)
            continue
        if leg.leg is Leg.TRAILING_STOP and ex.venue.quirks.trailing_on_position:
            found = trailing_set
        else:
            try:
                again = await ex.find_order(market.symbol, leg)
            except ExecutorError as exc:
                log.warning("leg %s not checked: %s", order.client_order_id, exc.detail)
                kept.append(order)
                continue
            found = again is not None and again.status in ("open", "closed")
        if found:
            kept.append(order)
        else:
            failures.append(
                LegFailure(
                    leg.leg.value,
                    "protection_missing",
                    "placed, but not found at the venue when checked after the entry filled",
                )
            )
    return kept, failures


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
    return await verify_legs(ex, market, plan, legs, [])


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


def leg_amount_after_fill(market: MarketInfo, filled: float, fee_in_base: float = 0.0) -> float:
    """Amount for protective legs once the entry filled ``filled`` (minus a fee paid in base).

    On spot, Binance takes the fee from the asset received unless it is paid in BNB; a stop for
    the full ordered amount would then exceed the balance and be refused.
    """
    return amount_to_precision(market, max(0.0, filled - fee_in_base))
