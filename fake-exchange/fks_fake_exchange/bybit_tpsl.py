"""``/v5/position/trading-stop`` on the Bybit unified account: a linear position's take-profit,
stop-loss and trailing stop.

- ``tpslMode`` Full (the default): ``takeProfit`` / ``stopLoss`` close the whole position when
  the last price reaches them (:class:`~fks_fake_exchange.bybit_account.Protection`); a price
  sets one, ``"0"`` cancels it, absent keeps it.
- ``tpslMode`` Partial: each ``takeProfit`` + ``tpSize`` (``stopLoss`` + ``slSize``) is an order
  of its own (``stopOrderType`` PartialTakeProfit / PartialStopLoss, Untriggered) closing that
  size when the last price reaches it; up to 20 per position (110061). Market ones only.
- ``trailingStop`` (a price distance; ``"0"`` cancels) with an optional ``activePrice``: an order
  (``stopOrderType`` TrailingStop) that, once the price reached ``activePrice`` (at once without
  one), follows the best price and closes the whole position when the price comes back by the
  distance. One per position: a new one replaces it.

What belongs to a position goes when it is closed (:meth:`BybitAccount.settle`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange.bybit_account import SIDE_IDX, BybitAccount, BybitOrder, Protection
from fks_fake_exchange.bybit_errors import BybitError, from_engine, invalid, not_supported
from fks_fake_exchange.bybit_orders import check_linear_qty, check_tpsl
from fks_fake_exchange.bybit_params import BybitParams
from fks_fake_exchange.decimals import ZERO, on_grid
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures_records import TRAILING, NewAlgoOrder, Position
from fks_fake_exchange.markets import Market

MAX_PARTIAL = 20
PARTIAL = ("PartialTakeProfit", "PartialStopLoss")


def trading_stop(account: BybitAccount, market: Market, params: BybitParams) -> None:
    symbol = market.symbol
    side = account.position_side(symbol, params.integer("positionIdx") or 0)
    position = account.futures.position(symbol, side)
    if position.qty == 0:
        raise be.params_error("can not set tp/sl/ts for zero position")
    mode = params.text("tpslMode") or "Full"
    if mode not in ("Full", "Partial"):
        raise invalid("tpslMode")
    for name in ("tpOrderType", "slOrderType"):
        if (params.text(name) or "Market") != "Market":
            raise not_supported(f"{name} Limit (Market is)")
    take_profit, stop_loss = params.decimal("takeProfit"), params.decimal("stopLoss")
    trailing = params.decimal("trailingStop")
    if take_profit is None and stop_loss is None and trailing is None:
        raise be.params_error("takeProfit, stopLoss or trailingStop must be set")
    position_side = "Buy" if position.qty > 0 else "Sell"
    last = account.futures.price_of(symbol)
    check_tpsl(market, position_side, last, take_profit or None, stop_loss or None)
    if mode == "Full":
        current = account.protection.get((symbol, side)) or Protection()
        account.protection[(symbol, side)] = Protection(
            take_profit=current.take_profit if take_profit is None else (take_profit or None),
            stop_loss=current.stop_loss if stop_loss is None else (stop_loss or None),
        )
    else:
        legs = [
            (kind, price, params.require_decimal(size))
            for kind, price, size in (
                ("PartialTakeProfit", take_profit, "tpSize"),
                ("PartialStopLoss", stop_loss, "slSize"),
            )
            if price
        ]
        for kind, price, size in legs:
            _partial(account, market, position, kind, price, size)
    if trailing is not None:
        _trailing(account, market, position, trailing, params.decimal("activePrice"))


def position_orders(
    account: BybitAccount, position: Position, kinds: tuple[str, ...]
) -> list[BybitOrder]:
    """The position's open trading-stop orders of these kinds."""
    found = []
    for order in account.orders.values():
        algo = account.algo(order) if order.engine_id is None else None
        if (
            algo is not None
            and algo.is_open
            and order.symbol == position.symbol
            and algo.position_side == position.side
            and order.stop_order_type in kinds
        ):
            found.append(order)
    return found


def _partial(
    account: BybitAccount,
    market: Market,
    position: Position,
    kind: str,
    trigger: Decimal,
    size: Decimal,
) -> None:
    check_linear_qty(market, size, is_market=True)
    if size > abs(position.qty):
        raise be.params_error("tp/sl size can not be larger than the position size")
    if len(position_orders(account, position, PARTIAL)) >= MAX_PARTIAL:
        raise BybitError(110061, "Under partial TP/SL mode, TP/SL set more than 20")
    long = position.qty > 0
    take = kind == "PartialTakeProfit"
    request = _closing(
        account,
        market,
        position,
        order_type="TAKE_PROFIT_MARKET" if take else "STOP_MARKET",
        quantity=size,
        trigger_price=trigger,
    )
    _record(account, request, kind, trigger, 1 if take == long else 2, position)


def _trailing(
    account: BybitAccount,
    market: Market,
    position: Position,
    distance: Decimal,
    active_price: Decimal | None,
) -> None:
    if not on_grid(distance, ZERO, market.tick_size):
        raise invalid("trailingStop")
    for old in position_orders(account, position, ("TrailingStop",)):
        account.cancel(old)
    if distance == 0:
        return
    long = position.qty > 0
    request = _closing(
        account,
        market,
        position,
        order_type=TRAILING,
        quantity=None,
        trigger_price=ZERO,
        callback_distance=distance,
        activation_price=active_price or None,
    )
    _record(account, request, "TrailingStop", active_price or ZERO, 2 if long else 1, position)


def _closing(
    account: BybitAccount,
    market: Market,
    position: Position,
    *,
    order_type: str,
    quantity: Decimal | None,
    trigger_price: Decimal,
    callback_distance: Decimal | None = None,
    activation_price: Decimal | None = None,
) -> NewAlgoOrder:
    """The reduce-only market order a trading stop places against ``position``: ``quantity``
    of it, or (without one) the whole position."""
    return NewAlgoOrder(
        market=market,
        side="SELL" if position.qty > 0 else "BUY",
        type=order_type,
        quantity=quantity,
        trigger_price=trigger_price,
        price=None,
        time_in_force="GTC",
        reduce_only=True,
        close_position=quantity is None,
        client_algo_id=account.internal_id(),
        working_type="CONTRACT_PRICE",
        position_side=position.side,
        callback_distance=callback_distance,
        activation_price=activation_price,
    )


def _record(
    account: BybitAccount,
    request: NewAlgoOrder,
    kind: str,
    trigger: Decimal,
    direction: int,
    position: Position,
) -> None:
    try:
        algo = account.futures.place_algo(request)
    except ApiError as error:
        raise from_engine(error, "linear") from None
    account.record(
        BybitOrder(
            order_id=str(uuid.uuid4()),
            category="linear",
            symbol=position.symbol,
            engine_id=None,
            link_id="",
            time_in_force="GTC",
            create_type=f"CreateBy{kind}",
            stop_order_type=kind,
            trigger_price=trigger,
            trigger_direction=direction,
            algo_id=algo.algo_id,
            position_idx=SIDE_IDX[position.side],
        )
    )
