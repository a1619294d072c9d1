"""The USD-M futures engine's records: positions, orders, algo (conditional) orders, fills, the
validated requests, and the pure rules deciding when a resting order fills or a conditional one
triggers (trailing stops included)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fks_fake_exchange import errors
from fks_fake_exchange.decimals import ZERO
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market, check_futures_price, check_futures_qty

OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
TRAILING = "TRAILING_STOP_MARKET"
ALGO_TYPES = frozenset({"STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", TRAILING})
POSITION_SIDES = ("BOTH", "LONG", "SHORT")
HUNDRED = Decimal(100)
BRACKET_1_CAP = Decimal(50_000)  # above 100x: notional up to this (leverage bracket 1)
BRACKET_2_CAP = Decimal(10_000_000)


def max_notional(leverage: int) -> Decimal:
    """The largest position notional a leverage allows (the brackets of /leverageBracket)."""
    return BRACKET_1_CAP if leverage > 100 else BRACKET_2_CAP


@dataclass
class Position:
    symbol: str
    qty: Decimal = ZERO  # signed: > 0 long, < 0 short (a hedge-mode SHORT side is <= 0)
    entry_price: Decimal = ZERO
    update_time: int = 0
    side: str = "BOTH"  # BOTH (one-way mode), LONG or SHORT (hedge mode)


@dataclass
class FuturesFill:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    realized_pnl: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool
    position_side: str = "BOTH"


@dataclass
class FuturesOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    reduce_only: bool
    time: int
    update_time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    stop_price: Decimal = ZERO
    orig_type: str | None = None
    close_position: bool = False
    position_side: str = "BOTH"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO


@dataclass
class Trail:
    """A trailing stop's state: it follows the best price since activation by ``rate`` percent
    (Binance's ``callbackRate``) or by ``distance`` (Bybit's ``trailingStop``)."""

    rate: Decimal | None
    distance: Decimal | None
    activation_price: Decimal | None
    activated: bool = False
    extreme: Decimal = ZERO  # the highest price (a sell) or lowest (a buy) since activation

    def stop_for(self, side: str) -> Decimal:
        """Where it triggers now: below the high for a sell, above the low for a buy."""
        if self.distance is not None:
            return self.extreme - self.distance if side == "SELL" else self.extreme + self.distance
        assert self.rate is not None
        factor = self.rate / HUNDRED
        if side == "SELL":
            return self.extreme * (1 - factor)
        return self.extreme * (1 + factor)

    def on_price(self, side: str, mark: Decimal) -> bool:
        """Follow ``mark``; whether the stop is reached (a sell when the price fell back to it)."""
        if not self.activated:
            start = self.activation_price
            reached = start is None or (mark >= start if side == "SELL" else mark <= start)
            if not reached:
                return False
            self.activated, self.extreme = True, mark
            return False
        if (mark > self.extreme) if side == "SELL" else (mark < self.extreme):
            self.extreme = mark
            return False
        stop = self.stop_for(side)
        return mark <= stop if side == "SELL" else mark >= stop


@dataclass
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    quantity: Decimal
    trigger_price: Decimal
    price: Decimal
    reduce_only: bool
    close_position: bool
    create_time: int
    update_time: int
    working_type: str = "CONTRACT_PRICE"
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None
    position_side: str = "BOTH"
    trail: Trail | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "NEW"


@dataclass(frozen=True)
class NewFuturesOrder:
    market: Market
    side: str
    type: str
    quantity: Decimal
    price: Decimal | None
    time_in_force: str
    reduce_only: bool
    client_order_id: str | None
    position_side: str = "BOTH"


@dataclass(frozen=True)
class NewAlgoOrder:
    market: Market
    side: str
    type: str
    quantity: Decimal | None
    trigger_price: Decimal
    price: Decimal | None
    time_in_force: str
    reduce_only: bool
    close_position: bool
    client_algo_id: str | None
    working_type: str
    position_side: str = "BOTH"
    callback_rate: Decimal | None = None  # TRAILING_STOP_MARKET: percent (Binance)
    callback_distance: Decimal | None = None  # ... or a price distance (Bybit's trailingStop)
    activation_price: Decimal | None = None


def crosses(side: str, limit: Decimal, current: Decimal) -> bool:
    return current <= limit if side == "BUY" else current >= limit


def algo_triggered(order_type: str, side: str, trigger: Decimal, mark: Decimal) -> bool:
    """STOP(_MARKET): buy when the price rises to the trigger, sell when it falls to it;
    TAKE_PROFIT(_MARKET): the other way round."""
    if order_type.startswith("STOP"):
        return mark >= trigger if side == "BUY" else mark <= trigger
    return mark <= trigger if side == "BUY" else mark >= trigger


def closes(position_side: str, side: str) -> bool:
    """A hedge-mode order that closes its side: a SELL of LONG, a BUY of SHORT."""
    return (position_side, side) in (("LONG", "SELL"), ("SHORT", "BUY"))


def check_algo(new: NewAlgoOrder, mark: Decimal) -> Trail | None:
    """A conditional order's checks before it rests (-1116, -4136, -2021, the filters); its
    trailing state when it is a trailing stop."""
    market = new.market
    if new.type not in ALGO_TYPES:
        raise ApiError(-1116, "Invalid orderType.")
    trail = _trail(new, mark) if new.type == TRAILING else None
    if trail is None:
        check_futures_price(market, new.trigger_price)
    if new.price is not None:
        check_futures_price(market, new.price)
    if new.close_position:  # a trailing stop by rate (Binance's) cannot close the position
        if new.quantity is not None or new.callback_rate is not None:
            raise ApiError(
                -4136, f"Target strategy invalid for orderType {new.type},closePosition true"
            )
    else:
        if new.quantity is None:
            raise errors.mandatory("quantity")
        reference = new.price if new.price is not None else new.trigger_price
        check_futures_qty(
            market,
            new.quantity,
            reference if trail is None else mark,
            is_market=new.price is None,
            reduce_only=new.reduce_only or closes(new.position_side, new.side),
        )
    if trail is None and algo_triggered(new.type, new.side, new.trigger_price, mark):
        raise ApiError(-2021, "Order would immediately trigger.")
    return trail


def _trail(new: NewAlgoOrder, mark: Decimal) -> Trail:
    """A trailing stop's state at placement: -2021 when its activation price is already past."""
    start = new.activation_price
    if start is not None:
        check_futures_price(new.market, start)
        if (start <= mark) if new.side == "SELL" else (start >= mark):
            raise ApiError(-2021, "Order would immediately trigger.")
    trail = Trail(new.callback_rate, new.callback_distance, start)
    trail.on_price(new.side, mark)
    return trail
