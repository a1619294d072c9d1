"""USD-M futures REST API (/fapi): market data, orders, algo (conditional) orders. The account
and its settings: :mod:`api_futures_account`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aiohttp import web

from fks_fake_exchange import marketdata
from fks_fake_exchange.decimals import ZERO, fmt_plain
from fks_fake_exchange.errors import ApiError, illegal_chars, mandatory, not_required
from fks_fake_exchange.futures_records import (
    ALGO_TYPES,
    POSITION_SIDES,
    TRAILING,
    NewAlgoOrder,
    NewFuturesOrder,
)
from fks_fake_exchange.futures_views import algo_view, futures_order_view, trade_view
from fks_fake_exchange.markets import Market, futures_exchange_info
from fks_fake_exchange.orders import CLIENT_ORDER_ID_PATTERN, CLIENT_ORDER_ID_RE
from fks_fake_exchange.params import Params
from fks_fake_exchange.web import (
    depth_view,
    futures_markets,
    json_response,
    klines_view,
    limit_param,
    market_of,
    optional_market,
    order_ref,
    public,
    signed,
    tickers,
)

routes = web.RouteTableDef()
ORDER_PATH = "/fapi/v1/order"
ALGO_ORDER_PATH = "/fapi/v1/algoOrder"
TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK", "GTX", "GTD"})
CALLBACK_MIN, CALLBACK_MAX = Decimal("0.1"), Decimal(10)  # percent


def _side(params: Params) -> tuple[str, str]:
    """The order's side and position side (BOTH when absent; the engine checks it against
    the position mode: -4061)."""
    side = params.require_text("side")
    if side not in ("BUY", "SELL"):
        raise ApiError(-1117, "Invalid side.")
    position_side = params.text("positionSide") or "BOTH"
    if position_side not in POSITION_SIDES:
        # -1130, Binance's code for a value outside a parameter's set (-4003 is a quantity <= 0)
        raise ApiError(-1130, "Data sent for parameter 'positionSide' is not valid.")
    return side, position_side


def _reduce_only(params: Params, position_side: str) -> bool:
    """Hedge mode has no reduce-only flag (a SELL of LONG closes): -1106 when sent."""
    reduce_only = params.boolean("reduceOnly")
    if reduce_only is not None and position_side != "BOTH":
        raise ApiError(-1106, "Parameter 'reduceOnly' sent when not required.")
    return bool(reduce_only)


def _client_id(params: Params, name: str) -> str | None:
    value = params.text(name)
    if value is not None and not CLIENT_ORDER_ID_RE.match(value):
        raise illegal_chars(name, CLIENT_ORDER_ID_PATTERN)
    return value


def parse_futures_order(params: Params, markets: dict[str, Market]) -> NewFuturesOrder:
    market = market_of(markets, params)
    side, position_side = _side(params)
    order_type = params.require_text("type")
    if order_type in (
        "STOP",
        "STOP_MARKET",
        "TAKE_PROFIT",
        "TAKE_PROFIT_MARKET",
        "TRAILING_STOP_MARKET",
    ):
        raise ApiError(
            -4120,
            "Order type not supported for this endpoint. "
            "Please use the Algo Order API endpoints instead.",
        )
    if order_type not in ("LIMIT", "MARKET"):
        raise ApiError(-1116, "Invalid orderType.")
    quantity = params.require_decimal("quantity")
    price = params.decimal("price")
    time_in_force = params.text("timeInForce")
    if order_type == "LIMIT":
        if price is None:
            raise mandatory("price")
        if time_in_force is None:
            raise mandatory("timeInForce")
        if time_in_force not in TIME_IN_FORCE:
            raise ApiError(-1115, "Invalid timeInForce.")
    elif price is not None:
        raise not_required("price")
    return NewFuturesOrder(
        market=market,
        side=side,
        type=order_type,
        quantity=quantity,
        price=price,
        time_in_force=time_in_force or "GTC",
        reduce_only=_reduce_only(params, position_side),
        client_order_id=_client_id(params, "newClientOrderId"),
        position_side=position_side,
    )


def parse_algo_order(params: Params, markets: dict[str, Market]) -> NewAlgoOrder:
    algo_type = params.require_text("algoType")
    if algo_type != "CONDITIONAL":
        raise ApiError(-1130, "Invalid data sent for a parameter 'algoType'.")
    market = market_of(markets, params)
    side, position_side = _side(params)
    order_type = params.require_text("type")
    if order_type not in ALGO_TYPES:
        raise ApiError(-1116, "Invalid orderType.")
    rate: Decimal | None = None
    if order_type == TRAILING:
        rate = params.require_decimal("callbackRate")
        if not CALLBACK_MIN <= rate <= CALLBACK_MAX:
            raise ApiError(-1130, "Data sent for parameter 'callbackRate' is not valid.")
        trigger = params.decimal("triggerPrice") or ZERO
    else:
        trigger = params.require_decimal("triggerPrice")
    price = params.decimal("price")
    if order_type in ("STOP", "TAKE_PROFIT") and price is None:
        raise mandatory("price")
    if order_type.endswith("_MARKET") and price is not None:
        raise not_required("price")
    close_position = bool(params.boolean("closePosition"))
    quantity = params.decimal("quantity")
    return NewAlgoOrder(
        market=market,
        side=side,
        type=order_type,
        quantity=quantity,
        trigger_price=trigger,
        price=price,
        time_in_force=params.text("timeInForce") or "GTC",
        reduce_only=_reduce_only(params, position_side),
        close_position=close_position,
        client_algo_id=_client_id(params, "clientAlgoId"),
        working_type=params.text("workingType") or "CONTRACT_PRICE",
        position_side=position_side,
        callback_rate=rate,
        activation_price=params.decimal("activatePrice"),
    )


# --- market data ---------------------------------------------------------------------------------


@routes.get("/fapi/v1/ping")
async def ping(request: web.Request) -> web.Response:
    await public(request)
    return json_response({})


@routes.get("/fapi/v1/time")
async def server_time(request: web.Request) -> web.Response:
    ex, _ = await public(request)
    return json_response({"serverTime": ex.now()})


@routes.get("/fapi/v1/exchangeInfo")
async def exchange_info(request: web.Request) -> web.Response:
    ex, _ = await public(request)
    return json_response(futures_exchange_info(list(ex.futures_markets.values()), ex.now()))


@routes.get("/fapi/v1/ticker/24hr")
async def ticker_24hr(request: web.Request) -> web.Response:
    return await tickers(request, futures_markets, marketdata.ticker_24hr)


@routes.get("/fapi/v1/ticker/price")
@routes.get("/fapi/v2/ticker/price")
async def ticker_price(request: web.Request) -> web.Response:
    return await tickers(request, futures_markets, marketdata.price_ticker)


@routes.get("/fapi/v1/ticker/bookTicker")
async def book_ticker(request: web.Request) -> web.Response:
    return await tickers(request, futures_markets, marketdata.book_ticker)


@routes.get("/fapi/v1/depth")
async def depth(request: web.Request) -> web.Response:
    return await depth_view(request, futures_markets)


@routes.get("/fapi/v1/klines")
@routes.get("/fapi/v1/markPriceKlines")
async def klines(request: web.Request) -> web.Response:
    return await klines_view(request, futures_markets)


@routes.get("/fapi/v1/premiumIndex")
async def premium_index(request: web.Request) -> web.Response:
    ex, params = await public(request)
    now = ex.now()
    moment = datetime.fromtimestamp(now / 1000, tz=UTC)
    next_funding = moment.replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=8 - moment.hour % 8
    )

    def view(market: Market) -> dict[str, object]:
        price = fmt_plain(ex.price(market.symbol))
        return {
            "symbol": market.symbol,
            "markPrice": price,
            "indexPrice": price,
            "estimatedSettlePrice": price,
            "lastFundingRate": "0.00010000",
            "interestRate": "0.00010000",
            "nextFundingTime": int(next_funding.timestamp() * 1000),
            "time": now,
        }

    market = optional_market(ex.futures_markets, params)
    if market is not None:
        return json_response(view(market))
    return json_response([view(m) for m in ex.futures_markets.values()])


# --- orders --------------------------------------------------------------------------------------


@routes.post(ORDER_PATH)
async def new_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    order = ex.futures.place(parse_futures_order(params, ex.futures_markets))
    ex.stats.orders_created += 1
    return json_response(futures_order_view(order, with_time=False))


@routes.get(ORDER_PATH)
async def query_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    order_id, client_id = order_ref(params)
    order = ex.futures.find(market.symbol, order_id, client_id)
    return json_response(futures_order_view(order, with_time=True))


@routes.delete(ORDER_PATH)
async def cancel_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    order_id, client_id = order_ref(params)
    order = ex.futures.cancel(market.symbol, order_id, client_id)
    return json_response(futures_order_view(order, with_time=False))


@routes.get("/fapi/v1/openOrders")
async def open_orders(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = optional_market(ex.futures_markets, params)
    orders = sorted(
        ex.futures.open_orders(market.symbol if market else None), key=lambda o: o.order_id
    )
    return json_response([futures_order_view(o, with_time=True) for o in orders])


@routes.get("/fapi/v1/allOrders")
async def all_orders(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    limit = limit_param(params, 500, 1000)
    orders = [
        o
        for o in sorted(ex.futures.orders.values(), key=lambda o: o.order_id)
        if o.symbol == market.symbol
    ]
    return json_response([futures_order_view(o, with_time=True) for o in orders[-limit:]])


@routes.delete("/fapi/v1/allOpenOrders")
async def cancel_all(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    for order in ex.futures.open_orders(market.symbol):
        ex.futures.cancel(market.symbol, order.order_id, None)
    return json_response({"code": 200, "msg": "The operation of cancel all open order is done."})


@routes.get("/fapi/v1/userTrades")
async def user_trades(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.futures_markets, params)
    order_id = params.integer("orderId")
    limit = limit_param(params, 500, 1000)
    trades = [
        t
        for t in ex.futures.trades
        if t.symbol == market.symbol and (order_id is None or t.order_id == order_id)
    ]
    return json_response([trade_view(t) for t in trades[-limit:]])


@routes.post(ALGO_ORDER_PATH)
async def new_algo_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    algo = ex.futures.place_algo(parse_algo_order(params, ex.futures_markets))
    ex.stats.orders_created += 1
    return json_response(algo_view(algo))


@routes.get(ALGO_ORDER_PATH)
async def query_algo_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    algo_id, client_id = order_ref(params, "algoId", "clientAlgoId")
    return json_response(algo_view(ex.futures.find_algo(algo_id, client_id)))


@routes.delete(ALGO_ORDER_PATH)
async def cancel_algo_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    algo_id, client_id = order_ref(params, "algoId", "clientAlgoId")
    algo = ex.futures.cancel_algo(algo_id, client_id)
    return json_response(
        {
            "algoId": algo.algo_id,
            "clientAlgoId": algo.client_algo_id,
            "code": "200",
            "msg": "success",
        }
    )


@routes.get("/fapi/v1/openAlgoOrders")
async def open_algo_orders(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = optional_market(ex.futures_markets, params)
    algos = ex.futures.open_algo_orders(market.symbol if market else None)
    return json_response([algo_view(a) for a in sorted(algos, key=lambda a: a.algo_id)])
