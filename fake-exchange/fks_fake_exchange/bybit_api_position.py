"""Bybit V5 positions and their settings: position list, trading-stop (position take-profit /
stop-loss), leverage, position mode, margin mode.

What Bybit refuses, with its retCodes: leverage unchanged (110043) or needing more margin than
is available (110044); position mode unchanged (110025), with a position (110024) or open orders
(110028) on the symbol; account margin mode with positions or orders (3400045 and ``reasons``);
``/v5/position/switch-isolated`` on a unified account (100028: UTA accounts use
``/v5/account/set-margin-mode``).
"""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange import bybit_tpsl, bybit_views
from fks_fake_exchange.bybit_account import BybitAccount
from fks_fake_exchange.bybit_errors import BybitError, invalid, not_supported
from fks_fake_exchange.bybit_params import BybitParams
from fks_fake_exchange.bybit_web import bybit_of, category_of, limit_of, market_of, ok, private
from fks_fake_exchange.decimals import ZERO
from fks_fake_exchange.markets import Market
from fks_fake_exchange.state import Exchange

routes = web.RouteTableDef()
MAX_LEVERAGE = 100
MARGIN_MODES = ("REGULAR_MARGIN", "ISOLATED_MARGIN", "PORTFOLIO_MARGIN")


async def _linear(request: web.Request) -> tuple[Exchange, BybitAccount, BybitParams, Market]:
    ex, params = await private(request)
    category_of(params, ("linear",))
    market = market_of(ex, "linear", params)
    return ex, bybit_of(ex), params, market


@routes.get("/v5/position/list")
async def position_list(request: web.Request) -> web.Response:
    """With ``symbol``: its row, a zero-size one with side "" when flat; with ``settleCoin`` or
    ``baseCoin``: the open positions."""
    ex, params = await private(request)
    if params.text("category") == "inverse" and params.text("symbol") is None:
        # no inverse market, so no inverse position (ccxt.pro's watch_positions snapshot asks)
        return ok(ex, {"category": "inverse", "list": [], "nextPageCursor": ""})
    category_of(params, ("linear",))
    account = bybit_of(ex)
    now = ex.now()
    open_only = params.text("symbol") is None
    if not open_only:
        symbols = [market_of(ex, "linear", params).symbol]
    else:
        settle, base = params.text("settleCoin"), params.text("baseCoin")
        if settle is None and base is None:
            raise BybitError(
                10001, "Missing some parameters that must filled in, symbol or settleCoin"
            )
        symbols = [
            s
            for s, m in ex.futures_markets.items()
            if settle in (None, m.quote) and base in (None, m.base)
        ]
    rows = [
        bybit_views.position_view(account, s, now, p.side)
        for s in symbols
        for p in account.futures.symbol_positions(s)  # hedge mode: the Buy then the Sell side
        if p.qty != 0 or not open_only
    ]
    rows = rows[: limit_of(params, 20, 200)]
    return ok(ex, {"category": "linear", "list": rows, "nextPageCursor": ""})


def _leverage(params: BybitParams) -> int:
    buy, sell = params.require_decimal("buyLeverage"), params.require_decimal("sellLeverage")
    if buy != sell:
        raise be.params_error("buy leverage must equal sell leverage in one-way mode")
    if buy != buy.to_integral_value():
        raise not_supported("fractional leverage")
    if not 1 <= buy <= MAX_LEVERAGE:
        raise be.params_error("leverage invalid: it must be between 1 and 100")
    return int(buy)


@routes.post("/v5/position/set-leverage")
async def set_leverage(request: web.Request) -> web.Response:
    ex, account, params, market = await _linear(request)
    leverage = _leverage(params)
    futures, symbol = account.futures, market.symbol
    if futures.leverage[symbol] == leverage:
        raise BybitError(be.LEVERAGE_NOT_MODIFIED, "leverage not modified")
    if futures.has_position(symbol):
        size = sum((abs(p.qty) for p in futures.symbol_positions(symbol)), ZERO)
        needed = size * futures.price_of(symbol) / leverage
        spare = futures.available(market.quote) + futures.position_margin(symbol)
        if needed > spare:
            raise BybitError(be.MARGIN_INSUFFICIENT_FOR_LEVERAGE, "Insufficient available margin")
    futures.leverage[symbol] = leverage
    return ok(ex, {})


@routes.post("/v5/position/switch-mode")
async def switch_mode(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category_of(params, ("linear",))
    account = bybit_of(ex)
    mode = params.integer("mode")
    if mode not in (0, 3):
        raise invalid("mode")
    if params.text("symbol") is not None:
        symbol = market_of(ex, "linear", params).symbol
        if (symbol in account.futures.hedged) == (mode == 3):
            raise BybitError(be.POSITION_MODE_NOT_MODIFIED, "Position mode is not modified")
        if account.has_positions(symbol):
            raise BybitError(
                be.POSITION_MODE_POSITION,
                "You have an existing position, so position mode cannot be switched",
            )
        if account.has_open_orders(symbol):
            raise BybitError(
                be.POSITION_MODE_ORDERS, "Open orders exist, so you cannot change position mode"
            )
        _set_mode(account, symbol, mode)
        return ok(ex, {})
    coin = params.text("coin")
    if coin is None:
        raise BybitError(10001, "Missing some parameters that must filled in, symbol or coin")
    # by coin: every symbol settled in it without a position or open orders switches
    for symbol, market in ex.futures_markets.items():
        if market.quote == coin and not (
            account.has_positions(symbol) or account.has_open_orders(symbol)
        ):
            _set_mode(account, symbol, mode)
    return ok(ex, {})


def _set_mode(account: BybitAccount, symbol: str, mode: int) -> None:
    if mode == 3:
        account.futures.hedged.add(symbol)
    else:
        account.futures.hedged.discard(symbol)


@routes.post("/v5/account/set-margin-mode")
async def set_margin_mode(request: web.Request) -> web.Response:
    ex, params = await private(request)
    account = bybit_of(ex)
    mode = params.require_text("setMarginMode")
    if mode not in MARGIN_MODES:
        raise invalid("setMarginMode")
    if mode == "PORTFOLIO_MARGIN":
        raise not_supported("portfolio margin")
    reasons = []
    if mode != account.margin_mode:
        if account.has_positions():
            reasons.append(
                {"reasonCode": "3400101", "reasonMsg": "Please ensure that there are no positions"}
            )
        if account.has_open_orders():
            reasons.append(
                {
                    "reasonCode": "3400102",
                    "reasonMsg": "Please ensure that there are no active orders",
                }
            )
    if reasons:
        raise BybitError(
            be.SET_MARGIN_MODE_FAILED, "Set margin mode failed", result={"reasons": reasons}
        )
    account.margin_mode = mode
    return ok(ex, {"reasons": []})


@routes.post("/v5/position/switch-isolated")
async def switch_isolated(request: web.Request) -> web.Response:
    await private(request)
    raise BybitError(be.UNIFIED_FORBIDDEN, "The API cannot be accessed by unified account users.")


@routes.post("/v5/position/trading-stop")
async def trading_stop(request: web.Request) -> web.Response:
    """Take-profit, stop-loss (Full or Partial) and trailing stop of a position (bybit_tpsl)."""
    ex, account, params, market = await _linear(request)
    bybit_tpsl.trading_stop(account, market, params)
    return ok(ex, {})
