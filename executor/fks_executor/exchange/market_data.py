"""Public market data of one account: its markets (of its market type only), tickers, candles.

Shared by composition: the live client and the dry-run client each hold one. Every request
goes through :meth:`Venue.call` (breaker, retries, translation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fks_executor.errors import ExchangeUnavailable
from fks_executor.exchange.errors import Operation
from fks_executor.exchange.markets import MarketIndex, MarketInfo, market_from_ccxt
from fks_executor.exchange.orders import num
from fks_executor.exchange.venue import Venue
from fks_executor.sizing import Candle

__all__ = ["MarketData"]


class MarketData:
    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self._index: MarketIndex | None = None

    @property
    def ready(self) -> bool:
        """Markets are loaded."""
        return self._index is not None

    async def start(self) -> None:
        """Load the markets of the account's market type (the ccxt options set up by
        ``setup.build_ccxt`` make ccxt ask for that type only)."""
        api = self.venue.api

        async def load() -> Any:
            return await api.load_markets()

        markets = await self.venue.call(Operation.READ, load)
        market_type = self.venue.market_type
        infos = [
            market_from_ccxt(
                m, precision_mode=int(api.precisionMode), padding_mode=int(api.paddingMode)
            )
            for m in markets.values()
            if _fits(m, market_type)
        ]
        self._index = MarketIndex(infos, exchange=self.venue.exchange_id, market_type=market_type)

    @property
    def index(self) -> MarketIndex:
        if self._index is None:
            raise ExchangeUnavailable(f"{self.venue.exchange_id}: markets are not loaded yet")
        return self._index

    def resolve_symbol(self, raw: str) -> str:
        return self.index.resolve(raw)

    def market(self, symbol: str) -> MarketInfo:
        return self.index.get(symbol)

    async def fetch_price(self, symbol: str) -> float:
        """Last traded price (else the mid of bid and ask) from the public ticker."""

        async def ticker() -> Any:
            return await self.venue.api.fetch_ticker(symbol)

        raw = await self.venue.call(Operation.READ, ticker)
        price = num(raw.get("last")) or num(raw.get("close"))
        if price is None:
            bid, ask = num(raw.get("bid")), num(raw.get("ask"))
            price = (bid + ask) / 2 if bid and ask else None
        if not price or price <= 0:
            raise ExchangeUnavailable(f"{self.venue.exchange_id}: no price in the {symbol} ticker")
        return price

    async def fetch_candles(
        self, symbol: str, timeframe: str = "1h", limit: int = 100
    ) -> list[Candle]:
        async def ohlcv() -> Any:
            return await self.venue.api.fetch_ohlcv(symbol, timeframe, None, limit)

        rows = await self.venue.call(Operation.READ, ohlcv)
        return [
            Candle(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5] or 0))
            for r in rows
            if len(r) >= 6 and None not in r[1:5]
        ]


def _fits(market: Mapping[str, Any], market_type: str) -> bool:
    """Whether a loaded ccxt market belongs to the account's market type."""
    if market_type in ("spot", "margin"):
        return bool(market.get("spot"))
    if market_type == "swap":
        return bool(market.get("swap"))
    return bool(market.get("future") or market.get("swap"))  # future: dated and perpetual
