"""The aiohttp application: the routes of one venue's API (Binance's or Bybit V5's) and the
control API, and the request pipeline (loopback-only control API, request log and counters,
fault injection, the venue's error bodies)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from fks_fake_exchange import (
    api_futures,
    api_futures_account,
    api_sapi,
    api_spot,
    bybit_api_account,
    bybit_api_market,
    bybit_api_position,
    bybit_api_trade,
    bybit_errors,
    bybit_web,
    control,
    ws_binance,
    ws_bybit,
)
from fks_fake_exchange.bybit_errors import BybitError
from fks_fake_exchange.config import ExchangeConfig
from fks_fake_exchange.errors import ApiError, unknown_error
from fks_fake_exchange.faults import BYBIT_BAN_MSG, Fault
from fks_fake_exchange.state import Exchange, LoggedRequest
from fks_fake_exchange.web import EXCHANGE, VENUE, error_response, exchange, params_of, raw_parts
from fks_fake_exchange.ws_hub import HUB, Hub

log = logging.getLogger("fks_fake_exchange")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ORDER_PATHS = frozenset(
    {
        api_spot.ORDER_PATH,
        api_spot.OCO_PATH,
        api_futures.ORDER_PATH,
        api_futures.ALGO_ORDER_PATH,
        bybit_api_trade.ORDER_PATH,
    }
)
VENUES = ("binance", "bybit")
_ROUTES = {
    "binance": (
        api_spot.routes,
        api_futures.routes,
        api_futures_account.routes,
        api_sapi.routes,
        ws_binance.routes,
    ),
    "bybit": (
        bybit_api_market.routes,
        bybit_api_account.routes,
        bybit_api_trade.routes,
        bybit_api_position.routes,
        ws_bybit.routes,
    ),
}


class ConnectionDropped(Exception):
    """The connection was closed on purpose (a ``drop`` / ``lost_answer`` fault)."""


def _is_loopback(remote: str | None) -> bool:
    if remote is None:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise ConnectionDropped


def _bybit_error(request: web.Request, error: BybitError) -> web.Response:
    # a refusal, as a 4xx is on Binance (a rate limit is not one)
    request[bybit_web.REJECTED] = error.code != bybit_errors.TOO_MANY_VISITS
    return bybit_web.error_response(error, exchange(request).now())


async def _run(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except BybitError as error:
        return _bybit_error(request, error)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unexpected error handling %s %s", request.method, request.path)
        if request.app[VENUE] == "bybit":
            return _bybit_error(request, bybit_errors.server_error())
        return error_response(unknown_error())


async def _before(fault: Fault, request: web.Request, ex: Exchange) -> web.StreamResponse | None:
    """Apply the part of a fault that happens before the request is handled."""
    kind = fault.spec.kind
    if kind == "latency" and fault.spec.phase == "before":
        await asyncio.sleep(fault.spec.delayMs / 1000)
    elif kind == "http_error":
        status, body, content_type = fault.http_body()
        return web.Response(text=body, status=status, content_type=content_type)
    elif kind in ("rate_limit", "ban", "reject"):
        if ex.venue == "bybit" and kind == "ban":  # an IP over its limit: a bare 403
            return web.Response(
                text=BYBIT_BAN_MSG,
                status=403,
                headers={"Retry-After": str(fault.spec.retryAfter)},
            )
        if ex.venue == "bybit":
            return _bybit_error(request, fault.bybit_error())
        return error_response(fault.error(ex.now()))
    elif kind == "drop":
        _drop(request)
    return None


async def _after(fault: Fault, request: web.Request) -> None:
    """Apply the part of a fault that happens after the request was handled (and recorded)."""
    kind = fault.spec.kind
    if kind == "latency" and fault.spec.phase == "after":
        await asyncio.sleep(fault.spec.delayMs / 1000)
    elif kind == "lost_answer":
        if fault.spec.mode == "drop":
            _drop(request)
        await asyncio.sleep(fault.spec.hangMs / 1000)


@web.middleware
async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(control.PREFIX + "/"):
        if not _is_loopback(request.remote):
            return web.json_response(
                {"error": "the control API answers loopback clients only"}, status=403
            )
        try:
            response = await handler(request)
            request.app[HUB].publish(exchange(request))  # a price or balance set
            return response
        except control.ControlError as error:
            return web.json_response({"error": str(error)}, status=error.status)

    ex = exchange(request)
    method, path = request.method, request.path
    # Read the whole request first: a client that gives up later must not undo a received request.
    await raw_parts(request)
    ex.stats.requests += 1
    if request.match_info.http_exception is None:  # known endpoints only (bounded)
        ex.stats.by_endpoint[f"{method} {path}"] += 1
    is_order = method == "POST" and path in ORDER_PATHS
    if is_order:
        ex.stats.order_requests += 1
    status = 0
    fault = ex.faults.take(method, path)
    try:
        early = await _before(fault, request, ex) if fault is not None else None
        if early is None:
            response = await _run(handler, request)
            request.app[HUB].publish(ex)  # subscribers hear of a change before its answer
            if fault is not None:
                await _after(fault, request)
        else:
            response = early
        status = response.status
        if ex.venue == "bybit":  # refusals are retCodes in HTTP 200
            rejected = bool(request.get(bybit_web.REJECTED, False))
        else:
            rejected = 400 <= status < 500 and status not in (418, 429)
        if is_order and rejected:
            ex.stats.orders_rejected += 1
        return response
    except ConnectionDropped:
        # Nothing can be sent any more; tell aiohttp the connection is gone.
        raise asyncio.CancelledError from None
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        await _record(ex, request, status, fault)


async def _record(ex: Exchange, request: web.Request, status: int, fault: Fault | None) -> None:
    try:
        if ex.venue == "bybit":
            params = dict(await bybit_web.params_of(request))
        else:
            params = dict(await params_of(request))
    except (ApiError, BybitError):
        params = {}
    params.pop("signature", None)
    ex.log(
        LoggedRequest(
            time=ex.now(),
            method=request.method,
            path=request.path,
            params=params,
            status=status,
            fault=fault.spec.kind if fault is not None else None,
        )
    )


async def _close_streams(app: web.Application) -> None:
    await app[HUB].close_all()


def create_app(config: ExchangeConfig, venue: str = "binance") -> web.Application:
    """The server of one venue: ``binance`` (/api, /fapi, /sapi) or ``bybit`` (/v5)."""
    if venue not in VENUES:
        raise ValueError(f"unknown venue {venue!r}; known: {', '.join(VENUES)}")
    app = web.Application(middlewares=[pipeline], client_max_size=64 * 1024)
    app[EXCHANGE] = Exchange(config, venue=venue)
    app[VENUE] = venue
    app[HUB] = Hub()
    app.on_shutdown.append(_close_streams)
    for table in _ROUTES[venue]:
        app.add_routes(table)
    app.add_routes(control.routes)
    return app
