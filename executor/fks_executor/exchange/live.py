"""Live (testnet or live) trading on one account: the :class:`ExchangeClient` that sends orders.

Composed of the account's :class:`~.venue.Venue` (the ccxt instance, breaker, retries,
translation), its :class:`~.market_data.MarketData` (markets, tickers, candles) and its
:class:`~.sender.OrderSender` (the at-most-once order protocol, with resends of orders proven
absent until the execution deadline). This module adds the private reads (balance, positions)
and the order flow of one plan: the entry (confirmed: fetched when the answer lacks its
fills), then its stop-loss/take-profit legs (``protection.py``), or a close (``closing.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

import ccxt.async_support as ccxt

from fks_executor.breaker import CircuitBreaker
from fks_executor.domain import Action, OrderResult
from fks_executor.exchange.base import ExecutionReport, LegFailure
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.closing import close_position
from fks_executor.exchange.errors import Operation
from fks_executor.exchange.hedge import close_hedged, hedge_sides
from fks_executor.exchange.market_data import MarketData
from fks_executor.exchange.markets import MarketIndex, MarketInfo
from fks_executor.exchange.orders import fee_in_base, fill_from_order, num, order_result
from fks_executor.exchange.plan import OrderLeg, OrderPlan
from fks_executor.exchange.protection import (
    leg_amount_after_fill,
    protect_separately,
    protect_with_oco,
)
from fks_executor.exchange.retry import RetryPolicy
from fks_executor.exchange.sender import OrderSender, Sent
from fks_executor.exchange.streams import AccountStreams, Snapshot, StreamSettings
from fks_executor.exchange.unprotected import guard_close_id
from fks_executor.exchange.venue import Venue
from fks_executor.sizing import Candle

__all__ = ["LiveExchange"]

_ORDER_STAMPS: ContextVar[list[int] | None] = ContextVar("fks_order_stamps", default=None)
"""Venue timestamps of the orders one ``execute`` sent (for the warm state's own-order rule)."""


class LiveExchange:
    """The :class:`~fks_executor.exchange.base.ExchangeClient` for real (or fake) exchanges."""

    dry_run = False

    def __init__(
        self,
        api: Any,
        *,
        account: str,
        market_type: str,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        streams: StreamSettings | None = None,
        ws_orders: bool = False,
    ) -> None:
        self.venue = Venue(
            api,
            account=account,
            market_type=market_type,
            breaker=breaker,
            retry=retry,
            secrets=secrets,
            clock=clock,
            sleep=sleep,
        )
        self.data = MarketData(self.venue)
        self.sender = OrderSender(self.venue)
        self._stream_settings = streams
        self.streams: AccountStreams | None = None
        self.ws_orders = ws_orders and bool(api.has.get("createOrderWs"))
        """Orders without a trigger price go over the websocket (``create_order_ws``)."""

    # ------------------------------------------------------------------ identity

    @property
    def ready(self) -> bool:
        return self.data.ready

    @property
    def api(self) -> Any:
        """The ccxt instance (for this package's order modules only)."""
        return self.venue.api

    def now(self) -> float:
        return self.venue.clock()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.data.start()
        settings = self._stream_settings
        if (
            self.streams is None
            and settings is not None
            and settings.max_age > 0
            and AccountStreams.supported(self.venue.api)
        ):
            self.streams = AccountStreams(
                self.venue.api,
                contract=self.venue.market_type not in ("spot", "margin"),
                settings=settings,
                read=self._read,
            )
            self.streams.start()

    async def _read(self, fn: Snapshot) -> Any:
        return await self.venue.call(Operation.READ, fn)

    async def close(self) -> None:
        if self.streams is not None:
            await self.streams.close()
        await self.venue.close()

    @property
    def index(self) -> MarketIndex:
        return self.data.index

    def resolve_symbol(self, raw: str) -> str:
        return self.data.resolve_symbol(raw)

    def market(self, symbol: str) -> MarketInfo:
        return self.data.market(symbol)

    # ------------------------------------------------------------------ reads

    async def fetch_price(self, symbol: str) -> float:
        streams = self.streams
        if streams is None:
            return await self.data.fetch_price(symbol)
        warm = streams.price(symbol)
        if warm is not None:
            return warm
        at = streams.now()
        price = await self.data.fetch_price(symbol)
        streams.confirm_price(symbol, price, at)
        return price

    async def fetch_candles(
        self, symbol: str, timeframe: str = "1h", limit: int = 100
    ) -> list[Candle]:
        return await self.data.fetch_candles(symbol, timeframe, limit)

    async def _balance(self) -> Mapping[str, Any]:
        async def balance() -> Any:
            return await self.venue.api.fetch_balance()

        at = self.streams.now() if self.streams is not None else 0.0
        raw = await self.venue.call(Operation.READ, balance)
        raw = raw if isinstance(raw, Mapping) else {}
        if self.streams is not None:
            self.streams.confirm_balance(raw, at)
        return raw

    async def fetch_free_balance(self, currency: str) -> float:
        raw = await self._balance()
        return num((raw.get("free") or {}).get(currency)) or 0.0

    async def fetch_position(self, symbol: str) -> float:
        market = self.market(symbol)
        if not market.contract:
            raw = await self._balance()
            return num((raw.get("total") or {}).get(market.base)) or 0.0

        async def positions() -> Any:
            return await self.venue.api.fetch_positions([symbol])

        total = 0.0
        for pos in await self.venue.call(Operation.READ, positions):
            if pos.get("symbol") != symbol:
                continue
            contracts = num(pos.get("contracts")) or 0.0
            size = num(pos.get("contractSize")) or market.contract_size
            sign = -1.0 if pos.get("side") == "short" else 1.0
            total += sign * abs(contracts) * size
        return total

    async def fetch_side_position(self, symbol: str, side: str) -> float:
        market = self.market(symbol)
        return (await hedge_sides(self, market))[side] * market.contract_size

    async def fetch_account_state(
        self, symbol: str, *, balance: bool = True
    ) -> tuple[float, float]:
        """(free quote balance, signed position in base) with as few requests as possible:
        none while the account's streams keep it warm (``streams.py``), else spot: one
        balance request for both. ``balance=False`` skips the balance (0.0)."""
        market = self.market(symbol)
        warm = self._warm_state(market, balance=balance)
        if warm is not None:
            return warm
        if market.contract:
            free = await self.fetch_free_balance(market.quote) if balance else 0.0
            return free, await self.fetch_position(symbol)
        raw = await self._balance()
        free = num((raw.get("free") or {}).get(market.quote)) or 0.0
        total = num((raw.get("total") or {}).get(market.base)) or 0.0
        return (free if balance else 0.0), total

    def _warm_state(self, market: MarketInfo, *, balance: bool) -> tuple[float, float] | None:
        streams = self.streams
        if streams is None:
            return None
        size = market.contract_size if market.contract else 1.0
        if not balance:
            position = streams.position_only(market.symbol, market.base)
            return None if position is None else (0.0, position * size)
        state = streams.account_state(market.symbol, market.base, market.quote)
        return None if state is None else (state[0], state[1] * size)

    # ------------------------------------------------------------------ orders

    async def _guard_closed(self, market: MarketInfo, plan: OrderPlan) -> OrderResult | None:
        """The guard's close of a resumed entry (docs/trading.md#when-a-protection-fails)."""
        side = "sell" if plan.entry.side == "buy" else "buy"
        cid = guard_close_id(plan)
        leg = OrderLeg(Leg.UNPROTECTED_CLOSE, cid, side, "market", None, hedged=plan.entry.hedged)
        raw = await self.sender.find(market, leg)
        return None if raw is None else self.result(raw, leg, market)

    async def find_order(self, symbol: str, leg: OrderLeg) -> OrderResult | None:
        """Look one planned order up by its client order id (None: the exchange has none)."""
        market = self.market(symbol)
        raw = await self.sender.find(market, leg)
        return None if raw is None else self.result(raw, leg, market)

    def result(self, raw: Mapping[str, Any], leg: OrderLeg, market: MarketInfo) -> OrderResult:
        return order_result(
            raw, leg=leg, account=self.venue.account, exchange=self.venue.exchange_id, market=market
        )

    async def place(
        self,
        market: MarketInfo,
        leg: OrderLeg,
        *,
        params: dict[str, Any] | None = None,
        look_first: bool = False,
        attempted_at: float | None = None,
        deadline: float | None = None,
    ) -> Sent:
        """Send ``leg`` through the order protocol, then confirm it (its fills fetched when
        the answer lacks them)."""
        assert leg.amount is not None
        args = (
            market.symbol,
            leg.type,
            leg.side,
            leg.amount,
            leg.price,
            params if params is not None else leg.ccxt_params(),
        )
        api = self.venue.api
        over_ws = self.ws_orders and leg.trigger_price is None

        async def create() -> Any:
            if not over_ws:
                return await api.create_order(*args)
            # ccxt.pro waits for a websocket answer without a time limit: bound it by the
            # account's request timeout, after which the outcome is unknown (looked up).
            try:
                return await asyncio.wait_for(api.create_order_ws(*args), api.timeout / 1000)
            except TimeoutError:
                raise ccxt.RequestTimeout(
                    f"{api.id} order {leg.client_order_id}: no websocket answer within "
                    f"{api.timeout / 1000:g}s"
                ) from None

        sent = await self.sender.send(
            market,
            leg,
            create,
            look_first=look_first,
            attempted_at=attempted_at,
            deadline=deadline,
        )
        raw = await self.sender.confirm(market, leg, sent.raw)
        stamps = _ORDER_STAMPS.get()
        if stamps is not None:
            keys = ("timestamp", "lastTradeTimestamp", "lastUpdateTimestamp")
            stamps.extend(int(t) for t in (num(raw.get(k)) for k in keys) if t)
        return Sent(raw, sent.found, sent.requests)

    async def execute(
        self,
        plan: OrderPlan,
        *,
        resume: bool = False,
        attempted_at: float | None = None,
        deadline: float | None = None,
    ) -> ExecutionReport:
        if self.streams is None:
            return await self._execute(
                plan, resume=resume, attempted_at=attempted_at, deadline=deadline
            )
        stamps: list[int] = []
        token = _ORDER_STAMPS.set(stamps)
        complete = False
        try:
            report = await self._execute(
                plan, resume=resume, attempted_at=attempted_at, deadline=deadline
            )
            complete = True
            return report
        finally:
            _ORDER_STAMPS.reset(token)
            # every order of it answered: the newest venue time they carry; else unknown
            self.streams.after_own_order(max(stamps) if complete and stamps else None)

    async def _execute(
        self,
        plan: OrderPlan,
        *,
        resume: bool,
        attempted_at: float | None,
        deadline: float | None,
    ) -> ExecutionReport:
        market = self.market(plan.symbol)
        if plan.hedge_closes:
            return await close_hedged(self, plan, market, resume=resume, deadline=deadline)
        if plan.action is Action.CLOSE:
            return await close_position(
                self, plan, market, resume=resume, attempted_at=attempted_at, deadline=deadline
            )
        sent = await self.place(
            market,
            plan.entry,
            params=plan.entry_params(),
            look_first=resume,
            attempted_at=attempted_at,
            deadline=deadline,
        )
        raw = sent.raw
        entry = self.result(raw, plan.entry, market)
        fills = [f for f in [fill_from_order(raw, entry, market, self.now())] if f]
        legs: list[OrderResult] = []
        failures: list[LegFailure] = []
        if plan.protective and not plan.attached:
            amount = leg_amount_after_fill(market, entry.filled, fee_in_base(raw, market))
            if entry.filled <= 0:
                failures.extend(
                    LegFailure(
                        leg.leg.value,
                        "entry_not_filled",
                        f"the {entry.type} entry is {entry.status} with nothing filled; "
                        "the leg is not placed",
                    )
                    for leg in plan.protective
                )
            elif resume and (closed := await self._guard_closed(market, plan)) is not None:
                failures.extend(
                    LegFailure(
                        leg.leg.value,
                        "closed_unprotected",
                        f"order {closed.client_order_id} ({closed.status}) closed the position "
                        "after a protection failed; the leg is not placed again",
                    )
                    for leg in plan.protective
                )
            else:
                protect = protect_with_oco if plan.oco else protect_separately
                legs, failures = await protect(
                    self,
                    market,
                    plan,
                    amount,
                    resume=resume,
                    attempted_at=attempted_at,
                    deadline=deadline,
                )
        return ExecutionReport(
            plan=plan,
            entry=entry,
            legs=tuple(legs),
            leg_failures=tuple(failures),
            recovered=sent.found,
            fills=tuple(fills),
        )
