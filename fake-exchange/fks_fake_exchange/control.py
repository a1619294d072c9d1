"""The control API for tests and demos, under ``/_fake/`` (unsigned, loopback clients only).

Bodies are JSON with camelCase keys; a bad body is answered ``400 {"error": "..."}`` naming the
problem. See docs/fake-exchange.md for every endpoint.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fks_fake_exchange import bybit_control
from fks_fake_exchange.config import describe_validation_error
from fks_fake_exchange.decimals import ZERO, fmt_plain
from fks_fake_exchange.faults import FaultSpec
from fks_fake_exchange.futures_views import algo_view, futures_order_view, position_view
from fks_fake_exchange.orders import query_view, trade_view
from fks_fake_exchange.state import Exchange, PriceError
from fks_fake_exchange.web import exchange
from fks_fake_exchange.ws_hub import HUB

routes = web.RouteTableDef()
PREFIX = "/_fake"
M = TypeVar("M", bound=BaseModel)
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED", "New", "PartiallyFilled", "Untriggered")


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PricesBody(_Body):
    prices: Annotated[dict[str, Annotated[Decimal, Field(gt=0)]], Field(min_length=1)]


class BalancesBody(_Body):
    balances: dict[str, Annotated[Decimal, Field(ge=0)]]
    account: Literal["spot", "futures", "unified"] = "spot"
    replace: bool = False


class WsLatencyBody(_Body):
    delayMs: Annotated[int, Field(ge=0, le=60_000)]


class ClockBody(_Body):
    offsetMs: Annotated[int, Field(ge=-86_400_000, le=86_400_000)]


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


async def _body(request: web.Request, model: type[M]) -> M:
    raw = await request.read()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise ControlError("the body must be JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ControlError(describe_validation_error(error)) from None


def prices_view(ex: Exchange) -> dict[str, str]:
    return {symbol: fmt_plain(price) for symbol, price in sorted(ex.prices.items())}


def balances_view(ex: Exchange) -> dict[str, object]:
    if ex.bybit is not None:
        return bybit_control.balances_view(ex.bybit, ex.now())
    return {
        "spot": {
            asset: {"free": fmt_plain(b.free), "locked": fmt_plain(b.locked)}
            for asset, b in sorted(ex.spot.balances.items())
        },
        "futures": {
            "wallet": {a: fmt_plain(v) for a, v in sorted(ex.futures.wallet.items())},
            "available": {a: fmt_plain(ex.futures.available(a)) for a in sorted(ex.futures.wallet)},
            "positions": [
                position_view(ex.futures, p, v2=True)
                for s in sorted(ex.futures.markets)
                for p in ex.futures.symbol_positions(s)
                if p.qty != ZERO
            ],
        },
    }


def all_orders(ex: Exchange) -> list[dict[str, object]]:
    if ex.bybit is not None:
        return bybit_control.all_orders(ex.bybit)
    orders: list[dict[str, object]] = []
    for spot in sorted(ex.spot.all(), key=lambda o: o.order_id):
        orders.append({"account": "spot", **query_view(spot)})
    for fut in sorted(ex.futures.orders.values(), key=lambda o: o.order_id):
        orders.append({"account": "futures", **futures_order_view(fut, with_time=True)})
    for algo in sorted(ex.futures.algo_orders.values(), key=lambda o: o.algo_id):
        orders.append({"account": "futures-algo", **algo_view(algo)})
    return orders


@routes.get(f"{PREFIX}/health")
async def health(request: web.Request) -> web.Response:
    return ok({"status": "ok"})


@routes.get(f"{PREFIX}/state")
async def state(request: web.Request) -> web.Response:
    ex = exchange(request)
    return ok(
        {
            "serverTime": ex.now(),
            "clockOffsetMs": ex.clock.offset_ms,
            "prices": prices_view(ex),
            "balances": balances_view(ex),
            "stats": ex.stats.view(ex.faults.fired_total),
            "openOrders": sum(
                1
                for o in all_orders(ex)
                if o.get("status") in OPEN_STATUSES or o.get("algoStatus") == "NEW"
            ),
            "faults": [f.view() for f in ex.faults.active()],
        }
    )


@routes.post(f"{PREFIX}/reset")
async def reset(request: web.Request) -> web.Response:
    exchange(request).reset()
    await request.app[HUB].reset()  # streams of the old state would go on silently otherwise
    return ok({"status": "reset"})


@routes.get(f"{PREFIX}/prices")
async def get_prices(request: web.Request) -> web.Response:
    return ok({"prices": prices_view(exchange(request))})


@routes.post(f"{PREFIX}/prices")
async def set_prices(request: web.Request) -> web.Response:
    ex = exchange(request)
    body = await _body(request, PricesBody)
    try:
        for symbol in body.prices:  # validate all before moving any
            ex.resolve(symbol)
        for symbol, price in body.prices.items():
            ex.set_price(symbol, price)
    except PriceError as error:
        raise ControlError(str(error)) from None
    return ok({"prices": prices_view(ex)})


@routes.get(f"{PREFIX}/balances")
async def get_balances(request: web.Request) -> web.Response:
    return ok(balances_view(exchange(request)))


@routes.post(f"{PREFIX}/balances")
async def set_balances(request: web.Request) -> web.Response:
    ex = exchange(request)
    body = await _body(request, BalancesBody)
    for asset in body.balances:
        if not asset.isalnum() or not asset.isupper():
            raise ControlError(f"asset {asset!r} must be capitals/digits, e.g. USDT")
    if ex.bybit is not None or body.account == "unified":
        if ex.bybit is None:
            raise ControlError("account 'unified' is the Bybit venue's; use spot or futures")
        # one wallet: spot, futures and unified all name it
        if body.replace:
            for bal in ex.spot.balances.values():
                bal.free = ZERO
        for asset, amount in body.balances.items():
            ex.spot.set_free(asset, amount)
    elif body.account == "spot":
        if body.replace:
            for bal in ex.spot.balances.values():
                bal.free = ZERO
        for asset, amount in body.balances.items():
            ex.spot.set_free(asset, amount)
    else:
        if body.replace:
            ex.futures.wallet.clear()
        ex.futures.wallet.update(body.balances)
    return ok(balances_view(ex))


@routes.get(f"{PREFIX}/orders")
async def orders(request: web.Request) -> web.Response:
    ex = exchange(request)
    query = request.query
    selected = all_orders(ex)
    client_id = query.get("clientOrderId")
    if client_id is not None:
        selected = [
            o for o in selected if client_id in (o.get("clientOrderId"), o.get("clientAlgoId"))
        ]
    for key in ("symbol", "status", "account", "side", "type"):
        value = query.get(key)
        if value is not None:
            field = {"status": "algoStatus", "type": "orderType"}.get(key)
            selected = [
                o for o in selected if value in (o.get(key), o.get(field) if field else None)
            ]
    return ok({"orders": selected, "count": len(selected)})


@routes.get(f"{PREFIX}/trades")
async def trades(request: web.Request) -> web.Response:
    ex = exchange(request)
    if ex.bybit is not None:
        return ok({"trades": bybit_control.trades(ex.bybit)})
    return ok({"trades": [trade_view(t) for t in ex.spot.trades]})


@routes.get(f"{PREFIX}/stats")
async def stats(request: web.Request) -> web.Response:
    ex = exchange(request)
    return ok(ex.stats.view(ex.faults.fired_total))


@routes.get(f"{PREFIX}/faults")
async def list_faults(request: web.Request) -> web.Response:
    ex = exchange(request)
    return ok({"faults": [f.view() for f in ex.faults.all()]})


@routes.post(f"{PREFIX}/faults")
async def add_fault(request: web.Request) -> web.Response:
    ex = exchange(request)
    spec = await _body(request, FaultSpec)
    fault = ex.faults.add(spec)
    return ok({"fault": fault.view()}, status=201)


@routes.delete(f"{PREFIX}/faults")
async def clear_faults(request: web.Request) -> web.Response:
    exchange(request).faults.clear()
    return ok({"faults": []})


@routes.delete(f"{PREFIX}/faults/{{fault_id}}")
async def remove_fault(request: web.Request) -> web.Response:
    ex = exchange(request)
    try:
        fault_id = int(request.match_info["fault_id"])
    except ValueError:
        raise ControlError("fault id must be an integer") from None
    if not ex.faults.remove(fault_id):
        raise ControlError(f"no fault {fault_id}", status=404)
    return ok({"removed": fault_id})


@routes.get(f"{PREFIX}/requests")
async def requests_log(request: web.Request) -> web.Response:
    ex = exchange(request)
    method = request.query.get("method")
    path = request.query.get("path")
    selected = [
        r.view()
        for r in ex.requests
        if (method is None or r.method == method.upper()) and (path is None or r.path == path)
    ]
    return ok({"requests": selected, "count": len(selected)})


@routes.post(f"{PREFIX}/clock")
async def clock(request: web.Request) -> web.Response:
    ex = exchange(request)
    body = await _body(request, ClockBody)
    ex.clock.offset_ms = body.offsetMs
    return ok({"serverTime": ex.now(), "clockOffsetMs": ex.clock.offset_ms})


@routes.get(f"{PREFIX}/ws")
async def ws_state(request: web.Request) -> web.Response:
    return ok(request.app[HUB].view())


@routes.post(f"{PREFIX}/ws/drop")
async def ws_drop(request: web.Request) -> web.Response:
    return ok({"dropped": await request.app[HUB].close_all()})


@routes.post(f"{PREFIX}/ws/latency")
async def ws_latency(request: web.Request) -> web.Response:
    body = await _body(request, WsLatencyBody)
    request.app[HUB].latency_ms = body.delayMs
    return ok({"latencyMs": body.delayMs})
