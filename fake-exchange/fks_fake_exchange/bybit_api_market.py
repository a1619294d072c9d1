"""Bybit V5 public market data: server time, instruments-info, tickers, order book, klines."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import bybit_views, marketdata
from fks_fake_exchange.bybit_errors import invalid
from fks_fake_exchange.bybit_params import BybitParams
from fks_fake_exchange.bybit_web import (
    category_of,
    limit_of,
    market_of,
    markets_of,
    ok,
    public,
)
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market

routes = web.RouteTableDef()
MAX_LEVERAGE = 100
UNSERVED = ("inverse", "option")
# Bybit kline intervals -> the shared candle generator's
INTERVALS = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
    "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M",
}  # fmt: skip


@routes.get("/v5/market/time")
async def server_time(request: web.Request) -> web.Response:
    ex, _ = await public(request)
    now = ex.now()
    return ok(ex, {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)})


def _selected(markets: dict[str, Market], params: BybitParams) -> list[Market]:
    symbol = params.text("symbol")
    if symbol is None:
        return list(markets.values())
    market = markets.get(symbol)
    return [market] if market is not None else []


@routes.get("/v5/market/instruments-info")
async def instruments_info(request: web.Request) -> web.Response:
    ex, params = await public(request)
    raw = params.require_text("category")
    if raw in UNSERVED:  # a venue without those markets: an empty list, as for an unknown coin
        return ok(ex, {"category": raw, "list": [], "nextPageCursor": ""})
    category = category_of(params)
    status = params.text("status")
    selected = (
        [] if status not in (None, "Trading") else _selected(markets_of(ex, category), params)
    )
    if category == "spot":
        rows = [bybit_views.spot_instrument(m) for m in selected]
    else:
        rows = [bybit_views.linear_instrument(m, MAX_LEVERAGE) for m in selected]
    return ok(ex, {"category": category, "list": rows, "nextPageCursor": ""})


@routes.get("/v5/market/tickers")
async def tickers(request: web.Request) -> web.Response:
    ex, params = await public(request)
    raw = params.require_text("category")
    if raw in UNSERVED:
        return ok(ex, {"category": raw, "list": []})
    category = category_of(params)
    markets = markets_of(ex, category)
    if params.text("symbol") is not None and params.text("symbol") not in markets:
        raise invalid("symbol")
    now = ex.now()
    rows = [bybit_views.ticker(m, ex.price(m.symbol), now) for m in _selected(markets, params)]
    return ok(ex, {"category": category, "list": rows})


@routes.get("/v5/market/orderbook")
async def orderbook(request: web.Request) -> web.Response:
    ex, params = await public(request)
    category = category_of(params)
    market = market_of(ex, category, params)
    limit = limit_of(params, 1 if category == "spot" else 25, 200 if category == "spot" else 500)
    now = ex.now()
    book = marketdata.depth(market, ex.price(market.symbol), 1000, now)
    bids = book["bids"]
    asks = book["asks"]
    assert isinstance(bids, list)
    assert isinstance(asks, list)
    return ok(
        ex,
        {"s": market.symbol, "b": bids[:limit], "a": asks[:limit], "ts": now, "u": now, "seq": now},
    )


@routes.get("/v5/market/kline")
async def kline(request: web.Request) -> web.Response:
    ex, params = await public(request)
    category = category_of(params)
    market = market_of(ex, category, params)
    interval = INTERVALS.get(params.require_text("interval"))
    if interval is None:
        raise invalid("interval")
    try:
        rows = marketdata.klines(
            market,
            ex.price(market.symbol),
            interval,
            params.integer("start"),
            params.integer("end"),
            limit_of(params, 200, 1000),
            ex.now(),
        )
    except ApiError:
        raise invalid("start/end") from None
    # Bybit: [start, open, high, low, close, volume, turnover], newest first, all strings
    candles = [[str(r[0]), r[1], r[2], r[3], r[4], r[5], r[7]] for r in reversed(rows)]
    return ok(ex, {"category": category, "symbol": market.symbol, "list": candles})
