"""The Bybit unified trading account over the shared engines: its state and what happens to it.

Spot orders run on the shared :class:`~fks_fake_exchange.spot.SpotEngine` and linear ones on the
shared :class:`~fks_fake_exchange.futures.FuturesEngine` (same matching, balances, positions,
triggers and margin rules as the Binance venue); a linear conditional order is the futures
engine's algo order until it triggers. What is Bybit's own lives here: one wallet for both (the
futures engine's wallet *is* the spot balances: :class:`UnifiedWallet`), string order ids,
``orderLinkId`` unique across the account, Bybit's order statuses, take-profit / stop-loss of
a linear position (``tpslMode`` Full: they close the whole position when the last price reaches
them), position mode and account margin mode. Placing and amending: :mod:`bybit_place`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange.bybit_errors import Category, from_engine
from fks_fake_exchange.decimals import ZERO
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures import FuturesEngine
from fks_fake_exchange.futures_records import AlgoOrder, FuturesOrder, NewFuturesOrder, Position
from fks_fake_exchange.orders import SpotOrder
from fks_fake_exchange.spot import SpotEngine

EngineOrder = SpotOrder | FuturesOrder
STATUSES = {
    "NEW": "New",
    "PARTIALLY_FILLED": "PartiallyFilled",
    "FILLED": "Filled",
    "CANCELED": "Cancelled",
    "EXPIRED": "Cancelled",
}
OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})
IDX_SIDE = {0: "BOTH", 1: "LONG", 2: "SHORT"}  # positionIdx -> the engine's position side
SIDE_IDX = {side: idx for idx, side in IDX_SIDE.items()}
# orders that belong to a position (trading-stop) and go when it is closed
POSITION_ORDERS = frozenset({"TrailingStop", "PartialTakeProfit", "PartialStopLoss"})


class UnifiedWallet(MutableMapping[str, Decimal]):
    """The futures engine's wallet seen through the spot balances' free amounts: one wallet."""

    def __init__(self, spot: SpotEngine) -> None:
        self._spot = spot

    def __getitem__(self, asset: str) -> Decimal:
        return self._spot.balances[asset].free

    def __setitem__(self, asset: str, value: Decimal) -> None:
        self._spot.balance(asset).free = value

    def __delitem__(self, asset: str) -> None:
        del self._spot.balances[asset]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._spot.balances))

    def __len__(self) -> int:
        return len(self._spot.balances)


@dataclass
class BybitOrder:
    """Bybit's view of one order: its ids and what the engines do not keep. ``engine_id`` is the
    engine's order (``None`` while a linear conditional order is only ``algo_id``)."""

    order_id: str
    category: Category
    symbol: str
    engine_id: int | None
    link_id: str
    time_in_force: str = "GTC"
    market_unit: str = ""
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    tpsl_pending: bool = False  # to be set on the position when the order fills
    create_type: str = "CreateByUser"
    stop_order_type: str = ""
    trigger_price: Decimal = ZERO
    trigger_direction: int = 0
    algo_id: int | None = None
    cancel_type: str = "UNKNOWN"
    position_idx: int = 0  # 0 one-way, 1 / 2 the Buy / Sell side in hedge mode


@dataclass
class Protection:
    """Full-mode take-profit / stop-loss of one linear position."""

    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None


@dataclass
class BybitAccount:
    spot: SpotEngine
    futures: FuturesEngine
    clock: Callable[[], int]
    orders: dict[str, BybitOrder] = field(default_factory=dict)
    by_engine: dict[tuple[Category, int], BybitOrder] = field(default_factory=dict)
    link_ids: set[str] = field(default_factory=set)
    protection: dict[tuple[str, str], Protection] = field(default_factory=dict)  # by side
    margin_mode: str = "REGULAR_MARGIN"

    def __post_init__(self) -> None:
        self.futures.wallet = UnifiedWallet(self.spot)
        self._client_ids = itertools.count(1)

    # --- lookups ----------------------------------------------------------------------------

    def engine_order(self, order: BybitOrder) -> EngineOrder | None:
        if order.engine_id is None:
            return None
        if order.category == "spot":
            return self.spot.orders[order.engine_id]
        return self.futures.orders[order.engine_id]

    def algo(self, order: BybitOrder) -> AlgoOrder | None:
        return self.futures.algo_orders[order.algo_id] if order.algo_id is not None else None

    def status(self, order: BybitOrder) -> str:
        """Bybit's ``orderStatus``: conditional orders are Untriggered until they trigger and
        Deactivated when canceled (or refused when triggered) before that."""
        engine = self.engine_order(order)
        if engine is None:
            algo = self.algo(order)
            assert algo is not None
            return "Untriggered" if algo.is_open else "Deactivated"
        if isinstance(engine, SpotOrder) and engine.is_stop and not engine.is_working:
            return "Untriggered" if engine.is_open else "Deactivated"
        return STATUSES.get(engine.status, "New")

    def is_open(self, order: BybitOrder) -> bool:
        return self.status(order) in OPEN_STATUSES

    def find(
        self, category: Category, symbol: str | None, order_id: str | None, link_id: str | None
    ) -> BybitOrder:
        """By ``orderId`` (it wins), else ``orderLinkId``; 110001 / 170213 when unknown."""
        if order_id is None and link_id is None:
            raise be.missing("orderId or orderLinkId")
        for order in reversed(self.orders.values()):
            if order.category != category or (symbol is not None and order.symbol != symbol):
                continue
            if order.order_id == order_id if order_id is not None else order.link_id == link_id:
                return order
        raise be.order_not_found(category)

    def list(self, category: Category, symbol: str | None) -> list[BybitOrder]:
        """The category's orders (of ``symbol``), newest first."""
        return [
            o
            for o in reversed(self.orders.values())
            if o.category == category and (symbol is None or o.symbol == symbol)
        ]

    def has_open_orders(self, symbol: str | None = None) -> bool:
        return self.futures.has_open_orders(symbol)

    def has_positions(self, symbol: str | None = None) -> bool:
        return self.futures.has_position(symbol)

    def futures_reserved(self, asset: str) -> Decimal:
        """What linear positions and orders hold of a coin (their initial margin)."""
        symbols = [s for s, m in self.futures.markets.items() if m.quote == asset]
        held = sum((self.futures.position_margin(s) for s in symbols), ZERO)
        return held + sum((self.futures.order_margin(s) for s in symbols), ZERO)

    # --- records ----------------------------------------------------------------------------

    def internal_id(self) -> str:
        """A client order id for the engines (theirs must be unique; Bybit's may be empty)."""
        return f"fks-bybit-{next(self._client_ids)}"

    def record(self, order: BybitOrder) -> BybitOrder:
        self.orders[order.order_id] = order
        if order.engine_id is not None:
            self.by_engine[(order.category, order.engine_id)] = order
        if order.link_id:
            self.link_ids.add(order.link_id)
        return order

    def position_side(self, symbol: str, position_idx: int) -> str:
        """The engine's position side for a ``positionIdx``: 0 in one-way mode, 1 (Buy side) or
        2 (Sell side) in hedge mode, else 10001."""
        hedge = symbol in self.futures.hedged
        if position_idx not in ((1, 2) if hedge else (0,)):
            raise be.params_error("position idx not match position mode")
        return IDX_SIDE[position_idx]

    # --- cancel -----------------------------------------------------------------------------

    def cancel(self, order: BybitOrder) -> None:
        if not self.is_open(order):
            raise be.order_not_found(order.category)
        try:
            if order.category == "spot":
                self.spot.cancel(order.symbol, order.engine_id, None)
            elif order.engine_id is None:
                self.futures.cancel_algo(order.algo_id, None)
            else:
                self.futures.cancel(order.symbol, order.engine_id, None)
        except ApiError as error:
            raise from_engine(error, order.category) from None
        order.cancel_type = "CancelByUser"
        order.tpsl_pending = False

    # --- price moves ------------------------------------------------------------------------

    def on_price(self, symbol: str) -> None:
        if symbol in self.futures.markets:
            self._adopt_triggered(symbol)
            self.settle(symbol)

    def _adopt_triggered(self, symbol: str) -> None:
        """A triggered conditional order continues as the engine order it placed."""
        for order in self.orders.values():
            algo = self.algo(order) if order.engine_id is None else None
            if algo is not None and order.symbol == symbol and algo.actual_order_id is not None:
                order.engine_id = algo.actual_order_id
                self.by_engine[("linear", algo.actual_order_id)] = order

    def settle(self, symbol: str) -> None:
        """After fills: attached TP/SL of filled orders go to the position; a flat position
        loses its TP/SL and its trading-stop orders; a position whose TP or SL the price reached
        is closed."""
        for order in self.orders.values():
            if (
                order.tpsl_pending
                and order.category == "linear"
                and order.symbol == symbol
                and order.engine_id is not None
            ):
                engine = self.futures.orders[order.engine_id]
                if engine.status == "FILLED":
                    order.tpsl_pending = False
                    side = engine.position_side
                    if self.futures.position(symbol, side).qty != 0:
                        guard = Protection(order.take_profit, order.stop_loss)
                        self.protection[(symbol, side)] = guard
                elif not engine.is_open:
                    order.tpsl_pending = False
        for position in self.futures.symbol_positions(symbol):
            if position.qty == 0:
                self._clear(symbol, position.side)
            else:
                self._guard(position)

    def _clear(self, symbol: str, side: str) -> None:
        """A flat position's take-profit / stop-loss and trading-stop orders go (as on Bybit)."""
        self.protection.pop((symbol, side), None)
        for order in self.orders.values():
            algo = self.algo(order) if order.engine_id is None else None
            if (
                algo is not None
                and algo.is_open
                and order.symbol == symbol
                and order.stop_order_type in POSITION_ORDERS
                and algo.position_side == side
            ):
                self.futures.cancel_algo(algo.algo_id, None)
                order.cancel_type = "CancelByTpSlTsClear"

    def _guard(self, position: Position) -> None:
        guard = self.protection.get((position.symbol, position.side))
        if guard is None:
            return
        price = self.futures.price_of(position.symbol)
        long = position.qty > 0
        tp, sl = guard.take_profit, guard.stop_loss
        if tp is not None and (price >= tp if long else price <= tp):
            self._close_by(position, "TakeProfit", tp)
        elif sl is not None and (price <= sl if long else price >= sl):
            self._close_by(position, "StopLoss", sl)

    def _close_by(self, position: Position, kind: str, trigger: Decimal) -> None:
        symbol, side = position.symbol, position.side
        request = NewFuturesOrder(
            market=self.futures.markets[symbol],
            side="SELL" if position.qty > 0 else "BUY",
            type="MARKET",
            quantity=abs(position.qty),
            price=None,
            time_in_force="IOC",
            reduce_only=True,
            client_order_id=self.internal_id(),
            position_side=side,
        )
        self.protection.pop((symbol, side), None)
        placed = self.futures.place(request, count_duplicates=False)
        self.record(
            BybitOrder(
                order_id=str(uuid.uuid4()),
                category="linear",
                symbol=symbol,
                engine_id=placed.order_id,
                link_id="",
                time_in_force="IOC",
                create_type=f"CreateBy{kind}",
                stop_order_type=kind,
                trigger_price=trigger,
                position_idx=SIDE_IDX[side],
            )
        )
        self.settle(symbol)
