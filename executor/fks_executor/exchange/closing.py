"""``close``: flatten the position and cancel this pipeline's own open orders on the symbol.

Spot (and margin) cancels first (a resting sell locks the coins), then sells the whole free
base balance; contracts send a reduce-only order opposite the open position first and cancel
the orders only once it was accepted, so a refused close leaves the protective legs in place
(docs/trading.md#when-a-protection-fails); with no position, the orders are cancelled and the
close refused. A resumed close first looks its order up by client order id (and,
when absent, again once a request of the earlier attempt can no longer land) before anything
is cancelled or sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ccxt.async_support as ccxt

from fks_executor.domain import OrderResult
from fks_executor.errors import InvalidOrder
from fks_executor.exchange.base import ExecutionReport
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.errors import Operation
from fks_executor.exchange.markets import MarketInfo, amount_to_precision, check_limits
from fks_executor.exchange.orders import fill_from_order, num
from fks_executor.exchange.plan import OrderLeg, OrderPlan
from fks_executor.exchange.quirks import market_kind

if TYPE_CHECKING:
    from fks_executor.exchange.live import LiveExchange

__all__ = ["cancel_own_orders", "close_position", "list_open_orders"]


async def cancel_own_orders(
    ex: LiveExchange, market: MarketInfo, prefix: str, *, side: str | None = None
) -> list[OrderResult]:
    """Cancel this pipeline's open orders on ``market`` (client ids starting ``prefix``; with
    ``side``, only the buys or the sells: one side of a hedge-mode position).

    Where the venue lists conditional (stop/take-profit) orders apart (Binance USD-M's algo
    orders, Bybit spot's TP/SL orders: ``Quirks.conditional_params``), they are listed and
    cancelled with those params too. Cancelling one leg of a spot
    OCO list cancels the list; its other leg then answers "unknown order", which is fine."""
    cancelled: list[OrderResult] = []
    for raw, params in await list_open_orders(ex, market):
        cid = str(raw.get("clientOrderId") or "")
        if cid.startswith(prefix) and side in (None, str(raw.get("side") or "").lower()):
            cancelled.append(await _cancel(ex, market, raw, cid, params))
    return cancelled


async def list_open_orders(
    ex: LiveExchange, market: MarketInfo
) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Every open order of the account on ``market`` (ccxt structures), with the params that
    listed it: plain orders, then the conditional ones where the venue lists them apart."""
    kinds: list[dict[str, Any]] = [{}]
    conditional = ex.venue.quirks.conditional_params.get(market_kind(market.contract))
    if conditional:
        kinds.append(dict(conditional))
    listed: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    for params in kinds:

        async def open_orders(params: dict[str, Any] = params) -> Any:
            return await ex.api.fetch_open_orders(market.symbol, None, None, dict(params))

        listed.extend((raw, params) for raw in await ex.venue.call(Operation.LOOKUP, open_orders))
    return listed


async def _cancel(
    ex: LiveExchange,
    market: MarketInfo,
    raw: Mapping[str, Any],
    cid: str,
    params: dict[str, Any],
) -> OrderResult:
    order_id = str(raw.get("id"))

    async def cancel() -> Any:
        try:
            return await ex.api.cancel_order(order_id, market.symbol, dict(params))
        except ccxt.OrderNotFound:
            return None  # filled or cancelled meanwhile (or with its OCO sibling)

    done = await ex.venue.call(Operation.ORDER, cancel)  # idempotent, so retried
    leg = OrderLeg(
        Leg.ENTRY,
        cid,
        str(raw.get("side") or ""),
        str(raw.get("type") or ""),
        num(raw.get("amount")),
    )
    result = ex.result(done if isinstance(done, Mapping) else raw, leg, market)
    # Binance answers a cancel with the *cancel request's* clientOrderId: keep ours.
    suffix = cid[-3:]
    kind = {"-sl": "stop_loss", "-tp": "take_profit", "-ts": "trailing_stop"}.get(suffix)
    if kind is None:
        kind = "take_profit" if suffix[:2] == "-t" else str(raw.get("type") or "")
    return dataclasses.replace(result, client_order_id=cid, type=kind, status="canceled")


async def close_position(
    ex: LiveExchange,
    plan: OrderPlan,
    market: MarketInfo,
    *,
    resume: bool,
    attempted_at: float | None,
    deadline: float | None = None,
) -> ExecutionReport:
    if resume:
        raw = await ex.venue.call(
            Operation.LOOKUP,
            lambda: ex.sender.settled_lookup(market, plan.entry, attempted_at, cause=None),
            retry=False,
        )
        if raw is not None:
            closed = ex.result(raw, plan.entry, market)
            fill = fill_from_order(raw, closed, market, ex.now())
            return ExecutionReport(
                plan=plan, entry=closed, recovered=True, fills=(fill,) if fill else ()
            )
    cancelled: list[OrderResult] = []
    if not market.contract and plan.cancel_prefix:  # resting spot sells lock the coins
        cancelled = await cancel_own_orders(ex, market, plan.cancel_prefix)
    if market.contract:
        position = await ex.fetch_position(market.symbol)
        side = "sell" if position > 0 else "buy"
        held = abs(position) / market.contract_size
    else:
        side = "sell"
        held = await ex.fetch_free_balance(market.base)
        if plan.entry.amount is not None:  # at most this much (target-position on spot)
            held = min(held, plan.entry.amount)
    if held <= 0:
        if market.contract and plan.cancel_prefix:  # flat: this pipeline's legs are orphans
            await cancel_own_orders(ex, market, plan.cancel_prefix)
        nothing = "no open position" if market.contract else f"the free {market.base} balance is 0"
        raise InvalidOrder(f"nothing to close on {market.symbol}: {nothing}")
    amount = amount_to_precision(market, held)
    check_limits(market, amount, plan.entry.price or plan.reference_price, what="close")
    leg = dataclasses.replace(plan.entry, side=side, amount=amount)
    sent = await ex.place(market, leg, look_first=False, deadline=deadline)
    closed = ex.result(sent.raw, leg, market)
    if market.contract and plan.cancel_prefix:  # only once the close was accepted
        cancelled = await cancel_own_orders(ex, market, plan.cancel_prefix)
    fill = fill_from_order(sent.raw, closed, market, ex.now())
    return ExecutionReport(
        plan=plan,
        entry=closed,
        cancelled=tuple(cancelled),
        recovered=sent.found,
        fills=(fill,) if fill else (),
    )
