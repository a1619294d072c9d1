"""Public market data around the settable price: 24h tickers, klines, depth.

Everything is deterministic: a candle's shape depends only on (symbol, interval, open time) and
the current price, so two requests for the same window agree and tests can compare runs. The
current candle always closes at the current price; earlier candles wander around it by the
market's ``volatility`` (per 1-minute candle, scaled by the square root of the interval).
"""

from __future__ import annotations

import calendar
import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from fks_fake_exchange.decimals import fmt8, fmt_places, fmt_plain
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market

MINUTE = 60_000
INTERVALS_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": MINUTE,
    "3m": 3 * MINUTE,
    "5m": 5 * MINUTE,
    "15m": 15 * MINUTE,
    "30m": 30 * MINUTE,
    "1h": 60 * MINUTE,
    "2h": 120 * MINUTE,
    "4h": 240 * MINUTE,
    "6h": 360 * MINUTE,
    "8h": 480 * MINUTE,
    "12h": 720 * MINUTE,
    "1d": 1440 * MINUTE,
    "3d": 3 * 1440 * MINUTE,
    "1w": 7 * 1440 * MINUTE,
}
MONTH = "1M"
DAY = 1440 * MINUTE
_WEEK_OFFSET = 4 * DAY  # 1970-01-01 was a Thursday; weekly candles open on Mondays
DEFAULT_KLINES = 500
MAX_KLINES = 1000
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) for the given key."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _to_tick(value: float, market: Market) -> Decimal:
    ticks = (Decimal(repr(value)) / market.tick_size).to_integral_value(rounding=ROUND_HALF_UP)
    return max(ticks, Decimal(1)) * market.tick_size


def _to_step(value: float, market: Market) -> Decimal:
    steps = (Decimal(repr(value)) / market.step_size).to_integral_value(rounding=ROUND_HALF_UP)
    return max(steps, Decimal(1)) * market.step_size


# --- kline time grid ----------------------------------------------------------------------------


def _month_start(ms: int, shift: int = 0) -> int:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    month_index = moment.year * 12 + moment.month - 1 + shift
    year, month = divmod(month_index, 12)
    return calendar.timegm((year, month + 1, 1, 0, 0, 0)) * 1000


def align(interval: str, ms: int) -> int:
    """The open time of the candle that contains ``ms``."""
    if interval == MONTH:
        return _month_start(ms)
    size = INTERVALS_MS[interval]
    if interval == "1w":
        return ms - ((ms - _WEEK_OFFSET) % size)
    return ms - (ms % size)


def step(interval: str, open_time: int, count: int = 1) -> int:
    if interval == MONTH:
        return _month_start(open_time, count)
    return open_time + count * INTERVALS_MS[interval]


def _minutes(interval: str) -> float:
    return 30 * 1440 if interval == MONTH else INTERVALS_MS[interval] / MINUTE


def kline_open_times(
    interval: str, start: int | None, end: int | None, limit: int, now: int
) -> list[int]:
    """Open times Binance would return: from ``start`` forward, or the latest ``limit`` up to
    ``end`` (default now); never a candle that has not opened yet."""
    last_allowed = align(interval, min(end, now) if end is not None else now)
    if start is not None:
        first = align(interval, start)
        if first < start:
            first = step(interval, first)
        times: list[int] = []
        current = first
        while current <= last_allowed and len(times) < limit:
            times.append(current)
            current = step(interval, current)
        return times
    first = step(interval, last_allowed, -(limit - 1))
    return [step(interval, first, i) for i in range(limit)]


# --- candles -----------------------------------------------------------------------------------


def _amplitude(market: Market, interval: str) -> float:
    return min(0.2, float(market.volatility) * math.sqrt(_minutes(interval)))


def _level(market: Market, price: Decimal, interval: str, open_time: int, current: int) -> float:
    """Where candle ``open_time`` closes: exactly the price for the current candle."""
    if open_time >= current:
        return float(price)
    noise = 2 * unit(market.symbol, interval, open_time, "close") - 1
    return float(price) * (1 + _amplitude(market, interval) * noise)


def kline_rows(
    market: Market, price: Decimal, interval: str, open_times: list[int], now: int
) -> list[list[object]]:
    """Binance's kline arrays: [openTime, open, high, low, close, volume, closeTime,
    quoteVolume, trades, takerBuyBase, takerBuyQuote, "0"]."""
    fmt: Callable[[Decimal], str] = fmt8 if market.kind == "spot" else fmt_plain
    current = align(interval, now)
    amp = _amplitude(market, interval)
    rows: list[list[object]] = []
    for t in open_times:
        previous = step(interval, t, -1)
        o = _to_tick(_level(market, price, interval, previous, current), market)
        c = _to_tick(_level(market, price, interval, t, current), market)
        hi = _to_tick(
            float(max(o, c)) * (1 + amp * unit(market.symbol, interval, t, "h") / 2), market
        )
        lo = _to_tick(
            float(min(o, c)) * (1 - amp * unit(market.symbol, interval, t, "l") / 2), market
        )
        notional = (
            50_000 * _minutes(interval) ** 0.5 * (0.5 + unit(market.symbol, interval, t, "v"))
        )
        volume = _to_step(notional / float(price), market)
        quote_volume = volume * c
        trades = 10 + int(500 * unit(market.symbol, interval, t, "n"))
        rows.append(
            [
                t,
                fmt(o),
                fmt(hi),
                fmt(lo),
                fmt(c),
                fmt(volume),
                step(interval, t) - 1,
                fmt(quote_volume),
                trades,
                fmt(volume / 2),
                fmt(quote_volume / 2),
                "0",
            ]
        )
    return rows


def klines(
    market: Market,
    price: Decimal,
    interval: str | None,
    start: int | None,
    end: int | None,
    limit: int | None,
    now: int,
) -> list[list[object]]:
    if interval is None:
        raise ApiError(
            -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."
        )
    if interval not in INTERVALS_MS and interval != MONTH:
        raise ApiError(-1120, "Invalid interval.")
    count = DEFAULT_KLINES if limit is None else max(1, min(limit, MAX_KLINES))
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    times = kline_open_times(interval, start, end, count, now)
    return kline_rows(market, price, interval, times, now)


# --- tickers and depth ---------------------------------------------------------------------------


def _day_range(market: Market, price: Decimal, now: int) -> tuple[Decimal, Decimal, Decimal]:
    amp = min(0.1, float(market.volatility) * math.sqrt(1440) / 2)
    hour = now // (60 * MINUTE)
    open_ = _to_tick(
        float(price) * (1 + amp * (2 * unit(market.symbol, "24h", hour, "o") - 1)), market
    )
    high = _to_tick(
        float(max(open_, price)) * (1 + amp * unit(market.symbol, "24h", hour, "h") / 2), market
    )
    low = _to_tick(
        float(min(open_, price)) * (1 - amp * unit(market.symbol, "24h", hour, "l") / 2), market
    )
    return open_, max(high, price), min(low, price)


def ticker_24hr(market: Market, price: Decimal, now: int) -> dict[str, object]:
    fmt: Callable[[Decimal], str] = fmt8 if market.kind == "spot" else fmt_plain
    open_, high, low = _day_range(market, price, now)
    volume = _to_step(
        5_000_000 * (0.5 + unit(market.symbol, "24h", now // DAY, "v")) / float(price), market
    )
    change = price - open_
    ticker: dict[str, object] = {
        "symbol": market.symbol,
        "priceChange": fmt(change),
        "priceChangePercent": fmt_places(change / open_ * 100, 3),
        "weightedAvgPrice": fmt(((open_ + price) / 2).quantize(market.tick_size)),
    }
    if market.kind == "spot":
        ticker["prevClosePrice"] = fmt(open_)
    ticker["lastPrice"] = fmt(price)
    ticker["lastQty"] = fmt(market.min_qty)
    if market.kind == "spot":
        ticker.update(
            {
                "bidPrice": fmt(price),
                "bidQty": fmt(market.min_qty * 100),
                "askPrice": fmt(price + market.tick_size),
                "askQty": fmt(market.min_qty * 100),
            }
        )
    ticker.update(
        {
            "openPrice": fmt(open_),
            "highPrice": fmt(high),
            "lowPrice": fmt(low),
            "volume": fmt(volume),
            "quoteVolume": fmt(volume * price),
            "openTime": now - DAY,
            "closeTime": now,
            "firstId": 1000,
            "lastId": 1000 + int(200_000 * unit(market.symbol, now // DAY)),
            "count": 1 + int(200_000 * unit(market.symbol, now // DAY)),
        }
    )
    return ticker


def price_ticker(market: Market, price: Decimal, now: int) -> dict[str, object]:
    if market.kind == "spot":
        return {"symbol": market.symbol, "price": fmt8(price)}
    return {"symbol": market.symbol, "price": fmt_plain(price), "time": now}


def book_ticker(market: Market, price: Decimal, now: int) -> dict[str, object]:
    fmt: Callable[[Decimal], str] = fmt8 if market.kind == "spot" else fmt_plain
    ticker: dict[str, object] = {
        "symbol": market.symbol,
        "bidPrice": fmt(price),
        "bidQty": fmt(market.min_qty * 100),
        "askPrice": fmt(price + market.tick_size),
        "askQty": fmt(market.min_qty * 100),
    }
    if market.kind == "futures":
        ticker["time"] = now
    return ticker


def depth(market: Market, price: Decimal, limit: int | None, now: int) -> dict[str, object]:
    count = 100 if limit is None else limit
    if count not in DEPTH_LIMITS:
        raise ApiError(-1130, "Invalid data sent for a parameter 'limit'.")
    fmt: Callable[[Decimal], str] = fmt8 if market.kind == "spot" else fmt_plain
    count = min(count, 1000)
    bids: list[list[str]] = []
    asks: list[list[str]] = []
    for k in range(count):
        bid = price - k * market.tick_size
        if bid > 0:
            qty = _to_step(2_000 * (0.2 + unit(market.symbol, "bid", k)) / float(price), market)
            bids.append([fmt(bid), fmt(qty)])
        ask = price + (k + 1) * market.tick_size
        qty = _to_step(2_000 * (0.2 + unit(market.symbol, "ask", k)) / float(price), market)
        asks.append([fmt(ask), fmt(qty)])
    book: dict[str, object] = {"lastUpdateId": now}
    if market.kind == "futures":
        book.update({"E": now, "T": now})
    book.update({"bids": bids, "asks": asks})
    return book
