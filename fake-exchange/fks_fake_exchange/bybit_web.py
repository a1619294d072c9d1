"""Request helpers of the Bybit venue: parameters (GET query or POST JSON body), private-request
checks, the ``{"retCode": 0, "result": ...}`` envelope, and a request's category and market."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import bybit_signing
from fks_fake_exchange.bybit_account import BybitAccount
from fks_fake_exchange.bybit_errors import BybitError, Category, invalid, ok_body
from fks_fake_exchange.bybit_params import BybitParams, parse_params
from fks_fake_exchange.markets import Market
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.web import exchange, json_response, raw_parts

_PARAMS = "fks.bybit.params"
REJECTED = "fks.bybit.rejected"
CATEGORIES: tuple[Category, ...] = ("spot", "linear")


async def params_of(request: web.Request) -> BybitParams:
    cached = request.get(_PARAMS)
    if cached is None:
        raw_query, raw_body = await raw_parts(request)
        cached = BybitParams(parse_params(request.method, raw_query, raw_body))
        request[_PARAMS] = cached
    params: BybitParams = cached
    return params


def bybit_of(ex: Exchange) -> BybitAccount:
    """The unified account of a server started with ``--venue bybit``."""
    assert ex.bybit is not None, "a Bybit route on a server of another venue"
    return ex.bybit


async def public(request: web.Request) -> tuple[Exchange, BybitParams]:
    return exchange(request), await params_of(request)


async def private(request: web.Request) -> tuple[Exchange, BybitParams]:
    """A private V5 request: API key, signature and recv window checked first."""
    ex = exchange(request)
    raw_query, raw_body = await raw_parts(request)
    bybit_signing.verify(
        headers=request.headers,
        method=request.method,
        raw_query=raw_query,
        raw_body=raw_body,
        keys=ex.keys,
        now_ms=ex.now(),
    )
    return ex, await params_of(request)


def ok(ex: Exchange, result: object) -> web.Response:
    return json_response(ok_body(result, ex.now()))


def error_response(error: BybitError, now_ms: int) -> web.Response:
    return json_response(error.body(now_ms), status=error.status, headers=error.headers or None)


def category_of(params: BybitParams, allowed: tuple[Category, ...] = CATEGORIES) -> Category:
    """``category`` (required): ``spot`` or ``linear`` here (inverse/option are not served)."""
    text = params.require_text("category")
    for category in allowed:
        if text == category:
            return category
    raise BybitError(10001, "params error: category invalid (spot and linear are served)")


def markets_of(ex: Exchange, category: Category) -> dict[str, Market]:
    return ex.spot_markets if category == "spot" else ex.futures_markets


def market_of(ex: Exchange, category: Category, params: BybitParams) -> Market:
    symbol = params.require_text("symbol")
    market = markets_of(ex, category).get(symbol)
    if market is None:
        raise BybitError(10001, "params error: symbol invalid")
    return market


def optional_market(ex: Exchange, category: Category, params: BybitParams) -> Market | None:
    return market_of(ex, category, params) if params.text("symbol") is not None else None


def limit_of(params: BybitParams, default: int, maximum: int) -> int:
    limit = params.integer("limit")
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise invalid("limit")
    return limit
