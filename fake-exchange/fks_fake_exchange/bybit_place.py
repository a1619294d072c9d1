"""Placing and amending orders on the Bybit unified account (:mod:`bybit_account`).

Every check Bybit makes is made here first, with Bybit's retCodes (:mod:`bybit_orders`), then
the shared engine places the order: a spot order (a conditional one is an engine stop order that
waits for its trigger), a linear order, or a linear conditional order (the futures engine's algo
order). An engine refusal left over is translated by :func:`bybit_errors.from_engine`.
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange.bybit_account import IDX_SIDE, BybitAccount, BybitOrder
from fks_fake_exchange.bybit_errors import BybitError, from_engine
from fks_fake_exchange.bybit_orders import (
    NewBybitOrder,
    check_linear,
    check_spot,
    check_tpsl,
    check_trigger,
)
from fks_fake_exchange.decimals import ZERO, floor_to_step
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures_records import FuturesOrder, NewAlgoOrder, NewFuturesOrder
from fks_fake_exchange.orders import NewOrder, Side, SpotOrder

# (trigger direction, side) -> the shared engines' stop kind: a buy that triggers on a rise is
# a stop, a sell that triggers on a rise a take-profit, and the other way round on a fall
_SPOT_STOP = {
    (1, "Buy"): "STOP_LOSS",
    (1, "Sell"): "TAKE_PROFIT",
    (2, "Buy"): "TAKE_PROFIT",
    (2, "Sell"): "STOP_LOSS",
}
_LINEAR_ALGO = {
    (1, "Buy"): "STOP",
    (1, "Sell"): "TAKE_PROFIT",
    (2, "Buy"): "TAKE_PROFIT",
    (2, "Sell"): "STOP",
}


def place(account: BybitAccount, new: NewBybitOrder) -> BybitOrder:
    if new.link_id and new.link_id in account.link_ids:
        raise be.duplicate_link_id()
    if new.category == "spot":
        return _place_spot(account, new)
    account.position_side(new.market.symbol, new.position_idx)  # 10001 if not the mode's
    if new.trigger_price is not None:
        return _place_conditional(account, new)
    return _place_linear(account, new)


def _place_spot(account: BybitAccount, new: NewBybitOrder) -> BybitOrder:
    market = new.market
    last = account.futures.price_of(market.symbol)
    check_spot(new, last)
    direction = check_trigger(new, last) if new.trigger_price is not None else 0
    if new.price is not None and (new.take_profit is not None or new.stop_loss is not None):
        check_tpsl(market, new.side, new.price, new.take_profit, new.stop_loss)
    if new.side == "Buy":
        reference = new.price or new.trigger_price or last
        need = new.qty if new.market_unit == "quoteCoin" else new.qty * reference
        free = account.spot.balance(market.quote).free - account.futures_reserved(market.quote)
        if need > free:
            raise BybitError(be.SPOT_BALANCE, "Insufficient balance.")
    tif: str | None = None
    if direction:
        engine_type = _SPOT_STOP[(direction, new.side)] + ("" if new.is_market else "_LIMIT")
        tif = None if new.is_market else "GTC"
    elif new.is_market:
        engine_type = "MARKET"
    elif new.time_in_force == "PostOnly":
        engine_type = "LIMIT_MAKER"
    else:
        engine_type, tif = "LIMIT", new.time_in_force
    quote_qty = new.qty if new.market_unit == "quoteCoin" else None
    request = NewOrder(
        market=market,
        side="BUY" if new.side == "Buy" else "SELL",
        type=engine_type,
        time_in_force=tif,
        quantity=None if quote_qty is not None else new.qty,
        quote_order_qty=quote_qty,
        price=new.price,
        stop_price=new.trigger_price,
        client_order_id=account.internal_id(),
        resp_type="ACK",
    )
    try:
        placed = account.spot.place(request)
    except ApiError as error:
        raise from_engine(error, "spot") from None
    order = account.record(
        BybitOrder(
            order_id=str(placed.order_id),
            category="spot",
            symbol=market.symbol,
            engine_id=placed.order_id,
            link_id=new.link_id,
            time_in_force=new.time_in_force,
            market_unit=new.market_unit,
            stop_order_type={"StopOrder": "Stop", "tpslOrder": "tpslOrder"}.get(
                new.order_filter, ""
            ),
            trigger_price=new.trigger_price or Decimal(0),
            trigger_direction=direction,
            take_profit=new.take_profit,
            stop_loss=new.stop_loss,
            tpsl_pending=new.take_profit is not None or new.stop_loss is not None,
        )
    )
    _protect_spot(account, market.symbol)
    return order


def _place_linear(account: BybitAccount, new: NewBybitOrder) -> BybitOrder:
    market = new.market
    last = account.futures.price_of(market.symbol)
    check_linear(new, last)
    if new.take_profit is not None or new.stop_loss is not None:
        base = new.price if new.price is not None else last
        check_tpsl(market, new.side, base, new.take_profit, new.stop_loss)
    if new.time_in_force == "PostOnly" and new.price is not None:
        crosses = last <= new.price if new.side == "Buy" else last >= new.price
        if crosses:
            raise be.params_error("PostOnly order would take liquidity")
    request = NewFuturesOrder(
        market=market,
        side=new.engine_side,
        type="MARKET" if new.is_market else "LIMIT",
        quantity=new.qty,
        price=new.price,
        time_in_force="GTC" if new.time_in_force == "PostOnly" else new.time_in_force,
        reduce_only=new.reduce_only,
        client_order_id=account.internal_id(),
        position_side=IDX_SIDE[new.position_idx],
    )
    try:
        placed = account.futures.place(request)
    except ApiError as error:
        raise from_engine(error, "linear") from None
    order = account.record(
        BybitOrder(
            order_id=str(uuid.uuid4()),
            category="linear",
            symbol=market.symbol,
            engine_id=placed.order_id,
            link_id=new.link_id,
            time_in_force=new.time_in_force,
            take_profit=new.take_profit,
            stop_loss=new.stop_loss,
            tpsl_pending=new.take_profit is not None or new.stop_loss is not None,
            position_idx=new.position_idx,
        )
    )
    account.settle(market.symbol)
    return order


def _place_conditional(account: BybitAccount, new: NewBybitOrder) -> BybitOrder:
    """A linear conditional order: nothing is held until it triggers, then it is placed (and
    may be refused then: it ends Deactivated)."""
    market = new.market
    last = account.futures.price_of(market.symbol)
    check_linear(new, last)
    assert new.trigger_price is not None
    kind = _LINEAR_ALGO[(new.trigger_direction, new.side)]
    request = NewAlgoOrder(
        market=market,
        side=new.engine_side,
        type=f"{kind}_MARKET" if new.is_market else kind,
        quantity=new.qty,
        trigger_price=new.trigger_price,
        price=new.price,
        time_in_force="GTC",
        reduce_only=new.reduce_only,
        close_position=False,
        client_algo_id=account.internal_id(),
        working_type="CONTRACT_PRICE",
        position_side=IDX_SIDE[new.position_idx],
    )
    try:
        algo = account.futures.place_algo(request)
    except ApiError as error:
        raise from_engine(error, "linear") from None
    return account.record(
        BybitOrder(
            order_id=str(uuid.uuid4()),
            category="linear",
            symbol=market.symbol,
            engine_id=None,
            link_id=new.link_id,
            time_in_force=new.time_in_force,
            stop_order_type="Stop",
            trigger_price=new.trigger_price,
            trigger_direction=new.trigger_direction,
            algo_id=algo.algo_id,
            position_idx=new.position_idx,
        )
    )


def on_price(account: BybitAccount, symbol: str) -> None:
    """After a price move (the engines have reacted): linear TP/SL, spot TP/SL orders."""
    account.on_price(symbol)
    if symbol in account.spot.markets:
        _protect_spot(account, symbol)


def _protect_spot(account: BybitAccount, symbol: str) -> None:
    """A filled spot limit order with an attached take-profit / stop-loss gets them as
    ``tpslOrder`` orders for what it bought (or sold): two of them share one balance lock and
    the first to execute cancels the other, as an OCO does."""
    for order in list(account.orders.values()):
        if order.category != "spot" or not order.tpsl_pending or order.symbol != symbol:
            continue
        assert order.engine_id is not None
        entry = account.spot.orders[order.engine_id]
        if entry.is_open:
            continue
        order.tpsl_pending = False
        if entry.status == "FILLED":
            _place_spot_protection(account, order, entry)


def _place_spot_protection(account: BybitAccount, order: BybitOrder, entry: SpotOrder) -> None:
    market = account.spot.markets[order.symbol]
    fee_in_base = sum(
        (f.commission for f in entry.fills if f.commission_asset == market.base), ZERO
    )
    qty = floor_to_step(entry.executed_qty - fee_in_base, market.step_size)
    side: Side = "SELL" if entry.side == "BUY" else "BUY"

    def leg(kind: str, stop: Decimal) -> NewOrder:
        return NewOrder(
            market=market,
            side=side,
            type=kind,
            time_in_force=None,
            quantity=qty,
            quote_order_qty=None,
            price=None,
            stop_price=stop,
            client_order_id=account.internal_id(),
            resp_type="ACK",
        )

    legs = [leg("TAKE_PROFIT", order.take_profit)] if order.take_profit else []
    legs += [leg("STOP_LOSS", order.stop_loss)] if order.stop_loss else []
    try:
        if len(legs) == 2:
            above, below = sorted(legs, key=lambda n: n.stop_price or ZERO, reverse=True)
            placed = account.spot.list_orders(account.spot.place_oco(above, below, None))
        else:
            placed = [account.spot.place(legs[0])]
    except ApiError:
        return  # the coins are no longer there (or below the filters): no TP/SL, as on Bybit
    last = account.futures.price_of(order.symbol)
    for p in placed:
        account.record(
            BybitOrder(
                order_id=str(p.order_id),
                category="spot",
                symbol=order.symbol,
                engine_id=p.order_id,
                link_id="",
                time_in_force="GTC",
                stop_order_type="tpslOrder",
                trigger_price=p.stop_price,
                trigger_direction=1 if p.stop_price > last else 2,
            )
        )


def amend(
    account: BybitAccount,
    order: BybitOrder,
    qty: Decimal | None,
    price: Decimal | None,
    take_profit: Decimal | None,
    stop_loss: Decimal | None,
) -> None:
    """Change an open order: a new quantity or price replaces it in the engine (same ids),
    after the new order is checked; attached take-profit / stop-loss ("0" clears). An amend
    the account cannot afford leaves the order as it was."""
    current = account.engine_order(order)
    if not account.is_open(order):
        raise BybitError(be.ORDER_FINISHED, "order not exists or too late to replace")
    if current is None or order.trigger_price:
        raise be.not_supported("amending conditional orders (cancel and place again)")
    if order.category == "linear":
        order.take_profit = _amended(order.take_profit, take_profit)
        order.stop_loss = _amended(order.stop_loss, stop_loss)
        order.tpsl_pending = order.take_profit is not None or order.stop_loss is not None
    if qty is None and price is None:
        return
    engines = account.spot if order.category == "spot" else account.futures
    new = NewBybitOrder(
        category=order.category,
        market=engines.markets[order.symbol],
        side="Buy" if current.side == "BUY" else "Sell",
        order_type="Limit",
        qty=qty if qty is not None else current.orig_qty,
        price=price if price is not None else current.price,
        time_in_force=order.time_in_force,
        link_id="",
        market_unit="",
        reduce_only=isinstance(current, FuturesOrder) and current.reduce_only,
        take_profit=order.take_profit,
        stop_loss=order.stop_loss,
        position_idx=order.position_idx,
    )
    last = account.futures.price_of(order.symbol)
    if new.category == "spot":
        check_spot(new, last)
    else:
        check_linear(new, last)
    account.cancel(order)
    order.cancel_type = "UNKNOWN"
    try:
        replacement = place(account, new)
    except BybitError:
        old = dataclasses.replace(new, qty=current.orig_qty, price=current.price)
        _adopt(account, order, place(account, old))
        raise
    _adopt(account, order, replacement)


def _adopt(account: BybitAccount, order: BybitOrder, replacement: BybitOrder) -> None:
    """``order`` (amended) continues as ``replacement``'s engine order, with its own ids."""
    del account.orders[replacement.order_id]
    assert replacement.engine_id is not None
    account.by_engine[(order.category, replacement.engine_id)] = order
    order.engine_id = replacement.engine_id
    order.tpsl_pending = replacement.tpsl_pending
    account.settle(order.symbol)


def _amended(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    if new is None:
        return old
    return None if new == 0 else new
