"""Bybit V5 order requests: ``POST /v5/order/create`` parameters, validated as Bybit does, and the
instrument filters (``lotSizeFilter``, ``priceFilter``) checked with Bybit's retCodes.

The filters are the shared markets' (the same numbers Binance's exchangeInfo shows): spot
``basePrecision`` = step size, ``minOrderQty``/``maxOrderQty``, ``minOrderAmt``/``maxOrderAmt`` =
notional bounds, ``tickSize``; linear ``qtyStep``, ``minOrderQty``/``maxOrderQty``,
``maxMktOrderQty``, ``minNotionalValue``, ``minPrice``/``maxPrice``/``tickSize``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange.bybit_errors import BybitError, Category, invalid, not_supported
from fks_fake_exchange.bybit_params import BybitParams
from fks_fake_exchange.decimals import ZERO, fmt_plain, on_grid
from fks_fake_exchange.markets import Market

SIDES = ("Buy", "Sell")
ORDER_TYPES = ("Market", "Limit")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
LINK_ID_RE = re.compile(r"^[A-Za-z0-9_\-.:/]{1,36}$")
QUOTE_PRECISION = Decimal("0.00000001")


@dataclass(frozen=True)
class NewBybitOrder:
    category: Category
    market: Market
    side: str  # Buy / Sell
    order_type: str  # Market / Limit
    qty: Decimal  # base quantity, or quote amount for a spot market order in quoteCoin
    price: Decimal | None
    time_in_force: str
    link_id: str
    market_unit: str  # spot market orders: baseCoin / quoteCoin; else ""
    reduce_only: bool
    take_profit: Decimal | None
    stop_loss: Decimal | None
    position_idx: int
    trigger_price: Decimal | None = None  # a conditional order
    trigger_direction: int = 0  # 1: triggers when the price rises to it, 2: falls to it
    order_filter: str = "Order"  # spot: Order, StopOrder or tpslOrder

    @property
    def engine_side(self) -> str:
        return self.side.upper()

    @property
    def is_market(self) -> bool:
        return self.order_type == "Market"

    @property
    def reduces(self) -> bool:
        """Reduce-only, or a hedge-mode order closing its side (a Sell of 1, a Buy of 2)."""
        return self.reduce_only or (self.position_idx, self.side) in ((1, "Sell"), (2, "Buy"))


def _choice(params: BybitParams, name: str, allowed: tuple[str, ...], default: str | None) -> str:
    value = params.text(name) or default
    if value is None:
        raise be.missing(name)
    if value not in allowed:
        raise invalid(name)
    return value


def parse_link_id(params: BybitParams) -> str:
    link_id = params.text("orderLinkId") or ""
    if link_id and not LINK_ID_RE.match(link_id):
        raise invalid("orderLinkId")
    return link_id


def parse_new_order(params: BybitParams, market: Market, category: Category) -> NewBybitOrder:
    side = _choice(params, "side", SIDES, None)
    order_type = _choice(params, "orderType", ORDER_TYPES, None)
    qty = params.require_decimal("qty")
    if qty <= 0:
        raise invalid("qty")
    price = params.decimal("price") if order_type == "Limit" else None
    if order_type == "Limit" and (price is None or price <= 0):
        raise be.missing("price")
    tif = _choice(params, "timeInForce", TIME_IN_FORCE, "IOC" if order_type == "Market" else "GTC")
    if order_type == "Market":
        tif = "IOC"  # Bybit fills market orders IOC whatever is sent
    trigger_price = params.decimal("triggerPrice")
    if trigger_price == 0:
        trigger_price = None
    direction = params.integer("triggerDirection") or 0
    order_filter = "Order"
    if category == "spot":
        order_filter = _choice(params, "orderFilter", ("Order", "StopOrder", "tpslOrder"), "Order")
        if (order_filter == "Order") != (trigger_price is None):
            raise be.missing("triggerPrice" if trigger_price is None else "orderFilter")
    if trigger_price is not None and direction not in ((0, 1, 2) if category == "spot" else (1, 2)):
        raise invalid("triggerDirection")
    if params.text("trailingStop") is not None:
        raise not_supported("trailing stops")
    take_profit = params.decimal("takeProfit") or None  # "0": none
    stop_loss = params.decimal("stopLoss") or None
    market_unit = ""
    position_idx = params.integer("positionIdx") or 0
    attached = take_profit is not None or stop_loss is not None
    if trigger_price is not None and attached:
        raise not_supported("take-profit/stop-loss attached to conditional orders")
    if category == "spot":
        if attached and order_type == "Market":
            raise be.params_error("take-profit/stop-loss are for spot limit orders only")
        for name in ("tpOrderType", "slOrderType"):
            if (params.text(name) or "Market") != "Market":
                raise not_supported(f"{name} Limit (Market is)")
        if order_type == "Market":
            default_unit = "quoteCoin" if side == "Buy" else "baseCoin"
            market_unit = _choice(params, "marketUnit", ("baseCoin", "quoteCoin"), default_unit)
    elif (params.text("tpslMode") or "Full") != "Full":
        raise not_supported("tpslMode Partial (Full is)")
    return NewBybitOrder(
        category=category,
        market=market,
        side=side,
        order_type=order_type,
        qty=qty,
        price=price,
        time_in_force=tif,
        link_id=parse_link_id(params),
        market_unit=market_unit,
        reduce_only=params.boolean("reduceOnly") if category == "linear" else False,
        take_profit=take_profit,
        stop_loss=stop_loss,
        position_idx=position_idx,
        trigger_price=trigger_price,
        trigger_direction=direction,
        order_filter=order_filter,
    )


# --- filters ----------------------------------------------------------------------------------


def check_spot_price(market: Market, price: Decimal) -> None:
    if not on_grid(price, ZERO, market.tick_size):
        raise BybitError(be.SPOT_PRICE_DECIMALS, "Order price decimal too long.")
    if price > market.max_price:
        raise BybitError(be.SPOT_PRICE_TOO_HIGH, "Order price too high.")
    if price < market.min_price:
        raise BybitError(be.SPOT_PRICE_TOO_LOW, "Order price lower than the minimum.")


def _spot_value(market: Market, value: Decimal) -> None:
    if value < market.min_notional:
        raise BybitError(be.SPOT_VALUE_TOO_LOW, "Order value exceeded lower limit.")
    if value > market.max_notional:
        raise BybitError(be.SPOT_AMOUNT_TOO_LARGE, "Order amount too large.")


def check_spot_qty(market: Market, qty: Decimal, price: Decimal) -> None:
    """A base quantity at ``price`` (the limit price, or the last price for a market order)."""
    if not on_grid(qty, ZERO, market.step_size):
        raise BybitError(be.SPOT_QTY_DECIMALS, "Order volume decimal too long")
    if qty < market.min_qty:
        raise BybitError(be.SPOT_QTY_TOO_SMALL, "Order quantity lower than the minimum.")
    if qty > market.max_qty:
        raise BybitError(be.SPOT_QTY_TOO_LARGE, "Order quantity too large.")
    _spot_value(market, qty * price)


def check_trigger(new: NewBybitOrder, last: Decimal) -> int:
    """A conditional order's trigger: on the tick grid and not reached yet in its direction
    (110092 / 110093); returns the direction (a spot order's inferred when not given)."""
    trigger = new.trigger_price
    assert trigger is not None
    if not on_grid(trigger, ZERO, new.market.tick_size):
        raise invalid("triggerPrice")
    direction = new.trigger_direction or (1 if trigger > last else 2)
    if direction == 1 and trigger <= last:
        raise BybitError(be.EXPECT_RISING, "expect Rising, but trigger_price <= current")
    if direction == 2 and trigger >= last:
        raise BybitError(be.EXPECT_FALLING, "expect Falling, but trigger_price >= current")
    return direction


def check_spot(new: NewBybitOrder, last: Decimal) -> None:
    market = new.market
    if new.price is not None:
        check_spot_price(market, new.price)
    if new.trigger_price is not None:
        check_trigger(new, last)
        if new.market_unit == "quoteCoin":
            raise not_supported("conditional spot market buys in quoteCoin (use baseCoin)")
        last = new.trigger_price
    if new.market_unit == "quoteCoin":
        if not on_grid(new.qty, ZERO, QUOTE_PRECISION):
            raise BybitError(be.SPOT_MARKET_AMOUNT_DECIMALS, "Market order amount decimal too long")
        _spot_value(market, new.qty)
        return
    check_spot_qty(market, new.qty, new.price if new.price is not None else last)


def check_linear_price(market: Market, price: Decimal, name: str = "price") -> None:
    if not on_grid(price, ZERO, market.tick_size):
        raise invalid(name)
    if price < market.min_price or price > market.max_price:
        raise BybitError(110003, "Order price is out of permissible range")


def check_linear(new: NewBybitOrder, last: Decimal) -> None:
    market = new.market
    if new.price is not None:
        check_linear_price(market, new.price)
    if new.trigger_price is not None:
        check_trigger(new, last)
        last = new.trigger_price
    check_linear_qty(market, new.qty, new.is_market)
    if not new.reduces:
        value = new.qty * (new.price if new.price is not None else last)
        if value < market.min_notional:
            raise BybitError(
                be.ORDER_VALUE_TOO_LOW,
                f"The order value must be at least {fmt_plain(market.min_notional)} "
                f"{market.quote} (unless reduce-only)",
            )


def check_linear_qty(market: Market, qty: Decimal, is_market: bool) -> None:
    if not on_grid(qty, ZERO, market.step_size):
        raise BybitError(be.PARAMS_ERROR, "Qty invalid: not a multiple of qtyStep")
    if qty < market.min_qty:
        raise BybitError(be.PARAMS_ERROR, "The number of contracts exceeds minimum limit allowed")
    if qty > (market.market_max_qty if is_market else market.max_qty):
        raise BybitError(
            be.PARAMS_ERROR, "The number of contracts exceeds maximum limit allowed: too large"
        )


def check_tpsl(
    market: Market, side: str, base: Decimal, take_profit: Decimal | None, stop_loss: Decimal | None
) -> None:
    """A long (Buy) position's take-profit must be above ``base`` and its stop-loss below it; a
    short's the other way round (Bybit checks against the order price or the last price)."""
    long = side == "Buy"
    if take_profit is not None:
        check_linear_price(market, take_profit, "takeProfit")
        if (take_profit <= base) if long else (take_profit >= base):
            word = "higher" if long else "lower"
            raise BybitError(
                be.PARAMS_ERROR,
                f"TakeProfit set for {side} position should be {word} than base_price",
            )
    if stop_loss is not None:
        check_linear_price(market, stop_loss, "stopLoss")
        if (stop_loss >= base) if long else (stop_loss <= base):
            word = "lower" if long else "higher"
            raise BybitError(
                be.PARAMS_ERROR,
                f"StopLoss set for {side} position should be {word} than base_price",
            )
