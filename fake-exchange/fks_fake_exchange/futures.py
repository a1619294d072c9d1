"""The USD-M futures engine: wallet, positions, orders, algo (conditional) orders.

Market orders fill at once at the current (mark = last) price; limit orders rest and fill at
their price when it is crossed. Conditional orders (stop, take-profit, trailing stop) live on
the algo service (``/fapi/v1/algoOrder``) as on Binance and, when triggered, place a regular
order. Margin: a new exposure needs notional / leverage of available balance (wallet +
unrealised PnL - margin in use), else -2019. One-way mode: one ``BOTH`` position per symbol;
hedge mode (symbols in ``hedged``): a LONG and a SHORT one, and a SELL of LONG / BUY of SHORT
only closes. Records and trigger rules: :mod:`futures_records`; settings: :mod:`futures_settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal

from fks_fake_exchange import errors
from fks_fake_exchange.decimals import ZERO, round_commission
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures_records import (
    AlgoOrder,
    FuturesFill,
    FuturesOrder,
    NewAlgoOrder,
    NewFuturesOrder,
    Position,
    algo_triggered,
    check_algo,
    closes,
    crosses,
    max_notional,
)
from fks_fake_exchange.markets import Market, check_futures_price, check_futures_qty
from fks_fake_exchange.orders import generate_client_order_id
from fks_fake_exchange.spot import Ids

__all__ = ["FuturesEngine", "FuturesFill", "FuturesOrder"]  # for the websocket modules


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
    positions: dict[str, Position] = field(init=False)  # one-way mode (BOTH)
    sides: dict[tuple[str, str], Position] = field(init=False)  # hedge mode (LONG / SHORT)
    hedged: set[str] = field(init=False)  # symbols in hedge mode
    isolated: set[str] = field(init=False)  # symbols in isolated margin mode
    leverage: dict[str, int] = field(init=False)
    orders: dict[int, FuturesOrder] = field(init=False)
    algo_orders: dict[int, AlgoOrder] = field(init=False)
    trades: list[FuturesFill] = field(init=False)

    def __post_init__(self) -> None:
        self.wallet = dict(self.initial_wallet)
        self.positions = {s: Position(symbol=s) for s in self.markets}
        self.sides = {
            (s, side): Position(symbol=s, side=side)
            for s in self.markets
            for side in ("LONG", "SHORT")
        }
        self.hedged = set()
        self.isolated = set()
        self.leverage = dict.fromkeys(self.markets, self.default_leverage)
        self.orders = {}
        self._open: dict[int, FuturesOrder] = {}
        self._by_client: dict[tuple[str, str], FuturesOrder] = {}
        self.algo_orders = {}
        self.trades = []

    # --- positions and account figures ------------------------------------------------------

    def position(self, symbol: str, side: str = "BOTH") -> Position:
        return self.positions[symbol] if side == "BOTH" else self.sides[(symbol, side)]

    def symbol_positions(self, symbol: str) -> list[Position]:
        """The symbol's positions in its mode: BOTH, or LONG and SHORT."""
        if symbol in self.hedged:
            return [self.sides[(symbol, "LONG")], self.sides[(symbol, "SHORT")]]
        return [self.positions[symbol]]

    def has_position(self, symbol: str | None = None) -> bool:
        symbols = self.markets if symbol is None else [symbol]
        return any(
            p.qty != 0
            for s in symbols
            for p in (self.positions[s], self.sides[(s, "LONG")], self.sides[(s, "SHORT")])
        )

    def has_open_orders(self, symbol: str | None = None) -> bool:
        return bool(self.open_orders(symbol) or self.open_algo_orders(symbol))

    def unrealized_of(self, pos: Position) -> Decimal:
        return (self.price_of(pos.symbol) - pos.entry_price) * pos.qty if pos.qty else ZERO

    def margin_of(self, pos: Position) -> Decimal:
        return abs(pos.qty) * self.price_of(pos.symbol) / self.leverage[pos.symbol]

    def unrealized(self, symbol: str) -> Decimal:
        return sum((self.unrealized_of(p) for p in self.symbol_positions(symbol)), ZERO)

    def position_margin(self, symbol: str) -> Decimal:
        return sum((self.margin_of(p) for p in self.symbol_positions(symbol)), ZERO)

    def order_margin(self, symbol: str | None = None) -> Decimal:
        total = ZERO
        for order in self._open.values():
            if (
                order.is_open
                and not order.reduce_only
                and not closes(order.position_side, order.side)
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

    def check_position_side(self, symbol: str, position_side: str) -> None:
        """-4061 when the order's position side does not match the symbol's position mode."""
        if (position_side == "BOTH") == (symbol in self.hedged):
            raise ApiError(-4061, "Order's position side does not match user's setting.")

    def _reduce_qty(self, symbol: str, side: str, qty: Decimal, position_side: str) -> Decimal:
        """The quantity a reduce-only (or hedge-mode closing) order may trade (-2022 when it
        cannot reduce anything)."""
        pos = self.position(symbol, position_side).qty
        if pos == 0 or (pos > 0 and side == "BUY") or (pos < 0 and side == "SELL"):
            raise ApiError(-2022, errors.REDUCE_ONLY_REJECTED)
        return min(qty, abs(pos))

    def place(self, new: NewFuturesOrder, *, count_duplicates: bool = True) -> FuturesOrder:
        market = new.market
        mark = self.price_of(market.symbol)
        client_id = new.client_order_id or generate_client_order_id()
        if count_duplicates and any(o.client_order_id == client_id for o in self._open.values()):
            raise ApiError(-4116, "ClientOrderId is duplicated.")
        self.check_position_side(market.symbol, new.position_side)
        is_market = new.type == "MARKET"
        if new.price is not None:
            check_futures_price(market, new.price)
        notional_price = mark if is_market or new.price is None else new.price
        reducing = new.reduce_only or closes(new.position_side, new.side)
        check_futures_qty(
            market, new.quantity, notional_price, is_market=is_market, reduce_only=reducing
        )
        qty = new.quantity
        if reducing:
            qty = self._reduce_qty(market.symbol, new.side, qty, new.position_side)
        else:
            self._check_margin(market, new, qty, notional_price)
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
            position_side=new.position_side,
        )
        self.orders[order.order_id] = order
        self._open[order.order_id] = order
        self._by_client[(order.symbol, client_id)] = order
        if is_market:
            self._fill(order, mark, is_maker=False)
        else:
            assert new.price is not None
            if crosses(new.side, new.price, mark):
                self._fill(order, mark, is_maker=False)
            elif new.time_in_force in ("IOC", "FOK"):
                self._close(order, "EXPIRED")
        return order

    def _check_margin(
        self, market: Market, new: NewFuturesOrder, qty: Decimal, price: Decimal
    ) -> None:
        """-2027 past the leverage's notional cap, -2019 without the initial margin."""
        leverage = self.leverage[market.symbol]
        held = abs(self.position(market.symbol, new.position_side).qty)
        if (held + qty) * price > max_notional(leverage):
            raise ApiError(-2027, "Exceeded the maximum allowable position at current leverage.")
        if qty * price / leverage > self.available(market.quote):
            raise ApiError(-2019, errors.MARGIN_INSUFFICIENT)

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
        self.check_position_side(market.symbol, new.position_side)
        trail = check_algo(new, mark)
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
            position_side=new.position_side,
            trail=trail,
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

    def on_price(self, symbol: str) -> None:
        mark = self.price_of(symbol)
        for algo in sorted(self.open_algo_orders(symbol), key=lambda a: a.algo_id):
            if algo.trail is not None:
                if algo.trail.on_price(algo.side, mark):
                    self._trigger(algo, mark)
            elif algo_triggered(algo.type, algo.side, algo.trigger_price, mark):
                self._trigger(algo, mark)
        for order in self.open_orders(symbol):
            if order.type == "LIMIT" and crosses(order.side, order.price, mark):
                self._fill(order, order.price, is_maker=True)

    # --- internals ------------------------------------------------------------------------------

    def _trigger(self, algo: AlgoOrder, mark: Decimal) -> None:
        now = self.clock()
        algo.trigger_time = now
        algo.update_time = now
        qty = algo.quantity
        reduce_only = algo.reduce_only
        if algo.close_position:
            pos = self.position(algo.symbol, algo.position_side).qty
            qty, reduce_only = abs(pos), algo.position_side == "BOTH"
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
            position_side=algo.position_side,
        )
        try:
            order = self.place(new, count_duplicates=False)
        except ApiError:
            algo.status = "EXPIRED"
            return
        order.orig_type = algo.type
        order.stop_price = algo.trigger_price
        if algo.trail is not None:
            order.stop_price = algo.trail.stop_for(algo.side)
        algo.actual_order_id = order.order_id
        algo.status = "FINISHED"

    def _close(self, order: FuturesOrder, status: str) -> None:
        order.status = status
        order.update_time = self.clock()
        self._open.pop(order.order_id, None)

    def _fill(self, order: FuturesOrder, price: Decimal, *, is_maker: bool) -> None:
        market = self.markets[order.symbol]
        qty = order.orig_qty - order.executed_qty
        pos = self.position(order.symbol, order.position_side)
        if order.reduce_only or closes(order.position_side, order.side):
            qty = min(qty, abs(pos.qty))  # what is left of the position (another order closed)
        signed = qty if order.side == "BUY" else -qty
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
                position_side=order.position_side,
            )
        )
        order.executed_qty += qty
        order.cum_quote += quote_qty
        order.status = "FILLED"
        order.update_time = now
        self._open.pop(order.order_id, None)
