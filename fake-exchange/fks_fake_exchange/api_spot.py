"""Spot REST API (/api/v3): the endpoints ccxt's binance driver calls for spot trading."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import marketdata
from fks_fake_exchange.decimals import fmt8
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import spot_exchange_info
from fks_fake_exchange.orders import (
    cancel_view,
    generate_client_order_id,
    list_view,
    new_order_view,
    parse_new_order,
    parse_oco,
    query_view,
    trade_view,
)
from fks_fake_exchange.params import Params
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.web import (
    depth_view,
    json_response,
    klines_view,
    limit_param,
    market_of,
    optional_market,
    order_ref,
    public,
    signed,
    spot_markets,
    symbols_list,
    tickers,
)

routes = web.RouteTableDef()
ORDER_PATH = "/api/v3/order"
OCO_PATH = "/api/v3/orderList/oco"


@routes.get("/api/v3/ping")
@routes.get("/api/v1/ping")
async def ping(request: web.Request) -> web.Response:
    await public(request)
    return json_response({})


@routes.get("/api/v3/time")
@routes.get("/api/v1/time")
async def server_time(request: web.Request) -> web.Response:
    ex, _ = await public(request)
    return json_response({"serverTime": ex.now()})


@routes.get("/api/v3/exchangeInfo")
async def exchange_info(request: web.Request) -> web.Response:
    ex, params = await public(request)
    markets = symbols_list(ex.spot_markets, params)
    return json_response(spot_exchange_info(markets, ex.now()))


@routes.get("/api/v3/ticker/24hr")
async def ticker_24hr(request: web.Request) -> web.Response:
    return await tickers(request, spot_markets, marketdata.ticker_24hr)


@routes.get("/api/v3/ticker/price")
async def ticker_price(request: web.Request) -> web.Response:
    return await tickers(request, spot_markets, marketdata.price_ticker)


@routes.get("/api/v3/ticker/bookTicker")
async def book_ticker(request: web.Request) -> web.Response:
    return await tickers(request, spot_markets, marketdata.book_ticker)


@routes.get("/api/v3/avgPrice")
async def avg_price(request: web.Request) -> web.Response:
    ex, params = await public(request)
    market = market_of(ex.spot_markets, params)
    return json_response({"mins": 5, "price": fmt8(ex.price(market.symbol)), "closeTime": ex.now()})


@routes.get("/api/v3/depth")
async def depth(request: web.Request) -> web.Response:
    return await depth_view(request, spot_markets)


@routes.get("/api/v3/klines")
@routes.get("/api/v3/uiKlines")
async def klines(request: web.Request) -> web.Response:
    return await klines_view(request, spot_markets)


def account_view(ex: Exchange, omit_zero: bool) -> dict[str, object]:
    fee = ex.config.feeRate
    balances = [
        {"asset": asset, "free": fmt8(bal.free), "locked": fmt8(bal.locked)}
        for asset, bal in sorted(ex.spot.balances.items())
        if not omit_zero or bal.free or bal.locked
    ]
    return {
        "makerCommission": int(fee * 10_000),
        "takerCommission": int(fee * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt8(fee),
            "taker": fmt8(fee),
            "buyer": fmt8(fee * 0),
            "seller": fmt8(fee * 0),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": ex.now(),
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": 354937868,
    }


@routes.get("/api/v3/account")
async def account(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    return json_response(account_view(ex, bool(params.boolean("omitZeroBalances"))))


@routes.post(ORDER_PATH)
async def new_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    new = parse_new_order(params, ex.spot_markets)
    order = ex.spot.place(new)
    ex.stats.orders_created += 1
    return json_response(new_order_view(order, new.resp_type))


@routes.post("/api/v3/order/test")
async def test_order(request: web.Request) -> web.Response:
    """Validates the parameters like a real order (as Binance's test endpoint), records nothing."""
    ex, params = await signed(request)
    parse_new_order(params, ex.spot_markets)
    return json_response({})


@routes.get(ORDER_PATH)
async def query_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.spot_markets, params)
    order_id, client_id = order_ref(params)
    return json_response(query_view(ex.spot.find(market.symbol, order_id, client_id)))


@routes.delete(ORDER_PATH)
async def cancel_order(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.spot_markets, params)
    order_id, client_id = order_ref(params)
    order = ex.spot.cancel(market.symbol, order_id, client_id)
    cancel_id = params.text("newClientOrderId") or generate_client_order_id()
    return json_response(cancel_view(order, cancel_id, ex.now()))


@routes.get("/api/v3/openOrders")
async def open_orders(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = optional_market(ex.spot_markets, params)
    orders = ex.spot.open_orders(market.symbol if market else None)
    return json_response([query_view(o) for o in sorted(orders, key=lambda o: o.order_id)])


@routes.delete("/api/v3/openOrders")
async def cancel_open_orders(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.spot_markets, params)
    orders = sorted(ex.spot.open_orders(market.symbol), key=lambda o: o.order_id)
    if not orders:
        raise ApiError(-2011, "Unknown order sent.")
    now = ex.now()
    result = []
    for order in orders:
        ex.spot.cancel(market.symbol, order.order_id, None)
        result.append(cancel_view(order, generate_client_order_id(), now))
    return json_response(result)


def _time_window(params_start: int | None, params_end: int | None, t: int) -> bool:
    return (params_start is None or t >= params_start) and (params_end is None or t <= params_end)


@routes.get("/api/v3/allOrders")
async def all_orders(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.spot_markets, params)
    from_id = params.integer("orderId")
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = limit_param(params, 500, 1000)
    orders = [
        o
        for o in sorted(ex.spot.all(), key=lambda o: o.order_id)
        if o.symbol == market.symbol
        and (from_id is None or o.order_id >= from_id)
        and _time_window(start, end, o.time)
    ]
    orders = orders[:limit] if from_id is not None or start is not None else orders[-limit:]
    return json_response([query_view(o) for o in orders])


@routes.get("/api/v3/myTrades")
async def my_trades(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.spot_markets, params)
    order_id = params.integer("orderId")
    from_id = params.integer("fromId")
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = limit_param(params, 500, 1000)
    trades = [
        t
        for t in ex.spot.my_trades(market.symbol)
        if (order_id is None or t.order_id == order_id)
        and (from_id is None or t.trade_id >= from_id)
        and _time_window(start, end, t.time)
    ]
    trades = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
    return json_response([trade_view(t) for t in trades])


@routes.post(OCO_PATH)
async def new_oco(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    new = parse_oco(params, ex.spot_markets)
    order_list = ex.spot.place_oco(new.above, new.below, new.list_client_order_id)
    ex.stats.orders_created += 1
    return json_response(list_view(order_list, ex.spot.list_orders(order_list), new.resp_type))


def _list_ref(params: Params) -> tuple[int | None, str | None]:
    list_id = params.integer("orderListId")
    client_id = params.text("origClientOrderId") or params.text("listClientOrderId")
    if list_id is None and client_id is None:
        raise ApiError(
            -1102,
            "Param 'origClientOrderId' or 'orderListId' must be sent, but both were empty/null!",
        )
    return list_id, client_id


@routes.get("/api/v3/orderList")
async def query_order_list(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    order_list = ex.spot.find_list(*_list_ref(params))
    return json_response(list_view(order_list, ex.spot.list_orders(order_list), None))


@routes.delete("/api/v3/orderList")
async def cancel_order_list(request: web.Request) -> web.Response:
    ex, params = await signed(request)
    market = market_of(ex.spot_markets, params)
    order_list = ex.spot.find_list(*_list_ref(params))
    if order_list.symbol != market.symbol:
        raise ApiError(-2011, "Order list does not exist.")
    legs = ex.spot.cancel_list(order_list)
    return json_response(list_view(order_list, legs, "RESULT"))


@routes.get("/api/v3/openOrderList")
async def open_order_lists(request: web.Request) -> web.Response:
    ex, _ = await signed(request)
    return json_response(
        [
            list_view(lst, ex.spot.list_orders(lst), None)
            for lst in ex.spot.lists.values()
            if ex.spot.list_is_open(lst)
        ]
    )
