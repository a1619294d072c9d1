"""The spot matching engine: balances, the order book of one account, fills and triggers.

There is no depth: market orders and marketable limit orders fill at once, in full, at the
symbol's current price (taker); resting limit orders fill in full at their own price when the
price crosses them (maker); stop-loss / take-profit orders wait untriggered and, when the price
reaches their stop, become a market fill (STOP_LOSS, TAKE_PROFIT) or a working limit order
(*_LIMIT). Everything runs synchronously, so one request is one atomic step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from fks_fake_exchange import errors
from fks_fake_exchange.decimals import ZERO, floor_to_step, round_commission
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import (
    MAX_NUM_ALGO_ORDERS,
    MAX_NUM_ORDERS,
    Market,
    check_lot,
    check_notional,
    check_price,
)
from fks_fake_exchange.orders import (
    MARKET_LIKE,
    Fill,
    NewOrder,
    OrderList,
    SpotOrder,
    generate_client_order_id,
)


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


class Ids:
    """Order and trade ids, increasing like Binance's (per process, not per symbol)."""

    def __init__(self, first_order_id: int = 4_100_000_001, first_trade_id: int = 310_000_001):
        self._order = first_order_id
        self._trade = first_trade_id
        self._list = 1

    def order_list(self) -> int:
        value = self._list
        self._list += 1
        return value

    def order(self) -> int:
        value = self._order
        self._order += 1
        return value

    def trade(self) -> int:
        value = self._trade
        self._trade += 1
        return value


class SpotEngine:
    def __init__(
        self,
        markets: Mapping[str, Market],
        price_of: Callable[[str], Decimal],
        clock: Callable[[], int],
        ids: Ids,
        fee_rate: Decimal,
        balances: Mapping[str, Decimal],
    ) -> None:
        self.markets = markets
        self._price_of = price_of
        self._clock = clock
        self._ids = ids
        self.fee_rate = fee_rate
        self.balances: dict[str, Balance] = {a: Balance(free=v) for a, v in balances.items()}
        self.orders: dict[int, SpotOrder] = {}
        # indexes, so a long benchmark does not slow down: open orders by id (ids increase, so
        # insertion order is id order) and the newest order per (symbol, client order id)
        self._open: dict[int, SpotOrder] = {}
        self._by_client: dict[tuple[str, str], SpotOrder] = {}
        self.lists: dict[int, OrderList] = {}
        self.trades: list[Fill] = []

    # --- balances ---------------------------------------------------------------------------

    def balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())

    def set_free(self, asset: str, amount: Decimal) -> None:
        self.balance(asset).free = amount

    def _lock(self, order: SpotOrder, asset: str, amount: Decimal) -> None:
        bal = self.balance(asset)
        bal.free -= amount
        bal.locked += amount
        order.locked_asset = asset
        order.locked_amount = amount

    def _unlock(self, order: SpotOrder) -> None:
        if order.locked_asset is None:
            return
        bal = self.balance(order.locked_asset)
        bal.locked -= order.locked_amount
        bal.free += order.locked_amount
        order.locked_asset = None
        order.locked_amount = ZERO

    # --- orders -----------------------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[SpotOrder]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> SpotOrder:
        """Lookup by orderId (it takes precedence, as on Binance), else by origClientOrderId
        (the newest order with that id: Binance keeps client ids unique among open orders only)."""
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and order.symbol == symbol:
                return order
            raise errors.order_does_not_exist()
        found = self._by_client.get((symbol, client_order_id or ""))
        if found is None:
            raise errors.order_does_not_exist()
        return found

    def _check(self, new: NewOrder, client_id: str) -> tuple[Decimal, str, Decimal]:
        """Binance's checks after the parameters: duplicate id, filters, stop/maker rules.
        Returns the quantity and what the order needs (asset, amount): locked while it rests,
        spent when it fills at once."""
        market = new.market
        current = self._price_of(market.symbol)
        if any(o.client_order_id == client_id for o in self._open.values()):
            raise errors.order_rejected(errors.DUPLICATE_ORDER)

        if new.price is not None:
            check_price(market, new.price)
        if new.stop_price is not None:
            check_price(market, new.stop_price)

        is_market = new.type in MARKET_LIKE
        if new.quote_order_qty is not None:
            qty = floor_to_step(new.quote_order_qty / current, market.step_size)
        else:
            assert new.quantity is not None
            qty = new.quantity
        check_lot(market, qty, is_market=is_market)

        if new.quote_order_qty is not None:
            notional = new.quote_order_qty
        elif new.type == "MARKET":
            notional = qty * current
        elif new.price is not None:
            notional = qty * new.price
        else:
            assert new.stop_price is not None
            notional = qty * new.stop_price
        check_notional(market, notional)

        open_here = self.open_orders(market.symbol)
        if len(open_here) >= MAX_NUM_ORDERS:
            raise errors.filter_failure("MAX_NUM_ORDERS")
        if new.type in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"):
            if sum(1 for o in open_here if o.is_stop) >= MAX_NUM_ALGO_ORDERS:
                raise errors.filter_failure("MAX_NUM_ALGO_ORDERS")
            assert new.stop_price is not None
            if _triggered(new.type, new.side, new.stop_price, current):
                raise errors.order_rejected(errors.STOP_WOULD_TRIGGER)
        if new.type == "LIMIT_MAKER":
            assert new.price is not None
            if _crosses(new.side, new.price, current):
                raise errors.order_rejected(errors.WOULD_MATCH_AND_TAKE)

        if new.side == "SELL":
            return qty, market.base, qty
        if new.quote_order_qty is not None:
            return qty, market.quote, new.quote_order_qty
        if new.type == "MARKET":
            return qty, market.quote, round_commission(qty * current)
        if new.price is not None:
            return qty, market.quote, qty * new.price
        assert new.stop_price is not None
        return qty, market.quote, qty * new.stop_price

    def _record(self, new: NewOrder, client_id: str, qty: Decimal, list_id: int = -1) -> SpotOrder:
        now = self._clock()
        order = SpotOrder(
            order_id=self._ids.order(),
            client_order_id=client_id,
            symbol=new.market.symbol,
            side=new.side,
            type=new.type,
            time_in_force=new.time_in_force,
            price=new.price or ZERO,
            stop_price=new.stop_price or ZERO,
            orig_qty=qty,
            orig_quote_qty=new.quote_order_qty or ZERO,
            time=now,
            update_time=now,
            working_time=-1 if new.type != "MARKET" and new.stop_price is not None else now,
            order_list_id=list_id,
        )
        self.orders[order.order_id] = order
        self._open[order.order_id] = order
        self._by_client[(order.symbol, client_id)] = order
        return order

    def place(self, new: NewOrder) -> SpotOrder:
        """Validate filters and balance, record the order and fill what fills now."""
        client_id = new.client_order_id or generate_client_order_id()
        qty, need_asset, need = self._check(new, client_id)
        if self.balance(need_asset).free < need:
            raise errors.insufficient_balance()
        order = self._record(new, client_id, qty)
        current = self._price_of(new.market.symbol)
        if new.type == "MARKET":
            self._fill(order, current, is_maker=False)
            return order
        self._lock(order, need_asset, need)
        if new.type in ("LIMIT", "LIMIT_MAKER"):
            assert new.price is not None
            if _crosses(new.side, new.price, current):
                self._fill(order, current, is_maker=False)
            elif new.time_in_force in ("IOC", "FOK"):
                self._close(order, "EXPIRED")
        return order

    def place_oco(self, above: NewOrder, below: NewOrder, list_client_id: str | None) -> OrderList:
        """An OCO list: two resting legs sharing one balance lock; when one executes (or is
        triggered) the other expires, canceling either cancels both."""
        if _level(above) <= _level(below):
            raise errors.order_rejected(errors.OCO_PRICES)
        ids = [leg.client_order_id or generate_client_order_id() for leg in (above, below)]
        if ids[0] == ids[1]:
            raise errors.order_rejected(errors.DUPLICATE_ORDER)
        list_id = self._ids.order_list()
        list_client = list_client_id or generate_client_order_id()
        if any(
            lst.list_client_order_id == list_client and self.list_is_open(lst)
            for lst in self.lists.values()
        ):
            raise errors.order_rejected(errors.DUPLICATE_ORDER)
        checks = [self._check(leg, cid) for leg, cid in zip((above, below), ids, strict=True)]
        need_asset = checks[0][1]
        need = max(c[2] for c in checks)
        if self.balance(need_asset).free < need:
            raise errors.insufficient_balance()
        legs = [
            self._record(leg, cid, check[0], list_id)
            for leg, cid, check in zip((above, below), ids, checks, strict=True)
        ]
        self._lock(legs[0], need_asset, need)  # one lock for the list, moved to the survivor
        order_list = OrderList(
            order_list_id=list_id,
            list_client_order_id=list_client,
            symbol=above.market.symbol,
            order_ids=(legs[0].order_id, legs[1].order_id),
            transaction_time=legs[0].time,
        )
        self.lists[list_id] = order_list
        return order_list

    def list_is_open(self, order_list: OrderList) -> bool:
        return any(self.orders[i].is_open for i in order_list.order_ids)

    def list_orders(self, order_list: OrderList) -> list[SpotOrder]:
        return [self.orders[i] for i in order_list.order_ids]

    def find_list(self, list_id: int | None, list_client_id: str | None) -> OrderList:
        if list_id is not None:
            found = self.lists.get(list_id)
        else:
            found = next(
                (
                    lst
                    for lst in reversed(self.lists.values())
                    if lst.list_client_order_id == list_client_id
                ),
                None,
            )
        if found is None:
            raise errors.order_list_does_not_exist()
        return found

    def cancel_list(self, order_list: OrderList) -> list[SpotOrder]:
        legs = self.list_orders(order_list)
        if not any(leg.is_open for leg in legs):
            raise errors.order_list_does_not_exist()
        for leg in legs:
            if leg.is_open:
                self._close(leg, "CANCELED")
        return legs

    def cancel(self, symbol: str, order_id: int | None, client_order_id: str | None) -> SpotOrder:
        """Cancel an open order; unknown or already closed orders are -2011 like on Binance."""
        try:
            order = self.find(symbol, order_id, client_order_id)
        except ApiError:
            raise errors.unknown_order() from None
        if not order.is_open:
            raise errors.unknown_order()
        self._close(order, "CANCELED")
        self._end_list(order, "CANCELED")  # canceling one leg cancels the whole list
        return order

    def on_price(self, symbol: str) -> list[SpotOrder]:
        """Trigger stops and fill resting limits the new price reaches; returns those orders."""
        current = self._price_of(symbol)
        touched: list[SpotOrder] = []
        for order in self.open_orders(symbol):
            if order.is_stop and not order.is_working:
                if not _triggered(order.type, order.side, order.stop_price, current):
                    continue
                order.working_time = self._clock()
                order.update_time = order.working_time
                touched.append(order)
                self._end_list(order, "EXPIRED")
                market_stop = order.type in ("STOP_LOSS", "TAKE_PROFIT")
                if market_stop or _crosses(order.side, order.price, current):
                    self._fill_or_expire(order, current, is_maker=False)
                continue
            if order.type in MARKET_LIKE or not order.is_working:
                continue
            if _crosses(order.side, order.price, current):
                self._fill_or_expire(order, order.price, is_maker=True)
                touched.append(order)
        return touched

    def my_trades(self, symbol: str) -> list[Fill]:
        return [t for t in self.trades if t.symbol == symbol]

    def all(self) -> Iterable[SpotOrder]:
        return self.orders.values()

    # --- internals --------------------------------------------------------------------------

    def _close(self, order: SpotOrder, status: str) -> None:
        self._unlock(order)
        order.status = status
        order.update_time = self._clock()
        self._open.pop(order.order_id, None)

    def _end_list(self, survivor: SpotOrder, status: str) -> None:
        """The other legs of ``survivor``'s order list end with ``status``; a balance lock they
        hold moves to ``survivor`` while it is still open."""
        if survivor.order_list_id < 0:
            return
        order_list = self.lists[survivor.order_list_id]
        for leg in self.list_orders(order_list):
            if leg is survivor or not leg.is_open:
                continue
            if leg.locked_asset is not None and survivor.is_open:
                survivor.locked_asset, survivor.locked_amount = leg.locked_asset, leg.locked_amount
                leg.locked_asset, leg.locked_amount = None, ZERO
            self._close(leg, status)

    def _fill_or_expire(self, order: SpotOrder, price: Decimal, *, is_maker: bool) -> None:
        self._end_list(order, "EXPIRED")
        market = self.markets[order.symbol]
        remaining = order.orig_qty - order.executed_qty
        self._unlock(order)
        if order.side == "BUY":
            affordable = self.balance(market.quote).free >= round_commission(remaining * price)
        else:
            affordable = self.balance(market.base).free >= remaining
        if affordable:
            self._fill(order, price, is_maker=is_maker)
        else:
            self._close(order, "EXPIRED")

    def _fill(self, order: SpotOrder, price: Decimal, *, is_maker: bool) -> None:
        """Fill the whole remaining quantity at ``price`` and settle balances and commission."""
        market = self.markets[order.symbol]
        self._end_list(order, "EXPIRED")
        self._unlock(order)
        qty = order.orig_qty - order.executed_qty
        quote_qty = round_commission(qty * price)
        base_bal = self.balance(market.base)
        quote_bal = self.balance(market.quote)
        if order.side == "BUY":
            commission = round_commission(qty * self.fee_rate)
            commission_asset = market.base
            quote_bal.free -= quote_qty
            base_bal.free += qty - commission
        else:
            commission = round_commission(quote_qty * self.fee_rate)
            commission_asset = market.quote
            base_bal.free -= qty
            quote_bal.free += quote_qty - commission
        now = self._clock()
        fill = Fill(
            trade_id=self._ids.trade(),
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            quote_qty=quote_qty,
            commission=commission,
            commission_asset=commission_asset,
            time=now,
            is_maker=is_maker,
        )
        order.fills.append(fill)
        self.trades.append(fill)
        order.executed_qty += qty
        order.cumm_quote_qty += quote_qty
        order.status = "FILLED"
        order.update_time = now
        self._open.pop(order.order_id, None)


def _level(new: NewOrder) -> Decimal:
    """Where an OCO leg sits: its stop price, or its limit price for a LIMIT_MAKER leg."""
    level = new.stop_price if new.stop_price is not None else new.price
    assert level is not None
    return level


def _crosses(side: str, limit: Decimal, current: Decimal) -> bool:
    """Whether a limit order at ``limit`` would trade at ``current``."""
    return current <= limit if side == "BUY" else current >= limit


def _triggered(order_type: str, side: str, stop: Decimal, current: Decimal) -> bool:
    """Binance's trigger rules for spot stop-loss and take-profit orders."""
    if order_type.startswith("STOP_LOSS"):
        return current <= stop if side == "SELL" else current >= stop
    return current >= stop if side == "SELL" else current <= stop
