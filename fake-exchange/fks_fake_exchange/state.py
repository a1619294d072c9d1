"""The whole exchange in memory: markets, prices, the account's engines, faults and counters.

One :class:`Exchange` per server. ``reset()`` returns it to the start-up configuration (prices,
balances, no orders, no faults, counters at zero) so tests can share one process.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal

from fks_fake_exchange import bybit_place
from fks_fake_exchange.bybit_account import BybitAccount
from fks_fake_exchange.config import ExchangeConfig
from fks_fake_exchange.faults import FaultBook
from fks_fake_exchange.futures import FuturesEngine
from fks_fake_exchange.markets import Market, build_markets
from fks_fake_exchange.spot import Ids, SpotEngine

REQUEST_LOG_SIZE = 5000


class Clock:
    """Server time in ms; ``offset_ms`` lets tests skew it (to provoke -1021)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


@dataclass
class Stats:
    requests: int = 0
    order_requests: int = 0  # POSTs to an order endpoint that reached the server
    orders_created: int = 0  # orders the exchange recorded (whatever happened to them later)
    orders_rejected: int = 0  # order requests refused with a Binance error
    by_endpoint: Counter[str] = field(default_factory=Counter)

    def view(self, faults_fired: int) -> dict[str, object]:
        return {
            "requests": self.requests,
            "orderRequests": self.order_requests,
            "ordersCreated": self.orders_created,
            "ordersRejected": self.orders_rejected,
            "faultsFired": faults_fired,
            "byEndpoint": dict(sorted(self.by_endpoint.items())),
        }


@dataclass(frozen=True)
class LoggedRequest:
    time: int
    method: str
    path: str
    params: dict[str, str]
    status: int
    fault: str | None

    def view(self) -> dict[str, object]:
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "params": self.params,
            "status": self.status,
            "fault": self.fault,
        }


class PriceError(ValueError):
    pass


class Exchange:
    """``venue`` ``binance``: separate spot and USD-M futures accounts; ``bybit``: one unified
    account (:attr:`bybit`) whose linear positions draw on the spot balances."""

    def __init__(
        self, config: ExchangeConfig, clock: Clock | None = None, venue: str = "binance"
    ) -> None:
        self.config = config
        self.venue = venue
        self.clock = clock or Clock()
        self.keys = config.secrets_by_key()
        self.spot_markets, self.futures_markets = build_markets(config)
        self.reset()

    def reset(self) -> None:
        cfg = self.config
        self.prices: dict[str, Decimal] = {m.market_id: m.price for m in cfg.markets}
        self.ids = Ids()
        self.spot = SpotEngine(
            self.spot_markets, self.price, self.clock.now_ms, self.ids, cfg.feeRate, cfg.balances
        )
        self.futures = FuturesEngine(
            self.futures_markets,
            self.price,
            self.clock.now_ms,
            self.ids,
            cfg.futuresFeeRate,
            cfg.futuresLeverage,
            cfg.futuresBalances,
        )
        self.bybit = (
            BybitAccount(self.spot, self.futures, self.clock.now_ms)
            if self.venue == "bybit"
            else None
        )
        self.faults = FaultBook()
        self.stats = Stats()
        self.requests: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self.clock.offset_ms = 0

    def now(self) -> int:
        return self.clock.now_ms()

    def price(self, symbol: str) -> Decimal:
        return self.prices[symbol]

    def resolve(self, symbol: str) -> str:
        """An exchange id from ``BTC/USDT``, ``BTC/USDT:USDT`` or ``BTCUSDT``."""
        candidate = symbol.split(":")[0].replace("/", "").upper()
        if candidate not in self.prices:
            known = ", ".join(sorted(self.prices))
            raise PriceError(f"unknown symbol {symbol!r} (known: {known})")
        return candidate

    def set_price(self, symbol: str, price: Decimal) -> str:
        """Move a symbol's price (spot and its perpetual) and let orders react; returns the id."""
        market_id = self.resolve(symbol)
        if price <= 0:
            raise PriceError(f"price for {market_id} must be > 0, got {price}")
        market: Market | None = self.spot_markets.get(market_id)
        if market is not None and price % market.tick_size != 0:
            raise PriceError(
                f"price {price} for {market_id} is not a multiple of its tickSize "
                f"{market.tick_size}"
            )
        self.prices[market_id] = price
        if market_id in self.spot_markets:
            self.spot.on_price(market_id)
        if market_id in self.futures_markets:
            self.futures.on_price(market_id)
        if self.bybit is not None:
            bybit_place.on_price(self.bybit, market_id)
        return market_id

    def log(self, entry: LoggedRequest) -> None:
        self.requests.append(entry)
