"""Spot OCO order lists (Binance ``POST /api/v3/orderList/oco``): request and answer. Pure.

Binance spot locks the quantity of every resting sell order, so a stop-loss and a
take-profit for the full position cannot rest as two separate orders (the second is refused
for insufficient balance). An OCO ("one cancels the other") list pairs them under one lock:
when one executes, the exchange expires the other. ccxt 4.5 has no unified call for it, so the
list goes through ccxt's implicit API (``private_post_orderlist_oco``), which still signs,
sends and maps errors the usual way.

The list has an *above* leg (higher trigger) and a *below* leg: protecting a long (legs sell)
the take-profit is above and the stop-loss below; protecting a short (legs buy) the other way
round. Each leg keeps its own client order id (``-sl``/``-tp``), so each can be looked up
like any order; the list's own id ends ``-oc``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.plan import OrderLeg

__all__ = ["oco_request", "split_reports"]

_TYPES = {
    (Leg.STOP_LOSS, "market"): "STOP_LOSS",
    (Leg.STOP_LOSS, "limit"): "STOP_LOSS_LIMIT",
    (Leg.TAKE_PROFIT, "market"): "TAKE_PROFIT",
    (Leg.TAKE_PROFIT, "limit"): "TAKE_PROFIT_LIMIT",
}


def _leg_params(prefix: str, leg: OrderLeg, price_text: Callable[[float], str]) -> dict[str, str]:
    params = {
        f"{prefix}Type": _TYPES[(leg.leg, leg.type)],
        f"{prefix}ClientOrderId": leg.client_order_id,
    }
    if leg.trigger_price is not None:
        params[f"{prefix}StopPrice"] = price_text(leg.trigger_price)
    if leg.type == "limit" and leg.price is not None:
        params[f"{prefix}Price"] = price_text(leg.price)
        params[f"{prefix}TimeInForce"] = "GTC"
    return params


def oco_request(
    market: MarketInfo,
    stop_loss: OrderLeg,
    take_profit: OrderLeg,
    list_client_order_id: str,
    *,
    amount_text: Callable[[float], str],
    price_text: Callable[[float], str],
) -> dict[str, str]:
    """The form parameters of ``POST /api/v3/orderList/oco`` for one stop-loss/take-profit
    pair (same side, same amount). ``amount_text``/``price_text`` format numbers the way the
    exchange wants them (ccxt's ``amount_to_precision``/``price_to_precision``)."""
    if stop_loss.side != take_profit.side or stop_loss.amount != take_profit.amount:
        raise ValueError("OCO legs must have the same side and amount")
    assert stop_loss.amount is not None
    above, below = (
        (take_profit, stop_loss) if stop_loss.side == "sell" else (stop_loss, take_profit)
    )
    return {
        "symbol": market.id,
        "side": stop_loss.side.upper(),
        "quantity": amount_text(stop_loss.amount),
        "listClientOrderId": list_client_order_id,
        "newOrderRespType": "FULL",
        **_leg_params("above", above, price_text),
        **_leg_params("below", below, price_text),
    }


def split_reports(
    answer: Mapping[str, Any], legs: Sequence[OrderLeg]
) -> dict[str, Mapping[str, Any]]:
    """The raw order report of each leg in an OCO answer, by the leg's client order id."""
    reports = answer.get("orderReports") or answer.get("orders") or []
    wanted = {leg.client_order_id for leg in legs}
    out: dict[str, Mapping[str, Any]] = {}
    for report in reports:
        if isinstance(report, Mapping):
            cid = str(report.get("clientOrderId") or "")
            if cid in wanted:
                out[cid] = report
    return out
