"""The Bybit unified trading account over the shared engines.

Spot orders run on the shared :class:`~fks_fake_exchange.spot.SpotEngine` and linear ones on the
shared :class:`~fks_fake_exchange.futures.FuturesEngine` (same matching, balances, positions and
margin rules as the Binance venue). What is Bybit's own lives here: one wallet for both (the
futures engine's wallet *is* the spot balances: :class:`UnifiedWallet`), string order ids,
``orderLinkId`` unique across the account (110072), take-profit / stop-loss attached to a
linear position (``tpslMode`` Full: they close the whole position when the price reaches them),
position mode and account margin mode. Engine refusals are translated by
:func:`~fks_fake_exchange.bybit_errors.from_engine`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange.bybit_errors import BybitError, Category, from_engine
from fks_fake_exchange.bybit_orders import NewBybitOrder, check_linear, check_spot, check_tpsl
from fks_fake_exchange.decimals import ZERO
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures import FuturesEngine, FuturesOrder, NewFuturesOrder
from fks_fake_exchange.orders import NewOrder, SpotOrder
from fks_fake_exchange.spot import SpotEngine

EngineOrder = SpotOrder | FuturesOrder


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
    """Bybit's view of one order: its ids and what the engines do not keep."""

    order_id: str
    category: Category
    symbol: str
    engine_id: int
    link_id: str
    time_in_force: str = "GTC"
    market_unit: str = ""
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    tpsl_pending: bool = False  # to be set on the position when the order fills
    create_type: str = "CreateByUser"
    stop_order_type: str = ""
    trigger_price: Decimal = ZERO
    cancel_type: str = "UNKNOWN"


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
    protection: dict[str, Protection] = field(default_factory=dict)
    position_mode: dict[str, int] = field(default_factory=dict)  # symbol -> 0 one-way / 3 hedge
    margin_mode: str = "REGULAR_MARGIN"

    def __post_init__(self) -> None:
        self.futures.wallet = UnifiedWallet(self.spot)
        self._client_ids = itertools.count(1)

    # --- lookups ----------------------------------------------------------------------------

    def engine_order(self, order: BybitOrder) -> EngineOrder:
        if order.category == "spot":
            return self.spot.orders[order.engine_id]
        return self.futures.orders[order.engine_id]

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

    def is_open(self, order: BybitOrder) -> bool:
        return self.engine_order(order).is_open

    # --- placing ----------------------------------------------------------------------------

    def _internal_id(self) -> str:
        return f"fks-bybit-{next(self._client_ids)}"

    def _record(self, order: BybitOrder) -> BybitOrder:
        self.orders[order.order_id] = order
        self.by_engine[(order.category, order.engine_id)] = order
        if order.link_id:
            self.link_ids.add(order.link_id)
        return order

    def futures_reserved(self, asset: str) -> Decimal:
        """What linear positions and orders hold of a coin (their initial margin)."""
        symbols = [s for s, m in self.futures.markets.items() if m.quote == asset]
        held = sum((self.futures.position_margin(s) for s in symbols), ZERO)
        return held + sum((self.futures.order_margin(s) for s in symbols), ZERO)

    def place(self, new: NewBybitOrder) -> BybitOrder:
        if new.link_id and new.link_id in self.link_ids:
            raise be.duplicate_link_id()
        if new.category == "spot":
            return self._place_spot(new)
        return self._place_linear(new)

    def _place_spot(self, new: NewBybitOrder) -> BybitOrder:
        market = new.market
        last = self.futures.price_of(market.symbol)
        check_spot(new, last)
        if new.side == "Buy":
            need = new.qty if new.market_unit == "quoteCoin" else new.qty * (new.price or last)
            free = self.spot.balance(market.quote).free - self.futures_reserved(market.quote)
            if need > free:
                raise BybitError(be.SPOT_BALANCE, "Insufficient balance.")
        if new.is_market:
            engine_type, tif = "MARKET", None
        elif new.time_in_force == "PostOnly":
            engine_type, tif = "LIMIT_MAKER", None
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
            stop_price=None,
            client_order_id=self._internal_id(),
            resp_type="ACK",
        )
        try:
            placed = self.spot.place(request)
        except ApiError as error:
            raise from_engine(error, "spot") from None
        return self._record(
            BybitOrder(
                order_id=str(placed.order_id),
                category="spot",
                symbol=market.symbol,
                engine_id=placed.order_id,
                link_id=new.link_id,
                time_in_force=new.time_in_force,
                market_unit=new.market_unit,
            )
        )

    def check_position_idx(self, symbol: str, position_idx: int) -> None:
        hedge = self.position_mode.get(symbol, 0) == 3
        if hedge and position_idx in (1, 2):
            raise be.not_supported("orders in hedge mode (switch back to one-way, mode 0)")
        if position_idx != 0 or hedge:
            raise be.params_error("position idx not match position mode")

    def _place_linear(self, new: NewBybitOrder) -> BybitOrder:
        market = new.market
        last = self.futures.price_of(market.symbol)
        self.check_position_idx(market.symbol, new.position_idx)
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
            client_order_id=self._internal_id(),
        )
        try:
            placed = self.futures.place(request)
        except ApiError as error:
            raise from_engine(error, "linear") from None
        order = self._record(
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
            )
        )
        self.settle(market.symbol)
        return order

    # --- amend and cancel -------------------------------------------------------------------

    def cancel(self, order: BybitOrder) -> None:
        if not self.is_open(order):
            raise be.order_not_found(order.category)
        try:
            if order.category == "spot":
                self.spot.cancel(order.symbol, order.engine_id, None)
            else:
                self.futures.cancel(order.symbol, order.engine_id, None)
        except ApiError as error:
            raise from_engine(error, order.category) from None
        order.cancel_type = "CancelByUser"
        order.tpsl_pending = False

    def amend(
        self,
        order: BybitOrder,
        qty: Decimal | None,
        price: Decimal | None,
        take_profit: Decimal | None,
        stop_loss: Decimal | None,
    ) -> None:
        """Change an open order: a new quantity or price replaces it in the engine (same ids),
        after the new order is checked; attached take-profit / stop-loss ("0" clears)."""
        current = self.engine_order(order)
        if not current.is_open:
            raise BybitError(be.ORDER_FINISHED, "order not exists or too late to replace")
        if order.category == "linear":
            order.take_profit = _amended(order.take_profit, take_profit)
            order.stop_loss = _amended(order.stop_loss, stop_loss)
            order.tpsl_pending = order.take_profit is not None or order.stop_loss is not None
        if qty is None and price is None:
            return
        new = NewBybitOrder(
            category=order.category,
            market=(self.spot if order.category == "spot" else self.futures).markets[order.symbol],
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
            position_idx=0,
        )
        last = self.futures.price_of(order.symbol)
        if new.category == "spot":
            check_spot(new, last)
        else:
            check_linear(new, last)
        self.cancel(order)
        order.cancel_type = "UNKNOWN"
        try:
            replacement = self.place(new)
        except BybitError:
            # Bybit keeps an order it cannot amend: put the old one back
            replacement = self.place(
                NewBybitOrder(**{**new.__dict__, "qty": current.orig_qty, "price": current.price})
            )
            self._adopt(order, replacement)
            raise
        self._adopt(order, replacement)

    def _adopt(self, order: BybitOrder, replacement: BybitOrder) -> None:
        """``order`` (amended) continues as ``replacement``'s engine order, with its own ids."""
        del self.orders[replacement.order_id]
        self.by_engine[(order.category, replacement.engine_id)] = order
        order.engine_id = replacement.engine_id
        order.tpsl_pending = replacement.tpsl_pending
        self.settle(order.symbol)

    # --- positions ------------------------------------------------------------------------------

    def settle(self, symbol: str) -> None:
        """After fills: attached TP/SL of filled orders go to the position; a flat position
        loses its TP/SL; a position whose TP or SL the price reached is closed."""
        for order in self.orders.values():
            if order.tpsl_pending and order.symbol == symbol:
                engine = self.futures.orders[order.engine_id]
                if engine.status == "FILLED":
                    order.tpsl_pending = False
                    if self.futures.positions[symbol].qty != 0:
                        self.protection[symbol] = Protection(order.take_profit, order.stop_loss)
                elif not engine.is_open:
                    order.tpsl_pending = False
        position = self.futures.positions.get(symbol)
        if position is None or position.qty == 0:
            self.protection.pop(symbol, None)
            return
        guard = self.protection.get(symbol)
        if guard is None:
            return
        price = self.futures.price_of(symbol)
        long = position.qty > 0
        tp, sl = guard.take_profit, guard.stop_loss
        if tp is not None and (price >= tp if long else price <= tp):
            self._close_by(symbol, "TakeProfit", tp)
        elif sl is not None and (price <= sl if long else price >= sl):
            self._close_by(symbol, "StopLoss", sl)

    def _close_by(self, symbol: str, kind: str, trigger: Decimal) -> None:
        position = self.futures.positions[symbol]
        request = NewFuturesOrder(
            market=self.futures.markets[symbol],
            side="SELL" if position.qty > 0 else "BUY",
            type="MARKET",
            quantity=abs(position.qty),
            price=None,
            time_in_force="IOC",
            reduce_only=True,
            client_order_id=self._internal_id(),
        )
        self.protection.pop(symbol, None)
        placed = self.futures.place(request, count_duplicates=False)
        self._record(
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
            )
        )

    def on_price(self, symbol: str) -> None:
        if symbol in self.futures.markets:
            self.settle(symbol)

    def has_open_orders(self, symbol: str | None = None) -> bool:
        return bool(self.futures.open_orders(symbol))

    def has_positions(self, symbol: str | None = None) -> bool:
        return any(p.qty != 0 for s, p in self.futures.positions.items() if symbol in (None, s))


def _amended(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    if new is None:
        return old
    return None if new == 0 else new
