"""USD-M futures REST API (/fapi): the account, its positions and its settings (leverage,
margin type, position mode; the rules: :mod:`futures_settings`)."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import futures_settings
from fks_fake_exchange.decimals import fmt_plain
from fks_fake_exchange.errors import mandatory
from fks_fake_exchange.futures_records import max_notional
from fks_fake_exchange.futures_views import (
    account_view,
    balance_view,
    leverage_bracket_view,
    position_view,
    symbol_config_view,
)
from fks_fake_exchange.web import json_response, market_of, optional_market, signed

routes = web.RouteTableDef()
SUCCESS = {"code": 200, "msg": "success"}


@routes.get("/fapi/v2/account")
@routes.get("/fapi/v3/account")
async def account(request: web.Request) -> web.Response:
    ex, _ = await signed(request)
    return json_response(account_view(ex.futures, ex.now(), v2=request.path.startswith("/fapi/v2")))


@routes.get("/fapi/v2/balance")
@routes.get("/fapi/v3/balance")
async def balance(request: web.Request) -> web.Response:
    ex, _ = await signed(request)
    return json_response(balance_view(ex.futures, ex.now()))


@routes.get("/fapi/v2/positionRisk")
@routes.get("/fapi/v3/positionRisk")
async def position_risk(request: web.Request) -> web.Response:
    """v2: every position of the asked symbols (LONG and SHORT in hedge mode), with leverage and
    margin type; v3: the open ones only."""
    ex, params = await signed(request)
    v2 = request.path.startswith("/fapi/v2")
    market = optional_market(ex.futures_markets, params)
    symbols = [market.symbol] if market else sorted(ex.futures.positions)
    views = [
        position_view(ex.futures, p, v2=v2)
        for s in symbols
        for p in ex.futures.symbol_positions(s)
        if v2 or p.qty != 0
    ]
    return json_response(views)


@routes.get("/fapi/v1/leverageBracket")
async def leverage_bracket(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = optional_market(ex.futures_markets, params)
    if market is not None:
        return json_response([leverage_bracket_view(market.symbol)])
    return json_response([leverage_bracket_view(s) for s in sorted(ex.futures_markets)])


@routes.get("/fapi/v1/symbolConfig")
async def symbol_config(request: web.Request) -> web.Response:
    """Leverage and margin type per symbol (ccxt's ``fetch_leverages`` / ``fetch_margin_mode``)."""
    ex, params = await signed(request)
    market = optional_market(ex.futures_markets, params)
    symbols = [market.symbol] if market else sorted(ex.futures_markets)
    return json_response([symbol_config_view(ex.futures, s) for s in symbols])


@routes.post("/fapi/v1/leverage")
async def set_leverage(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    leverage = params.integer("leverage")
    if leverage is None:
        raise mandatory("leverage")
    futures_settings.set_leverage(ex.futures, market.symbol, leverage)
    return json_response(
        {
            "leverage": leverage,
            "maxNotionalValue": fmt_plain(max_notional(leverage)),
            "symbol": market.symbol,
        }
    )


@routes.post("/fapi/v1/marginType")
async def set_margin_type(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    margin_type = params.require_text("marginType")
    futures_settings.set_margin_type(ex.futures, market.symbol, margin_type)
    return json_response(SUCCESS)


@routes.get("/fapi/v1/positionSide/dual")
async def position_mode(request: web.Request) -> web.Response:
    ex, _ = await signed(request)
    return json_response({"dualSidePosition": futures_settings.is_dual(ex.futures)})


@routes.post("/fapi/v1/positionSide/dual")
async def set_position_mode(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    dual = params.boolean("dualSidePosition")
    if dual is None:
        raise mandatory("dualSidePosition")
    futures_settings.set_dual(ex.futures, dual)
    return json_response(SUCCESS)
