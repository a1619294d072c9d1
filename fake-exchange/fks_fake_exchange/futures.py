"""The USD-M futures engine (one-way mode, cross margin): wallet, positions, orders, algo orders.

Market orders fill at once at the current (mark = last) price; limit orders rest and fill at
their price when it is crossed. Conditional orders (STOP_MARKET, TAKE_PROFIT_MARKET, STOP,
TAKE_PROFIT) live on the algo service as Binance has them since late 2025 (``/fapi/v1/algoOrder``)
and, when triggered, place a regular order. Margin: a new exposure needs notional / leverage of
available balance (wallet + unrealised PnL - margin in use), else -2019.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal

from fks_fake_exchange import errors
from fks_fake_exchange.decimals import ZERO, round_commission
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market, check_futures_price, check_futures_qty
from fks_fake_exchange.orders import generate_client_order_id
from fks_fake_exchange.spot import Ids

OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
ALGO_TYPES = frozenset({"STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT"})


@dataclass
class Position:
    symbol: str
    qty: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry_price: Decimal = ZERO
    update_time: int = 0


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

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO


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


@dataclass
class FuturesEngine:
    markets: Mapping[str, Market]
    price_of: Callable[[str], Decimal]
    clock: Callable[[], int]
    ids: Ids
    fee_rate: Decimal
    default_leverage: int
    initial_wallet: Mapping[str, Decimal]
    wallet: MutableMapping[str, Decimal] = field(init=False)  # Bybit's: the spot balances
    positions: dict[str, Position] = field(init=False)
    leverage: dict[str, int] = field(init=False)
    orders: dict[int, FuturesOrder] = field(init=False)
    algo_orders: dict[int, AlgoOrder] = field(init=False)
    trades: list[FuturesFill] = field(init=False)

    def __post_init__(self) -> None:
        self.wallet = dict(self.initial_wallet)
        self.positions = {s: Position(symbol=s) for s in self.markets}
        self.leverage = dict.fromkeys(self.markets, self.default_leverage)
        self.orders = {}
        self._open: dict[int, FuturesOrder] = {}
        self._by_client: dict[tuple[str, str], FuturesOrder] = {}
        self.algo_orders = {}
        self.trades = []

    # --- account figures ----------------------------------------------------------------------

    def unrealized(self, symbol: str) -> Decimal:
        pos = self.positions[symbol]
        return (self.price_of(symbol) - pos.entry_price) * pos.qty if pos.qty else ZERO

    def position_margin(self, symbol: str) -> Decimal:
        pos = self.positions[symbol]
        return abs(pos.qty) * self.price_of(symbol) / self.leverage[symbol]

    def order_margin(self, symbol: str | None = None) -> Decimal:
        total = ZERO
        for order in self._open.values():
            if (
                order.is_open
                and not order.reduce_only
                and (symbol is None or order.symbol == symbol)
            ):
                total += (
                    (order.orig_qty - order.executed_qty)
                    * order.price
                    / self.leverage[order.symbol]
                )
        return total

    def available(self, asset: str = "USDT") -> Decimal:
        wallet = self.wallet.get(asset, ZERO)
        symbols = [s for s, m in self.markets.items() if m.quote == asset]
        upnl = sum((self.unrealized(s) for s in symbols), ZERO)
        used = sum((self.position_margin(s) for s in symbols), ZERO)
        used += sum((self.order_margin(s) for s in symbols), ZERO)
        return wallet + upnl - used

    # --- orders ---------------------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[FuturesOrder]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        return [
            o
            for o in self.algo_orders.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> FuturesOrder:
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and order.symbol == symbol:
                return order
            raise errors.order_does_not_exist()
        found = self._by_client.get((symbol, client_order_id or ""))
        if found is None:
            raise errors.order_does_not_exist()
        return found

    def find_algo(self, algo_id: int | None, client_algo_id: str | None) -> AlgoOrder:
        if algo_id is not None:
            algo = self.algo_orders.get(algo_id)
            if algo is not None:
                return algo
        else:
            for algo in reversed(self.algo_orders.values()):
                if algo.client_algo_id == client_algo_id:
                    return algo
        raise ApiError(-2013, "Order does not exist.")

    def _reduce_qty(self, symbol: str, side: str, qty: Decimal) -> Decimal:
        """The quantity a reduce-only order may trade (-2022 when it cannot reduce anything)."""
        pos = self.positions[symbol].qty
        if pos == 0 or (pos > 0 and side == "BUY") or (pos < 0 and side == "SELL"):
            raise ApiError(-2022, errors.REDUCE_ONLY_REJECTED)
        return min(qty, abs(pos))

    def place(self, new: NewFuturesOrder, *, count_duplicates: bool = True) -> FuturesOrder:
        market = new.market
        mark = self.price_of(market.symbol)
        client_id = new.client_order_id or generate_client_order_id()
        if count_duplicates and any(o.client_order_id == client_id for o in self._open.values()):
            raise ApiError(-4116, "ClientOrderId is duplicated.")
        is_market = new.type == "MARKET"
        if new.price is not None:
            check_futures_price(market, new.price)
        notional_price = mark if is_market or new.price is None else new.price
        check_futures_qty(
            market, new.quantity, notional_price, is_market=is_market, reduce_only=new.reduce_only
        )
        qty = new.quantity
        if new.reduce_only:
            qty = self._reduce_qty(market.symbol, new.side, qty)
        else:
            exec_price = mark if is_market or new.price is None else new.price
            needed = qty * exec_price / self.leverage[market.symbol]
            if needed > self.available(market.quote):
                raise ApiError(-2019, errors.MARGIN_INSUFFICIENT)
        now = self.clock()
        order = FuturesOrder(
            order_id=self.ids.order(),
            client_order_id=client_id,
            symbol=market.symbol,
            side=new.side,
            type=new.type,
            time_in_force=new.time_in_force,
            price=new.price or ZERO,
            orig_qty=qty,
            reduce_only=new.reduce_only,
            time=now,
            update_time=now,
        )
        self.orders[order.order_id] = order
        self._open[order.order_id] = order
        self._by_client[(order.symbol, client_id)] = order
        if is_market:
            self._fill(order, mark, is_maker=False)
        else:
            assert new.price is not None
            if _crosses(new.side, new.price, mark):
                self._fill(order, mark, is_maker=False)
            elif new.time_in_force in ("IOC", "FOK"):
                self._close(order, "EXPIRED")
        return order

    def cancel(
        self, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> FuturesOrder:
        try:
            order = self.find(symbol, order_id, client_order_id)
        except ApiError:
            raise errors.unknown_order() from None
        if not order.is_open:
            raise errors.unknown_order()
        self._close(order, "CANCELED")
        return order

    def place_algo(self, new: NewAlgoOrder) -> AlgoOrder:
        market = new.market
        mark = self.price_of(market.symbol)
        client_id = new.client_algo_id or generate_client_order_id()
        if any(a.client_algo_id == client_id for a in self.open_algo_orders()):
            raise ApiError(-4116, "ClientOrderId is duplicated.")
        if new.type not in ALGO_TYPES:
            raise ApiError(-1116, "Invalid orderType.")
        check_futures_price(market, new.trigger_price)
        if new.price is not None:
            check_futures_price(market, new.price)
        if new.close_position:
            if new.quantity is not None:
                raise ApiError(
                    -4136, "Target strategy invalid for orderType MARKET,closePosition true"
                )
        else:
            if new.quantity is None:
                raise errors.mandatory("quantity")
            check_futures_qty(
                market,
                new.quantity,
                new.price if new.price is not None else new.trigger_price,
                is_market=new.price is None,
                reduce_only=new.reduce_only,
            )
        if _algo_triggered(new.type, new.side, new.trigger_price, mark):
            raise ApiError(-2021, "Order would immediately trigger.")
        now = self.clock()
        algo = AlgoOrder(
            algo_id=self.ids.order(),
            client_algo_id=client_id,
            symbol=market.symbol,
            side=new.side,
            type=new.type,
            time_in_force=new.time_in_force,
            quantity=new.quantity or ZERO,
            trigger_price=new.trigger_price,
            price=new.price or ZERO,
            reduce_only=new.reduce_only,
            close_position=new.close_position,
            create_time=now,
            update_time=now,
            working_type=new.working_type,
        )
        self.algo_orders[algo.algo_id] = algo
        return algo

    def cancel_algo(self, algo_id: int | None, client_algo_id: str | None) -> AlgoOrder:
        try:
            algo = self.find_algo(algo_id, client_algo_id)
        except ApiError:
            raise ApiError(-2011, "Unknown order sent.") from None
        if not algo.is_open:
            raise ApiError(-2011, "Unknown order sent.")
        algo.status = "CANCELED"
        algo.update_time = self.clock()
        return algo

    def set_leverage(self, symbol: str, leverage: int) -> None:
        if not 1 <= leverage <= 125:
            raise ApiError(-4028, f"Leverage {leverage} is not valid")
        self.leverage[symbol] = leverage

    def on_price(self, symbol: str) -> None:
        mark = self.price_of(symbol)
        for algo in sorted(self.open_algo_orders(symbol), key=lambda a: a.algo_id):
            if _algo_triggered(algo.type, algo.side, algo.trigger_price, mark):
                self._trigger(algo, mark)
        for order in self.open_orders(symbol):
            if order.type == "LIMIT" and _crosses(order.side, order.price, mark):
                self._fill(order, order.price, is_maker=True)

    # --- internals ------------------------------------------------------------------------------

    def _trigger(self, algo: AlgoOrder, mark: Decimal) -> None:
        now = self.clock()
        algo.trigger_time = now
        algo.update_time = now
        qty = algo.quantity
        reduce_only = algo.reduce_only
        if algo.close_position:
            pos = self.positions[algo.symbol].qty
            qty, reduce_only = abs(pos), True
        is_market = algo.type.endswith("_MARKET")
        new = NewFuturesOrder(
            market=self.markets[algo.symbol],
            side=algo.side,
            type="MARKET" if is_market else "LIMIT",
            quantity=qty,
            price=None if is_market else algo.price,
            time_in_force="GTC",
            reduce_only=reduce_only,
            client_order_id=algo.client_algo_id,
        )
        try:
            order = self.place(new, count_duplicates=False)
        except ApiError:
            algo.status = "EXPIRED"
            return
        order.orig_type = algo.type
        order.stop_price = algo.trigger_price
        algo.actual_order_id = order.order_id
        algo.status = "FINISHED"

    def _close(self, order: FuturesOrder, status: str) -> None:
        order.status = status
        order.update_time = self.clock()
        self._open.pop(order.order_id, None)

    def _fill(self, order: FuturesOrder, price: Decimal, *, is_maker: bool) -> None:
        market = self.markets[order.symbol]
        qty = order.orig_qty - order.executed_qty
        signed = qty if order.side == "BUY" else -qty
        pos = self.positions[order.symbol]
        realized = ZERO
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            total = abs(pos.qty) + qty
            pos.entry_price = (abs(pos.qty) * pos.entry_price + qty * price) / total
            pos.qty += signed
        else:
            closing = min(qty, abs(pos.qty))
            direction = 1 if pos.qty > 0 else -1
            realized = closing * (price - pos.entry_price) * direction
            pos.qty += signed
            if pos.qty == 0:
                pos.entry_price = ZERO
            elif (pos.qty > 0) != (direction > 0):
                pos.entry_price = price
        quote_qty = qty * price
        fee = round_commission(quote_qty * (self.fee_rate / 2 if is_maker else self.fee_rate))
        asset = market.quote
        self.wallet[asset] = self.wallet.get(asset, ZERO) + realized - fee
        now = self.clock()
        pos.update_time = now
        self.trades.append(
            FuturesFill(
                trade_id=self.ids.trade(),
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                price=price,
                qty=qty,
                quote_qty=quote_qty,
                realized_pnl=realized,
                commission=fee,
                commission_asset=asset,
                time=now,
                is_maker=is_maker,
            )
        )
        order.executed_qty += qty
        order.cum_quote += quote_qty
        order.status = "FILLED"
        order.update_time = now
        self._open.pop(order.order_id, None)


def _crosses(side: str, limit: Decimal, current: Decimal) -> bool:
    return current <= limit if side == "BUY" else current >= limit


def _algo_triggered(order_type: str, side: str, trigger: Decimal, mark: Decimal) -> bool:
    """STOP(_MARKET): buy when the price rises to the trigger, sell when it falls to it;
    TAKE_PROFIT(_MARKET): the other way round."""
    if order_type.startswith("STOP"):
        return mark >= trigger if side == "BUY" else mark <= trigger
    return mark <= trigger if side == "BUY" else mark >= trigger
