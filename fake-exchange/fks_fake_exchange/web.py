"""Request helpers shared by the API modules: parameters, SIGNED checks, Binance-style JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from fks_fake_exchange import marketdata, signing
from fks_fake_exchange.errors import ApiError, invalid_symbol
from fks_fake_exchange.markets import Market
from fks_fake_exchange.params import Params, merge_params
from fks_fake_exchange.state import Exchange

EXCHANGE = web.AppKey("exchange", Exchange)
VENUE = web.AppKey("venue", str)
_RAW = "fks.raw"
_PARAMS = "fks.params"
JSON_TYPE = "application/json"


def exchange(request: web.Request) -> Exchange:
    return request.app[EXCHANGE]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    body = json.dumps(data, separators=(",", ":"))
    return web.Response(
        text=body, status=status, content_type=JSON_TYPE, charset="UTF-8", headers=headers
    )


def error_response(error: ApiError) -> web.Response:
    return json_response(error.body(), status=error.status, headers=error.headers or None)


async def raw_parts(request: web.Request) -> tuple[str, str]:
    """The raw (still percent-encoded) query string and body, exactly as sent."""
    cached = request.get(_RAW)
    if cached is None:
        body = (
            (await request.read()).decode("utf-8", errors="replace")
            if request.can_read_body
            else ""
        )
        cached = (request.rel_url.raw_query_string, body)
        request[_RAW] = cached
    raw: tuple[str, str] = cached
    return raw


async def params_of(request: web.Request) -> Params:
    cached = request.get(_PARAMS)
    if cached is None:
        raw_query, raw_body = await raw_parts(request)
        cached = Params(merge_params(raw_query, raw_body))
        request[_PARAMS] = cached
    params: Params = cached
    return params


async def public(request: web.Request) -> tuple[Exchange, Params]:
    return exchange(request), await params_of(request)


async def signed(request: web.Request) -> tuple[Exchange, Params]:
    """A SIGNED (TRADE / USER_DATA) request: API key, HMAC signature and timestamp checked."""
    ex = exchange(request)
    raw_query, raw_body = await raw_parts(request)
    params = await params_of(request)
    signing.verify(
        api_key=request.headers.get(signing.API_KEY_HEADER),
        keys=ex.keys,
        raw_query=raw_query,
        raw_body=raw_body,
        timestamp=params.get("timestamp"),
        recv_window=params.get("recvWindow"),
        now_ms=ex.now(),
    )
    return ex, params


def market_of(markets: dict[str, Market], params: Params, name: str = "symbol") -> Market:
    symbol = params.require_text(name)
    market = markets.get(symbol)
    if market is None:
        raise invalid_symbol()
    return market


def optional_market(markets: dict[str, Market], params: Params) -> Market | None:
    symbol = params.text("symbol")
    if symbol is None:
        return None
    market = markets.get(symbol)
    if market is None:
        raise invalid_symbol()
    return market


def symbols_list(markets: dict[str, Market], params: Params) -> list[Market]:
    """``symbol=X`` or ``symbols=["X","Y"]`` (Binance's JSON array form), else every market."""
    single = optional_market(markets, params)
    if single is not None:
        return [single]
    raw = params.text("symbols")
    if raw is None:
        return list(markets.values())
    try:
        names = json.loads(raw)
    except ValueError:
        raise ApiError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(-1100, "Illegal characters found in parameter 'symbols'.")
    result = []
    for name in names:
        market = markets.get(name)
        if market is None:
            raise invalid_symbol()
        result.append(market)
    return result


def order_ref(
    params: Params, id_name: str = "orderId", client_name: str = "origClientOrderId"
) -> tuple[int | None, str | None]:
    order_id = params.integer(id_name)
    client_id = params.text(client_name)
    if order_id is None and client_id is None:
        raise ApiError(
            -1102, f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!"
        )
    return order_id, client_id


def limit_param(params: Params, default: int, maximum: int) -> int:
    limit = params.integer("limit")
    if limit is None:
        return default
    if limit <= 0:
        raise ApiError(-1130, "Invalid data sent for a parameter 'limit'.")
    return min(limit, maximum)


TickerView = Callable[[Market, Decimal, int], dict[str, object]]


async def tickers(
    request: web.Request, markets_of: Callable[[Exchange], dict[str, Market]], view: TickerView
) -> web.Response:
    """A ticker endpoint: one object for ``symbol=X``, else a list (``symbols=[..]`` or all)."""
    ex, params = await public(request)
    now, markets = ex.now(), markets_of(ex)
    if params.text("symbol") is not None:
        market = market_of(markets, params)
        return json_response(view(market, ex.price(market.symbol), now))
    return json_response([view(m, ex.price(m.symbol), now) for m in symbols_list(markets, params)])


async def depth_view(
    request: web.Request, markets_of: Callable[[Exchange], dict[str, Market]]
) -> web.Response:
    """An order book around the market's price (``symbol``, ``limit``)."""
    ex, params = await public(request)
    market = market_of(markets_of(ex), params)
    price = ex.price(market.symbol)
    return json_response(marketdata.depth(market, price, params.integer("limit"), ex.now()))


async def klines_view(
    request: web.Request, markets_of: Callable[[Exchange], dict[str, Market]]
) -> web.Response:
    """Candles around the market's price (``symbol``, ``interval``, ``startTime``, ...)."""
    ex, params = await public(request)
    market = market_of(markets_of(ex), params)
    rows = marketdata.klines(
        market,
        ex.price(market.symbol),
        params.text("interval"),
        params.integer("startTime"),
        params.integer("endTime"),
        params.integer("limit"),
        ex.now(),
    )
    return json_response(rows)


def spot_markets(ex: Exchange) -> dict[str, Market]:
    return ex.spot_markets


def futures_markets(ex: Exchange) -> dict[str, Market]:
    return ex.futures_markets
