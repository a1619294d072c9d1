from __future__ import annotations

import calendar
import itertools
from decimal import Decimal

import pytest

from fks_fake_exchange import marketdata
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market

NOW = 1_700_000_123_456  # 2023-11-14T22:15:23Z
HOUR = 3_600_000


def _ohlc(row: list[object]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return Decimal(str(row[1])), Decimal(str(row[2])), Decimal(str(row[3])), Decimal(str(row[4]))


def test_latest_candles_end_at_the_price(spot_markets: dict[str, Market]) -> None:
    btc = spot_markets["BTCUSDT"]
    rows = marketdata.klines(btc, Decimal(68_000), "1h", None, None, 50, NOW)
    assert len(rows) == 50
    assert rows[-1][0] == NOW - NOW % HOUR
    assert rows[-1][6] == rows[-1][0] + HOUR - 1
    assert _ohlc(rows[-1])[3] == 68_000
    for previous, row in itertools.pairwise(rows):
        assert row[0] == previous[0] + HOUR
        assert _ohlc(row)[0] == _ohlc(previous)[3]  # open = previous close
    for row in rows:
        o, h, low, c = _ohlc(row)
        assert low <= min(o, c) <= max(o, c) <= h
        assert Decimal(66_000) < c < Decimal(70_000)
        assert c % btc.tick_size == 0
    # deterministic: same inputs, same candles; the window does not change past candles
    assert marketdata.klines(btc, Decimal(68_000), "1h", None, None, 50, NOW) == rows
    assert marketdata.klines(btc, Decimal(68_000), "1h", None, None, 10, NOW) == rows[-10:]


def test_start_end_and_limits(spot_markets: dict[str, Market]) -> None:
    btc = spot_markets["BTCUSDT"]
    start = NOW - 10 * HOUR  # not aligned: the first candle opens after it
    first = start - start % HOUR + HOUR
    rows = marketdata.klines(btc, Decimal(68_000), "1h", start, None, 3, NOW)
    assert [r[0] for r in rows] == [first, first + HOUR, first + 2 * HOUR]
    rows = marketdata.klines(btc, Decimal(68_000), "1h", start, NOW + 10 * HOUR, 1000, NOW)
    assert len(rows) == 10  # nothing in the future
    assert len(marketdata.klines(btc, Decimal(68_000), "1m", None, None, 5000, NOW)) == 1000
    with pytest.raises(ApiError, match="-1120"):
        marketdata.klines(btc, Decimal(68_000), "7m", None, None, None, NOW)
    with pytest.raises(ApiError, match="-1102"):
        marketdata.klines(btc, Decimal(68_000), None, None, None, None, NOW)


def test_weekly_and_monthly_candles_open_on_calendar_boundaries(
    spot_markets: dict[str, Market],
) -> None:
    btc = spot_markets["BTCUSDT"]
    weekly = marketdata.klines(btc, Decimal(68_000), "1w", None, None, 3, NOW)
    assert [calendar.weekday(*_ymd(r[0])) for r in weekly] == [0, 0, 0]  # Mondays
    monthly = marketdata.klines(btc, Decimal(68_000), "1M", None, None, 3, NOW)
    assert [_ymd(r[0]) for r in monthly] == [(2023, 9, 1), (2023, 10, 1), (2023, 11, 1)]


def _ymd(ms: object) -> tuple[int, int, int]:
    import datetime

    moment = datetime.datetime.fromtimestamp(int(str(ms)) / 1000, tz=datetime.UTC)
    return moment.year, moment.month, moment.day


def test_ticker_brackets_the_price(spot_markets: dict[str, Market]) -> None:
    btc = spot_markets["BTCUSDT"]
    ticker = marketdata.ticker_24hr(btc, Decimal("68000.5"), NOW)
    assert ticker["lastPrice"] == "68000.50000000"
    assert (
        Decimal(str(ticker["lowPrice"])) <= Decimal("68000.5") <= Decimal(str(ticker["highPrice"]))
    )
    assert Decimal(str(ticker["bidPrice"])) < Decimal(str(ticker["askPrice"]))
    change = Decimal(str(ticker["lastPrice"])) - Decimal(str(ticker["openPrice"]))
    assert Decimal(str(ticker["priceChange"])) == change


def test_depth_levels(spot_markets: dict[str, Market]) -> None:
    book = marketdata.depth(spot_markets["BTCUSDT"], Decimal(68_000), 5, NOW)
    bids, asks = book["bids"], book["asks"]
    assert isinstance(bids, list)
    assert isinstance(asks, list)
    assert [b[0] for b in bids] == [f"{68_000 - k * 0.01:.8f}" for k in range(5)]
    assert asks[0][0] == "68000.01000000"
    with pytest.raises(ApiError, match="-1130"):
        marketdata.depth(spot_markets["BTCUSDT"], Decimal(68_000), 7, NOW)
