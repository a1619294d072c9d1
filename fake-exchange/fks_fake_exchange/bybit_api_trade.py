"""Bybit V5 trading: order create / amend / cancel, open and closed orders, executions."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import bybit_place, bybit_views
from fks_fake_exchange.bybit_account import BybitAccount, BybitOrder
from fks_fake_exchange.bybit_errors import BybitError, Category, invalid
from fks_fake_exchange.bybit_orders import check_linear_price, check_spot_price, parse_new_order
from fks_fake_exchange.bybit_params import BybitParams
from fks_fake_exchange.bybit_web import (
    bybit_of,
    category_of,
    limit_of,
    market_of,
    ok,
    optional_market,
    private,
)
from fks_fake_exchange.futures import FuturesFill
from fks_fake_exchange.orders import Fill

routes = web.RouteTableDef()
ORDER_PATH = "/v5/order/create"
ORDER_FILTERS = ("Order", "StopOrder", "tpslOrder", "OcoOrder", "BidirectionalTpslOrder")


def _ids(order: BybitOrder) -> dict[str, str]:
    return {"orderId": order.order_id, "orderLinkId": order.link_id}


def _find(account: BybitAccount, category: Category, params: BybitParams) -> BybitOrder:
    symbol = params.require_text("symbol")
    return account.find(category, symbol, params.text("orderId"), params.text("orderLinkId"))


@routes.post(ORDER_PATH)
async def create_order(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category = category_of(params)
    market = market_of(ex, category, params)
    new = parse_new_order(params, market, category)
    order = bybit_place.place(bybit_of(ex), new)
    ex.stats.orders_created += 1
    return ok(ex, _ids(order))


@routes.post("/v5/order/amend")
async def amend_order(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category = category_of(params)
    market = market_of(ex, category, params)
    account = bybit_of(ex)
    order = _find(account, category, params)
    price = params.decimal("price")
    if price is not None:
        if category == "spot":
            check_spot_price(market, price)
        else:
            check_linear_price(market, price)
    qty = params.decimal("qty")
    if qty is not None and qty <= 0:
        raise invalid("qty")
    take_profit = params.decimal("takeProfit")
    stop_loss = params.decimal("stopLoss")
    if category == "spot" and (take_profit is not None or stop_loss is not None):
        raise invalid("takeProfit/stopLoss")
    if qty is None and price is None and take_profit is None and stop_loss is None:
        raise BybitError(10001, "params error: nothing to amend")
    bybit_place.amend(account, order, qty, price, take_profit, stop_loss)
    return ok(ex, _ids(order))


@routes.post("/v5/order/cancel")
async def cancel_order(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category = category_of(params)
    market_of(ex, category, params)
    account = bybit_of(ex)
    order = _find(account, category, params)
    account.cancel(order)
    return ok(ex, _ids(order))


@routes.post("/v5/order/cancel-all")
async def cancel_all(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category = category_of(params)
    market = optional_market(ex, category, params)
    if category == "linear" and market is None and params.text("settleCoin") is None:
        raise BybitError(10001, "Missing some parameters that must filled in, symbol or settleCoin")
    account = bybit_of(ex)
    canceled = []
    for order in account.list(category, market.symbol if market else None):
        if account.is_open(order):
            account.cancel(order)
            canceled.append(_ids(order))
    return ok(ex, {"list": canceled, "success": "1"})


def _needs_scope(category: Category, params: BybitParams) -> None:
    """Linear queries without a symbol need a settleCoin or baseCoin, as on Bybit."""
    if category == "linear" and not any(
        params.text(k) is not None for k in ("symbol", "settleCoin", "baseCoin")
    ):
        raise BybitError(
            10001, "Missing some parameters that must filled in, symbol or settleCoin or baseCoin"
        )


def _selected(
    account: BybitAccount,
    category: Category,
    params: BybitParams,
    symbol: str | None,
    *,
    realtime: bool = False,
) -> list[BybitOrder]:
    orders = account.list(category, symbol)
    order_id, link_id = params.text("orderId"), params.text("orderLinkId")
    if order_id is not None:
        orders = [o for o in orders if o.order_id == order_id]
    if link_id is not None:
        orders = [o for o in orders if o.link_id == link_id]
    order_filter = params.text("orderFilter")
    if order_filter is not None:
        if order_filter not in ORDER_FILTERS:
            raise invalid("orderFilter")
        orders = [o for o in orders if _filter_of(o) == order_filter]
    elif realtime and category == "spot":  # open spot orders: plain ones unless asked
        orders = [o for o in orders if _filter_of(o) == "Order"]
    base, settle = params.text("baseCoin"), params.text("settleCoin")
    markets = account.spot.markets if category == "spot" else account.futures.markets
    if base is not None:
        orders = [o for o in orders if markets[o.symbol].base == base]
    if settle is not None:
        orders = [o for o in orders if markets[o.symbol].quote == settle]
    return orders


def _filter_of(order: BybitOrder) -> str:
    if not order.trigger_price or order.create_type != "CreateByUser":
        return "Order"
    return "tpslOrder" if order.stop_order_type == "tpslOrder" else "StopOrder"


def _page(ex_now: int, category: Category, rows: list[dict[str, object]]) -> dict[str, object]:
    return {"category": category, "list": rows, "nextPageCursor": ""}


@routes.get("/v5/order/realtime")
async def open_orders(request: web.Request) -> web.Response:
    """``openOnly=0`` (default): open orders; ``openOnly=1``: the recent 500 closed ones."""
    ex, params = await private(request)
    category = category_of(params)
    _needs_scope(category, params)
    market = optional_market(ex, category, params)
    account = bybit_of(ex)
    open_only = params.integer("openOnly") or 0
    if open_only not in (0, 1, 2):
        raise invalid("openOnly")
    orders = _selected(account, category, params, market.symbol if market else None, realtime=True)
    if open_only == 0:
        orders = [o for o in orders if account.is_open(o)]
    else:
        orders = [o for o in orders if not account.is_open(o)][:500]
    limit = limit_of(params, 20, 50)
    rows = [bybit_views.order_view(account, o) for o in orders[:limit]]
    return ok(ex, _page(ex.now(), category, rows))


@routes.get("/v5/order/history")
async def order_history(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category = category_of(params)
    market = optional_market(ex, category, params)
    account = bybit_of(ex)
    orders = _selected(account, category, params, market.symbol if market else None)
    status = params.text("orderStatus")
    start, end = params.integer("startTime"), params.integer("endTime")
    rows = []
    for order in orders:
        view = bybit_views.order_view(account, order)
        created = int(str(view["createdTime"]))
        if status is not None and view["orderStatus"] != status:
            continue
        if (start is not None and created < start) or (end is not None and created > end):
            continue
        rows.append(view)
    return ok(ex, _page(ex.now(), category, rows[: limit_of(params, 20, 50)]))


@routes.get("/v5/execution/list")
async def executions(request: web.Request) -> web.Response:
    ex, params = await private(request)
    category = category_of(params)
    market = optional_market(ex, category, params)
    account = bybit_of(ex)
    exec_type = params.text("execType")
    orders = {id(o): o for o in _selected(account, category, params, None)}
    trades: list[Fill | FuturesFill] = list(
        account.spot.trades if category == "spot" else account.futures.trades
    )
    start, end = params.integer("startTime"), params.integer("endTime")
    rows = []
    for fill in reversed(trades):
        order = account.by_engine.get((category, fill.order_id))
        if order is None or id(order) not in orders:
            continue
        if market is not None and fill.symbol != market.symbol:
            continue
        if exec_type not in (None, "Trade"):
            continue
        if (start is not None and fill.time < start) or (end is not None and fill.time > end):
            continue
        rows.append(bybit_views.execution_view(account, order, fill))
    return ok(ex, _page(ex.now(), category, rows[: limit_of(params, 50, 100)]))
