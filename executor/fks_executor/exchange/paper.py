"""Dry-run (paper) trading: the same interface as the live client, nothing private ever called.

The ccxt instance is built *without credentials*, so a private endpoint cannot be reached even
by mistake (ccxt would refuse the call before sending it). Public data only:

- markets (for symbol resolution, precision and minimums: the same plan as live);
- the ticker: market orders fill at its last price (a ticker read at most
  ``TICKER_MAX_AGE_SECONDS`` ago is reused, and one up to ``TICKER_STALE_SECONDS`` old while a
  fresh read runs, so a burst of paper alerts neither hammers the exchange's public API from a
  shared IP nor waits for it), limit orders are simulated at their limit price,
  stop-loss/take-profit legs are recorded at their trigger price. Every simulated order has
  ``status: "simulated"`` and ``dry_run: True``, and ids ``dry-<client order id>``;
- OHLCV (for ATR sizing).

Sizing uses ``paperBalanceUSD`` as the free quote balance (it does not shrink with simulated
buys: dry-run shows what each signal would do against the configured balance). Positions are
tracked in process memory so ``close`` can simulate selling what the pipeline bought; they are
per replica and forgotten on restart, and a ``close`` with no simulated position is refused
like a live one (``invalid_order``, nothing to close).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fks_executor.breaker import CircuitBreaker
from fks_executor.domain import Action, OrderResult
from fks_executor.errors import InvalidOrder
from fks_executor.exchange.base import ExecutionReport
from fks_executor.exchange.market_data import MarketData
from fks_executor.exchange.markets import MarketInfo, amount_to_precision, check_limits
from fks_executor.exchange.plan import OrderLeg, OrderPlan
from fks_executor.exchange.retry import RetryPolicy
from fks_executor.exchange.venue import Venue
from fks_executor.risk import Fill
from fks_executor.sizing import Candle

__all__ = ["TICKER_MAX_AGE_SECONDS", "TICKER_STALE_SECONDS", "PaperExchange"]

TICKER_MAX_AGE_SECONDS = 1.0
TICKER_STALE_SECONDS = 3.0


class PaperExchange:
    """Simulated fills on public market data: the
    :class:`~fks_executor.exchange.base.ExchangeClient` of dry-run accounts. It holds the same
    :class:`~.market_data.MarketData` as a live client (markets, ticker, OHLCV) and nothing
    that could send an order."""

    dry_run = True

    def __init__(
        self,
        api: Any,
        *,
        account: str,
        market_type: str,
        paper_balance_usd: float,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if getattr(api, "apiKey", "") or getattr(api, "secret", ""):
            raise ValueError("the dry-run client must be built without credentials")
        self.venue = Venue(
            api,
            account=account,
            market_type=market_type,
            breaker=breaker,
            retry=retry,
            clock=clock,
            sleep=sleep,
        )
        self.data = MarketData(self.venue)
        self._clock = clock
        self.paper_balance_usd = paper_balance_usd
        self._positions: dict[str, float] = {}  # symbol -> signed base amount
        self._lock = asyncio.Lock()
        self._tickers: dict[str, tuple[float, float]] = {}  # symbol -> (monotonic time, price)
        self._reading: dict[str, asyncio.Future[float]] = {}  # symbol -> the read in flight

    @property
    def ready(self) -> bool:
        return self.data.ready

    async def start(self) -> None:
        await self.data.start()

    def resolve_symbol(self, raw: str) -> str:
        return self.data.resolve_symbol(raw)

    def market(self, symbol: str) -> MarketInfo:
        return self.data.market(symbol)

    async def fetch_candles(
        self, symbol: str, timeframe: str = "1h", limit: int = 100
    ) -> list[Candle]:
        return await self.data.fetch_candles(symbol, timeframe, limit)

    async def find_order(self, symbol: str, leg: OrderLeg) -> OrderResult | None:
        """Nothing is ever on the exchange in dry-run."""
        del symbol, leg
        return None

    async def fetch_price(self, symbol: str) -> float:
        """The last price from a ticker read at most ``TICKER_MAX_AGE_SECONDS`` ago; up to
        ``TICKER_STALE_SECONDS`` old it is still used while a fresh read runs in the background
        (so no alert of a steady stream waits for the exchange). Alerts arriving while a read
        is in flight share it."""
        now = time.monotonic()
        cached = self._tickers.get(symbol)
        age = now - cached[0] if cached is not None else float("inf")
        if cached is not None and age <= TICKER_MAX_AGE_SECONDS:
            return cached[1]
        reading = self._reading.get(symbol) or self._read(symbol)
        if cached is not None and age <= TICKER_STALE_SECONDS:
            return cached[1]
        return await asyncio.shield(reading)

    def _read(self, symbol: str) -> asyncio.Future[float]:
        async def read() -> float:
            started = time.monotonic()
            try:
                price = await self.data.fetch_price(symbol)
            finally:
                self._reading.pop(symbol, None)
            self._tickers[symbol] = (started, price)
            return price

        reading = asyncio.ensure_future(read())
        # A background read nobody awaits must not log "exception never retrieved".
        reading.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._reading[symbol] = reading
        return reading

    async def close(self) -> None:
        for reading in list(self._reading.values()):
            reading.cancel()
        await self.venue.close()

    async def fetch_free_balance(self, currency: str) -> float:
        """``paperBalanceUSD`` (sizing asks for the quote currency only)."""
        del currency
        return self.paper_balance_usd

    async def fetch_account_state(
        self, symbol: str, *, balance: bool = True
    ) -> tuple[float, float]:
        return (self.paper_balance_usd if balance else 0.0), self._positions.get(symbol, 0.0)

    async def fetch_position(self, symbol: str) -> float:
        return self._positions.get(symbol, 0.0)

    async def fetch_side_position(self, symbol: str, side: str) -> float:
        """The paper position is one net position per symbol: its part on ``side``."""
        net = self._positions.get(symbol, 0.0)
        return max(0.0, net if side == "long" else -net)

    def _simulate(self, leg: OrderLeg, market: MarketInfo, price: float) -> OrderResult:
        amount = leg.amount or 0.0
        filled = amount if leg.leg.value in ("en", "cl") else 0.0
        if leg.leg.value in ("en", "cl") and leg.type == "limit" and leg.price:
            price = leg.price
        elif leg.trigger_price is not None:
            price = leg.trigger_price
        size = market.contract_size if market.contract else 1.0
        return OrderResult(
            id=f"dry-{leg.client_order_id}",
            client_order_id=leg.client_order_id,
            account=self.venue.account,
            exchange=self.venue.exchange_id,
            symbol=market.symbol,
            side=leg.side,
            type=leg.kind,
            amount=amount,
            price=price,
            status="simulated",
            filled=filled,
            cost=filled * price * size,
            dry_run=True,
            average=price if filled > 0 else None,
        )

    def _book(self, result: OrderResult, market: MarketInfo) -> Fill | None:
        if result.filled <= 0 or result.price is None:
            return None
        base = result.filled * (market.contract_size if market.contract else 1.0)
        signed = base if result.side == "buy" else -base
        self._positions[market.symbol] = self._positions.get(market.symbol, 0.0) + signed
        return Fill(
            timestamp=self._clock(),
            account=self.venue.account,
            symbol=market.symbol,
            side=result.side,
            amount=base,
            price=result.price,
            client_order_id=result.client_order_id,
        )

    async def execute(
        self,
        plan: OrderPlan,
        *,
        resume: bool = False,
        attempted_at: float | None = None,
        deadline: float | None = None,
    ) -> ExecutionReport:
        del resume, attempted_at, deadline  # nothing reaches an exchange: nothing to look up
        market = self.market(plan.symbol)
        needs_ticker = plan.entry.type == "market" and plan.entry.price is None
        price = await self.fetch_price(market.symbol) if needs_ticker else plan.reference_price
        async with self._lock:
            if plan.action is Action.CLOSE:
                return self._simulate_close(plan, market, price)
            entry = self._simulate(plan.entry, market, price)
            fill = self._book(entry, market)
            legs = tuple(self._simulate(leg, market, price) for leg in plan.protective)
        return ExecutionReport(plan=plan, entry=entry, legs=legs, fills=(fill,) if fill else ())

    def _simulate_close(self, plan: OrderPlan, market: MarketInfo, price: float) -> ExecutionReport:
        position = self._positions.get(market.symbol, 0.0)
        if position == 0:
            raise InvalidOrder(
                f"nothing to close on {market.symbol}: no simulated position in this dry-run"
            )
        size = market.contract_size if market.contract else 1.0
        amount = amount_to_precision(market, abs(position) / size)
        check_limits(market, amount, plan.entry.price or price, what="close")
        leg = dataclasses.replace(plan.entry, side="sell" if position > 0 else "buy", amount=amount)
        result = self._simulate(leg, market, price)
        fill = self._book(result, market)
        return ExecutionReport(plan=plan, entry=result, fills=(fill,) if fill else ())
