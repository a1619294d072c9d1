"""Binance's websocket endpoints: market streams, user data streams, the WebSocket API, and the
REST listen-key endpoints that open a user data stream (see docs/fake-exchange.md).

Paths are Binance's (one server serves both accounts: spot's streams on ``/ws``, USD-M's on the
``/market``, ``/public`` and ``/private`` paths ccxt derives from ``fstream.binance.com/ws``):

- spot market streams ``/ws`` and ``/ws/<stream>``; USD-M ``/market/ws[/<stream>]`` and
  ``/public/ws[/<stream>]``: ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` of
  ``<symbol>@ticker``, ``@miniTicker`` and ``@bookTicker``;
- user data by listen key: ``/ws/<listenKey>`` (either account's key), USD-M
  ``/private/ws?listenKey=K``;
- WebSocket API: spot ``/ws-api/v3``, USD-M ``/ws-fapi/v1`` (:mod:`fks_fake_exchange.ws_api`).
"""

from __future__ import annotations

import asyncio
import json
import re

from aiohttp import WSMsgType, web

from fks_fake_exchange import faults, signing, ws_api
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.web import exchange, json_response, public
from fks_fake_exchange.ws_hub import (
    FUTURES_USER,
    HUB,
    SPOT_USER,
    Account,
    Hub,
    Stream,
    market_topic,
)

routes = web.RouteTableDef()
SPOT_LISTEN_KEY_PATH = "/api/v3/userDataStream"
FUTURES_LISTEN_KEY_PATH = "/fapi/v1/listenKey"
_STREAM = re.compile(r"^([a-z0-9]+)@(ticker|miniTicker|bookTicker)$")
HEARTBEAT_S = 30.0


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


def _market_stream(ex: Exchange, account: Account, name: str) -> tuple[str, str] | None:
    """(market id, topic) of a served stream name on ``account``, else None."""
    match = _STREAM.match(name)
    if match is None:
        return None
    market_id = match.group(1).upper()
    markets = ex.spot_markets if account == "spot" else ex.futures_markets
    if market_id not in markets:
        return None
    return market_id, market_topic(account, market_id, match.group(2))


async def _serve(
    request: web.Request, stream: Stream, account: Account, on_text: bool = True
) -> web.WebSocketResponse:
    """Run one connection: its writer task, and its reader (market-stream requests)."""
    ws, hub, ex = stream.ws, hub_of(request), exchange(request)
    hub.add(stream, ex)
    writer = asyncio.create_task(hub.write(stream))
    try:
        for topic in list(stream.topics):  # streams named in the path: their current ticker
            _send_current(hub, ex, stream, topic)
        async for message in ws:
            if message.type == WSMsgType.TEXT and on_text:
                _market_request(hub, ex, stream, account, message.data)
    finally:
        hub.remove(stream)
        writer.cancel()
    return ws


def _send_current(hub: Hub, ex: Exchange, stream: Stream, topic: str) -> None:
    if "@" in topic and topic not in (SPOT_USER, FUTURES_USER):
        market_id = topic.split(":", 1)[1].split("@", 1)[0].upper()
        hub.send_tickers(ex, market_id, ex.now(), only=stream)


def _market_request(hub: Hub, ex: Exchange, stream: Stream, account: Account, text: str) -> None:
    """``{"method": "SUBSCRIBE", "params": [...], "id": 1}`` and friends, as Binance answers
    them (``{"result": null, "id": 1}``; an error object for a bad request)."""
    try:
        request = json.loads(text)
    except ValueError:
        stream.send({"error": {"code": 3, "msg": "Invalid JSON: expected value"}})
        return
    if not isinstance(request, dict):
        stream.send({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}})
        return
    request_id = request.get("id")
    method, params = request.get("method"), request.get("params", [])
    if method == "LIST_SUBSCRIPTIONS":
        names = sorted(t.split(":", 1)[1] for t in stream.topics if ":" in t)
        stream.send({"result": names, "id": request_id})
        return
    if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
        stream.send(
            {"error": {"code": 2, "msg": "Invalid request: unknown method"}, "id": request_id}
        )
        return
    found = [_market_stream(ex, account, p) if isinstance(p, str) else None for p in params]
    if any(f is None for f in found):
        stream.send(
            {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": request_id}
        )
        return
    stream.send({"result": None, "id": request_id})
    for market_stream in found:
        assert market_stream is not None
        _, topic = market_stream
        if method == "SUBSCRIBE":
            stream.topics.add(topic)
            _send_current(hub, ex, stream, topic)
        else:
            stream.topics.discard(topic)


async def _open(
    request: web.Request, account: Account, listen_key: str | None
) -> web.StreamResponse:
    """A stream connection; ``listen_key`` (or a path stream name) picks what it follows."""
    hub, ex = hub_of(request), exchange(request)
    topics: set[str] = set()
    if listen_key is not None and listen_key in hub.listen_keys:
        if hub.listen_keys[listen_key] != account:
            return json_response({"code": -1125, "msg": "This listenKey does not exist."}, 400)
        topics.add(SPOT_USER if account == "spot" else FUTURES_USER)
    elif listen_key is not None:
        market_stream = _market_stream(ex, account, listen_key)
        if market_stream is not None:
            topics.add(market_stream[1])
        elif request.match_info.get("key") is None:  # ?listenKey= of a private url
            return json_response({"code": -1125, "msg": "This listenKey does not exist."}, 400)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await ws.prepare(request)
    return await _serve(request, Stream(ws=ws, topics=topics), account)


@routes.get("/ws")
async def spot_stream(request: web.Request) -> web.StreamResponse:
    return await _open(request, "spot", None)


@routes.get("/ws/{key}")
async def spot_stream_named(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    account = request.app[HUB].listen_keys.get(key, "spot")  # USD-M's legacy /ws/<listenKey>
    return await _open(request, account, key)


@routes.get("/market/ws")
@routes.get("/public/ws")
async def futures_stream(request: web.Request) -> web.StreamResponse:
    return await _open(request, "futures", None)


@routes.get("/market/ws/{key}")
@routes.get("/public/ws/{key}")
async def futures_stream_named(request: web.Request) -> web.StreamResponse:
    return await _open(request, "futures", request.match_info["key"])


@routes.get("/private/ws")
async def futures_private(request: web.Request) -> web.StreamResponse:
    return await _open(request, "futures", request.query.get("listenKey", ""))


@routes.get("/ws-api/v3")
async def spot_ws_api(request: web.Request) -> web.StreamResponse:
    return await _ws_api(request, "spot")


@routes.get("/ws-fapi/v1")
async def futures_ws_api(request: web.Request) -> web.StreamResponse:
    return await _ws_api(request, "futures")


async def _ws_api(request: web.Request, account: Account) -> web.WebSocketResponse:
    hub, ex = hub_of(request), exchange(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await ws.prepare(request)
    stream = Stream(ws=ws)
    hub.add(stream, ex)
    writer = asyncio.create_task(hub.write(stream))
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                fault = None
                if ws_api.is_order_entry(message.data):
                    fault = ex.faults.take_ws_latency(request.path)
                await faults.delay(fault)
                stream.send(ws_api.handle(ex, hub, stream, account, message.data))
                hub.publish(ex)  # an order placed here is heard of like a REST one
    finally:
        hub.remove(stream)
        writer.cancel()
    return ws


# --- listen keys (REST; API key only, no signature, as on Binance) --------------------------


async def _listen_key(request: web.Request, account: Account) -> web.Response:
    ex, params = await public(request)
    signing.check_api_key(request.headers.get(signing.API_KEY_HEADER), ex.keys)
    hub = hub_of(request)
    if request.method == "POST":
        return json_response({"listenKey": hub.new_listen_key(account)})
    key = params.text("listenKey")
    if account == "futures" and key is None:  # USD-M: the key of the API key's stream
        key = next((k for k, a in hub.listen_keys.items() if a == "futures"), None)
    if key is None or hub.listen_keys.get(key) != account:
        raise ApiError(-1125, "This listenKey does not exist.")
    if request.method == "DELETE":
        del hub.listen_keys[key]
        for stream in list(hub.streams):
            if (SPOT_USER if account == "spot" else FUTURES_USER) in stream.topics:
                await stream.ws.close()
        return json_response({})
    return json_response({"listenKey": key} if account == "futures" else {})


@routes.post(SPOT_LISTEN_KEY_PATH)
@routes.put(SPOT_LISTEN_KEY_PATH)
@routes.delete(SPOT_LISTEN_KEY_PATH)
async def spot_listen_key(request: web.Request) -> web.Response:
    return await _listen_key(request, "spot")


@routes.post(FUTURES_LISTEN_KEY_PATH)
@routes.put(FUTURES_LISTEN_KEY_PATH)
@routes.delete(FUTURES_LISTEN_KEY_PATH)
async def futures_listen_key(request: web.Request) -> web.Response:
    return await _listen_key(request, "futures")
