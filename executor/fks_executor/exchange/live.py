"""Live (testnet or live) trading on one account through one ``ccxt.async_support`` instance.

Every exchange call goes through :meth:`LiveExchange._call`: the account's circuit breaker,
then (for idempotent requests) tenacity retries on network-class failures, then error
translation. ``create_order`` is the exception to the retry rule: it is sent at most once per
call, and when it fails in a way that leaves the order's fate unknown (a timeout, a reset
connection, a 5xx, an unparseable answer), the order is looked up by its client order id:

1. found -> that is the order (not sent again);
2. not found -> wait until the exchange would refuse the request as late (Binance:
   ``recvWindow`` after it was signed, + 1 s of clock skew) and look again; still not found ->
   it was never placed: ``ExchangeUnavailable`` (safe to send again later);
3. the lookups fail too -> ``OrderOutcomeUnknown``: nothing may be sent for this signal until a
   later ``execute(plan, resume=True)`` has found the order or proven it absent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from fks_executor.breaker import CircuitBreaker
from fks_executor.domain import Action, OrderResult
from fks_executor.errors import ExchangeUnavailable, ExecutorError
from fks_executor.exchange.base import ExecutionReport, LegFailure
from fks_executor.exchange.closing import close_position
from fks_executor.exchange.errors import (
    Operation,
    OrderOutcomeUnknown,
    is_temporary,
    translate,
)
from fks_executor.exchange.markets import (
    MarketIndex,
    MarketInfo,
    market_from_ccxt,
)
from fks_executor.exchange.orders import fee_in_base, fill_from_order, num, order_result
from fks_executor.exchange.plan import Capabilities, OrderLeg, OrderPlan, leg_amount_after_fill
from fks_executor.exchange.protection import protect_separately, protect_with_oco
from fks_executor.exchange.retry import RetryPolicy, retrying
from fks_executor.exchange.setup import quirks_for
from fks_executor.fence import check_fence
from fks_executor.sizing import Candle

__all__ = ["LiveExchange"]

T = TypeVar("T")

_DEFAULT_SETTLE_SECONDS = 10.0


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
    ) -> None:
        self._api = api
        self._account = account
        self._exchange_id = str(api.id)
        self.market_type = market_type
        self.breaker = breaker or CircuitBreaker(account)
        self.retry = retry or RetryPolicy()
        self._secrets = secrets
        self._clock = clock
        self._sleep = sleep
        self._index: MarketIndex | None = None
        self._caps = Capabilities.from_has(
            dict(api.has), spot_oco=quirks_for(self._exchange_id).spot_oco
        )

    # ------------------------------------------------------------------ identity

    @property
    def account(self) -> str:
        return self._account

    @property
    def exchange_id(self) -> str:
        return self._exchange_id

    @property
    def ready(self) -> bool:
        return self._index is not None

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def api(self) -> Any:
        """The ccxt instance (for this package's order modules only)."""
        return self._api

    def now(self) -> float:
        return self._clock()

    @property
    def settle_seconds(self) -> float:
        if self.retry.settle_seconds is not None:
            return self.retry.settle_seconds
        option = quirks_for(self._exchange_id).settle_option
        window = num(self._api.options.get(option)) if option else None
        return window / 1000.0 + 1.0 if window else _DEFAULT_SETTLE_SECONDS

    # ------------------------------------------------------------------ plumbing

    async def call(
        self, operation: Operation, fn: Callable[[], Awaitable[T]], *, retry: bool = True
    ) -> T:
        """Breaker -> retries (idempotent calls) -> translation, for one logical call."""

        async def attempt() -> T:
            try:
                if retry:
                    return await retrying(self.retry, fn)
                return await fn()
            except ExecutorError:
                raise
            except Exception as exc:
                raise self._translate(exc, operation) from exc

        return await self.breaker.call(attempt)

    def _translate(self, exc: BaseException, operation: Operation) -> ExecutorError:
        return translate(
            exc, exchange=self._exchange_id, operation=operation, secrets=self._secrets
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        async def load() -> Any:
            return await self._api.load_markets()

        markets = await self.call(Operation.READ, load)
        infos = [
            market_from_ccxt(
                m,
                precision_mode=int(self._api.precisionMode),
                padding_mode=int(self._api.paddingMode),
            )
            for m in markets.values()
            if _fits(m, self.market_type)
        ]
        self._index = MarketIndex(infos, exchange=self._exchange_id, market_type=self.market_type)

    async def close(self) -> None:
        await self._api.close()

    @property
    def index(self) -> MarketIndex:
        if self._index is None:
            raise ExchangeUnavailable(f"{self._exchange_id}: markets are not loaded yet")
        return self._index

    def resolve_symbol(self, raw: str) -> str:
        return self.index.resolve(raw)

    def market(self, symbol: str) -> MarketInfo:
        return self.index.get(symbol)

    # ------------------------------------------------------------------ reads

    async def fetch_price(self, symbol: str) -> float:
        async def ticker() -> Any:
            return await self._api.fetch_ticker(symbol)

        raw = await self.call(Operation.READ, ticker)
        price = num(raw.get("last")) or num(raw.get("close"))
        if price is None:
            bid, ask = num(raw.get("bid")), num(raw.get("ask"))
            price = (bid + ask) / 2 if bid and ask else None
        if not price or price <= 0:
            raise ExchangeUnavailable(f"{self._exchange_id}: no price in the {symbol} ticker")
        return price

    async def _balance(self) -> Mapping[str, Any]:
        async def balance() -> Any:
            return await self._api.fetch_balance()

        raw = await self.call(Operation.READ, balance)
        return raw if isinstance(raw, Mapping) else {}

    async def fetch_free_balance(self, currency: str) -> float:
        raw = await self._balance()
        return num((raw.get("free") or {}).get(currency)) or 0.0

    async def fetch_position(self, symbol: str) -> float:
        market = self.market(symbol)
        if not market.contract:
            raw = await self._balance()
            return num((raw.get("total") or {}).get(market.base)) or 0.0

        async def positions() -> Any:
            return await self._api.fetch_positions([symbol])

        total = 0.0
        for pos in await self.call(Operation.READ, positions):
            if pos.get("symbol") != symbol:
                continue
            contracts = num(pos.get("contracts")) or 0.0
            size = num(pos.get("contractSize")) or market.contract_size
            sign = -1.0 if pos.get("side") == "short" else 1.0
            total += sign * abs(contracts) * size
        return total

    async def fetch_account_state(
        self, symbol: str, *, balance: bool = True
    ) -> tuple[float, float]:
        """(free quote balance, signed position in base) with as few requests as possible
        (spot: one balance request for both). ``balance=False`` skips the balance (0.0)."""
        market = self.market(symbol)
        if market.contract:
            free = await self.fetch_free_balance(market.quote) if balance else 0.0
            return free, await self.fetch_position(symbol)
        raw = await self._balance()
        free = num((raw.get("free") or {}).get(market.quote)) or 0.0
        total = num((raw.get("total") or {}).get(market.base)) or 0.0
        return (free if balance else 0.0), total

    async def fetch_candles(
        self, symbol: str, timeframe: str = "1h", limit: int = 100
    ) -> list[Candle]:
        async def ohlcv() -> Any:
            return await self._api.fetch_ohlcv(symbol, timeframe, None, limit)

        rows = await self.call(Operation.READ, ohlcv)
        return [
            Candle(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5] or 0))
            for r in rows
            if len(r) >= 6 and None not in r[1:5]
        ]

    # ------------------------------------------------------------------ orders

    async def _lookup_raw(self, market: MarketInfo, leg: OrderLeg) -> Mapping[str, Any] | None:
        """The exchange's order with the leg's client order id, or None (retried reads)."""
        params: dict[str, Any] = {}
        if market.contract and leg.trigger_price is not None:
            params["trigger"] = True

        async def fetch() -> Any:
            try:
                return await self._api.fetch_order_with_client_order_id(
                    leg.client_order_id, market.symbol, params
                )
            except ccxt.OrderNotFound:
                return None

        raw = await retrying(self.retry, fetch)
        return raw if isinstance(raw, Mapping) else None

    async def find_order(self, symbol: str, leg: OrderLeg) -> OrderResult | None:
        """Look one planned order up by its client order id (None: the exchange has none)."""
        market = self.market(symbol)

        async def lookup() -> Mapping[str, Any] | None:
            return await self._lookup_raw(market, leg)

        raw = await self.call(Operation.LOOKUP, lookup, retry=False)
        return None if raw is None else self.result(raw, leg, market)

    def result(self, raw: Mapping[str, Any], leg: OrderLeg, market: MarketInfo) -> OrderResult:
        return order_result(
            raw, leg=leg, account=self._account, exchange=self._exchange_id, market=market
        )

    async def place(
        self,
        market: MarketInfo,
        leg: OrderLeg,
        *,
        params: dict[str, Any] | None = None,
        look_first: bool = False,
        attempted_at: float | None = None,
    ) -> tuple[Mapping[str, Any], bool]:
        """Send ``leg`` at most once; returns (ccxt order, found-instead-of-sent)."""
        assert leg.amount is not None
        amount = leg.amount

        async def send() -> Any:
            return await self._api.create_order(
                market.symbol,
                leg.type,
                leg.side,
                amount,
                leg.price,
                params if params is not None else leg.ccxt_params(),
            )

        raw, found = await self.send_once(market, leg, send, look_first, attempted_at)
        return (raw if isinstance(raw, Mapping) else {}), found

    async def send_once(
        self,
        market: MarketInfo,
        probe: OrderLeg,
        send: Callable[[], Awaitable[Any]],
        look_first: bool,
        attempted_at: float | None,
    ) -> tuple[Any, bool]:
        """Send one order request at most once (through the breaker, never retried).

        ``probe`` is the order whose client id tells whether the request went through. With
        ``look_first`` it is looked up before sending; when the request fails in a way that
        leaves its fate unknown, it is looked up after (see the module docstring). Returns
        (the answer, False) or (the order found by lookup, True)."""

        async def place() -> tuple[Any, bool]:
            if look_first:
                found = await self.settled_lookup(market, probe, attempted_at, cause=None)
                if found is not None:
                    return found, True
            check_fence()  # the last word on whether this process may still send
            sent_at = self._clock()
            try:
                return await send(), False
            except Exception as exc:
                error = self._translate(exc, Operation.ORDER)
                if isinstance(exc, ccxt.BaseError) and not is_temporary(exc):
                    raise error from exc  # the exchange (or ccxt, before sending) refused it
                found = await self.settled_lookup(market, probe, sent_at, cause=error)
                if found is None:
                    raise ExchangeUnavailable(
                        f"order {probe.client_order_id} on {market.symbol} was not placed: the "
                        f"request failed ({error.detail}) and no order with this client order "
                        f"id exists {self.settle_seconds:g}s later"
                    ) from exc
                return found, True

        return await self.call(Operation.ORDER, place, retry=False)

    async def settled_lookup(
        self,
        market: MarketInfo,
        leg: OrderLeg,
        since: float | None,
        *,
        cause: ExecutorError | None,
    ) -> Mapping[str, Any] | None:
        """Look the order up; if absent, again once a request sent at ``since`` (None: now)
        can no longer land. Lookups that keep failing raise ``OrderOutcomeUnknown``."""
        try:
            found = await self._lookup_raw(market, leg)
            if found is None:
                start = since if since is not None else self._clock()
                wait = start + self.settle_seconds - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                    found = await self._lookup_raw(market, leg)
        except Exception as exc:
            lookup_error = self._translate(exc, Operation.LOOKUP)
            first = f"the request failed ({cause.detail}) and " if cause else ""
            raise OrderOutcomeUnknown(
                f"order {leg.client_order_id} on {market.symbol}: {first}looking it up failed "
                f"({lookup_error.detail}); it is looked up again before anything is re-sent",
                client_order_id=leg.client_order_id,
                symbol=market.symbol,
            ) from exc
        return found

    async def execute(
        self, plan: OrderPlan, *, resume: bool = False, attempted_at: float | None = None
    ) -> ExecutionReport:
        market = self.market(plan.symbol)
        if plan.action is Action.CLOSE:
            return await close_position(
                self, plan, market, resume=resume, attempted_at=attempted_at
            )
        raw, recovered = await self.place(
            market,
            plan.entry,
            params=plan.entry_params(),
            look_first=resume,
            attempted_at=attempted_at,
        )
        entry = self.result(raw, plan.entry, market)
        fills = [f for f in [fill_from_order(raw, entry, market, self._clock())] if f]
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
            else:
                protect = protect_with_oco if plan.oco else protect_separately
                legs, failures = await protect(
                    self, market, plan, amount, resume=resume, attempted_at=attempted_at
                )
        return ExecutionReport(
            plan=plan,
            entry=entry,
            legs=tuple(legs),
            leg_failures=tuple(failures),
            recovered=recovered,
            fills=tuple(fills),
        )


def _fits(market: Mapping[str, Any], market_type: str) -> bool:
    """Whether a loaded ccxt market belongs to the account's market type."""
    if market_type in ("spot", "margin"):
        return bool(market.get("spot"))
    if market_type == "swap":
        return bool(market.get("swap"))
    return bool(market.get("future") or market.get("swap"))  # future: dated and perpetual
