"""Bybit V5's websocket endpoints (see docs/fake-exchange.md):

- ``/v5/public/spot``, ``/v5/public/linear``: ``tickers.<symbol>``;
- ``/v5/private``: ``op: auth`` then ``order``, ``execution``, ``position``, ``wallet``;
- ``/v5/trade``: ``op: auth`` then ``order.create`` and ``order.cancel``.

Requests are ``{"op", "req_id" | "reqId", "args"}``; ``ping`` is answered on every endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from typing import Literal

from aiohttp import WSMsgType, web

from fks_fake_exchange import bybit_place, faults
from fks_fake_exchange.bybit_errors import BybitError, Category
from fks_fake_exchange.bybit_orders import parse_new_order
from fks_fake_exchange.bybit_params import BybitParams, parse_params
from fks_fake_exchange.bybit_web import bybit_of, category_of, market_of
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.web import exchange
from fks_fake_exchange.ws_bybit_feed import PRIVATE_TOPICS, private_topic, public_topic, ticker_push
from fks_fake_exchange.ws_hub import HUB, Hub, Stream

routes = web.RouteTableDef()
Endpoint = Literal["spot", "linear", "private", "trade"]
HEARTBEAT_S = 30.0
MAX_EXPIRES_AHEAD_MS = 60_000


def auth_error(api_key: object, expires: object, signature: object, ex: Exchange) -> str | None:
    """Why ``op: auth`` args are refused (Bybit's messages), or None. The signature is the hex
    HMAC-SHA256 of ``GET/realtime<expires>`` with the key's secret; ``expires`` (ms) must lie in
    the future."""
    if not isinstance(api_key, str) or api_key not in ex.keys:
        return "Invalid apikey"
    try:
        expires_ms = int(str(expires))
    except ValueError:
        return "Params Error"
    now = ex.now()
    if expires_ms <= now or expires_ms > now + MAX_EXPIRES_AHEAD_MS:
        return "Params Error"
    payload = f"GET/realtime{expires_ms}".encode()
    expected = hmac.new(ex.keys[api_key].encode(), payload, hashlib.sha256).hexdigest()
    if not isinstance(signature, str) or not hmac.compare_digest(expected, signature.lower()):
        return "Invalid sign"
    return None


class Connection:
    """One Bybit websocket connection: its endpoint, id, authentication and topics."""

    def __init__(self, stream: Stream, endpoint: Endpoint, ex: Exchange, hub: Hub) -> None:
        self.stream, self.endpoint, self.ex, self.hub = stream, endpoint, ex, hub
        self.conn_id = secrets.token_hex(8)
        self.authenticated = False

    def handle(self, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._reply("", "", success=False, ret_msg="Invalid JSON")
            return
        op = request.get("op")
        req_id = str(request.get("req_id", request.get("reqId", "")))
        args = request.get("args", [])
        if not isinstance(args, list):
            args = []
        if op == "ping":
            self._pong(req_id)
        elif op == "auth" and self.endpoint in ("private", "trade"):
            self._auth(req_id, args)
        elif op in ("subscribe", "unsubscribe") and self.endpoint != "trade":
            self._subscribe(str(op), req_id, args)
        elif op in ("order.create", "order.cancel") and self.endpoint == "trade":
            self._trade(str(op), req_id, args, request.get("header"))
        else:
            self._reply(str(op), req_id, success=False, ret_msg=f"Unsupported op: {op}")

    # --- answers -----------------------------------------------------------------------------

    def _reply(self, op: str, req_id: str, *, success: bool, ret_msg: str = "") -> None:
        if self.endpoint == "trade":
            code = 0 if success else 10001
            self.stream.send(
                {"reqId": req_id, "retCode": code, "retMsg": ret_msg or "OK", "op": op,
                 "connId": self.conn_id}
            )  # fmt: skip
            return
        answer: dict[str, object] = {
            "success": success,
            "ret_msg": ret_msg,
            "conn_id": self.conn_id,
            "req_id": req_id,
            "op": op,
        }
        if not success and op == "auth":
            answer["request"] = {"op": "auth"}  # ccxt reads the op to raise AuthenticationError
        self.stream.send(answer)

    def _pong(self, req_id: str) -> None:
        if self.endpoint in ("spot", "linear"):
            self._reply("ping", req_id, success=True, ret_msg="pong")
        else:
            self.stream.send(
                {"req_id": req_id, "op": "pong", "args": [str(self.ex.now())],
                 "conn_id": self.conn_id}
            )  # fmt: skip

    def _auth(self, req_id: str, args: list[object]) -> None:
        padded = [*args, None, None, None][:3]
        error = auth_error(padded[0], padded[1], padded[2], self.ex)
        if error is None:
            self.authenticated = True
        if self.endpoint == "trade":
            code = 0 if error is None else 10004 if error == "Invalid sign" else 10003
            self.stream.send(
                {"reqId": req_id, "retCode": code, "retMsg": error or "OK", "op": "auth",
                 "connId": self.conn_id}
            )  # fmt: skip
            return
        self._reply("auth", req_id, success=error is None, ret_msg=error or "")

    def _subscribe(self, op: str, req_id: str, args: list[object]) -> None:
        topics: list[str] = []
        for arg in args:
            topic = self._topic(arg)
            if topic is None:
                self._reply(op, req_id, success=False, ret_msg=f"Invalid topic: {arg}")
                return
            topics.append(topic)
        if self.endpoint == "private" and not self.authenticated:
            self._reply(op, req_id, success=False, ret_msg="Request not authorized")
            return
        self._reply(op, req_id, success=True)
        for topic in topics:
            if op == "unsubscribe":
                self.stream.topics.discard(topic)
            elif topic not in self.stream.topics:
                self.stream.topics.add(topic)
                if self.endpoint in ("spot", "linear"):  # the first push is a snapshot
                    symbol = topic.rsplit(".", 1)[1]
                    category: Category = "spot" if self.endpoint == "spot" else "linear"
                    self.stream.send(ticker_push(self.ex, category, symbol, self.ex.now()))

    def _topic(self, arg: object) -> str | None:
        if not isinstance(arg, str):
            return None
        if self.endpoint == "private":
            return private_topic(arg) if arg in PRIVATE_TOPICS else None
        category: Category = "spot" if self.endpoint == "spot" else "linear"
        markets = self.ex.spot_markets if category == "spot" else self.ex.futures_markets
        name, _, symbol = arg.partition(".")
        if name != "tickers" or symbol not in markets:
            return None
        return public_topic(category, symbol)

    def _trade(self, op: str, req_id: str, args: list[object], header: object) -> None:
        base: dict[str, object] = {"reqId": req_id, "op": op, "connId": self.conn_id}
        if isinstance(header, dict):
            base["header"] = {k: str(v) for k, v in header.items()}
        if not self.authenticated:
            self.stream.send({**base, "retCode": 10003, "retMsg": "Request not authorized"})
            return
        try:
            if len(args) != 1 or not isinstance(args[0], dict):
                raise BybitError(10001, "params error: args must hold one order")
            params = BybitParams(parse_params("POST", "", json.dumps(args[0])))
            data = self._place(params) if op == "order.create" else self._cancel(params)
        except BybitError as error:
            self.stream.send({**base, "retCode": error.code, "retMsg": error.msg, "data": {}})
            return
        self.stream.send({**base, "retCode": 0, "retMsg": "OK", "data": data, "retExtInfo": {}})

    def _place(self, params: BybitParams) -> dict[str, object]:
        category = category_of(params)
        market = market_of(self.ex, category, params)
        order = bybit_place.place(bybit_of(self.ex), parse_new_order(params, market, category))
        self.ex.stats.orders_created += 1
        return {"orderId": order.order_id, "orderLinkId": order.link_id}

    def _cancel(self, params: BybitParams) -> dict[str, object]:
        category = category_of(params)
        symbol = market_of(self.ex, category, params).symbol
        account = bybit_of(self.ex)
        order = account.find(category, symbol, params.text("orderId"), params.text("orderLinkId"))
        account.cancel(order)
        return {"orderId": order.order_id, "orderLinkId": order.link_id}


def _is_order_entry(text: str) -> bool:
    """Whether a trade endpoint request creates or cancels an order (what a ``latency``
    fault delays)."""
    try:
        request = json.loads(text)
    except ValueError:
        return False
    return isinstance(request, dict) and str(request.get("op", "")).startswith("order.")


async def _serve(request: web.Request, endpoint: Endpoint) -> web.WebSocketResponse:
    hub, ex = request.app[HUB], exchange(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
    await ws.prepare(request)
    stream = Stream(ws=ws)
    connection = Connection(stream, endpoint, ex, hub)
    hub.add(stream, ex)
    writer = asyncio.create_task(hub.write(stream))
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                fault = None
                if endpoint == "trade" and _is_order_entry(message.data):
                    fault = ex.faults.take_ws_latency(request.path)
                await faults.delay(fault)
                connection.handle(message.data)
                hub.publish(ex)  # an order.create is heard of like a REST order
    finally:
        hub.remove(stream)
        writer.cancel()
    return ws


@routes.get("/v5/public/spot")
async def public_spot(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "spot")


@routes.get("/v5/public/linear")
async def public_linear(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "linear")


@routes.get("/v5/private")
async def private(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "private")


@routes.get("/v5/trade")
async def trade(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "trade")
