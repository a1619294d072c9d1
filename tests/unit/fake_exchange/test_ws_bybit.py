"""The Bybit websocket side: auth rule, request handling, and what a state change publishes."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from fks_fake_exchange import bybit_place
from fks_fake_exchange.bybit_orders import parse_new_order
from fks_fake_exchange.bybit_params import BybitParams, parse_params
from fks_fake_exchange.config import DEFAULT_API_KEY, DEFAULT_SECRET, ExchangeConfig
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.ws_bybit import Connection, Endpoint, auth_error
from fks_fake_exchange.ws_bybit_feed import private_topic, public_topic
from fks_fake_exchange.ws_hub import Hub, Stream


def drained(stream: Stream) -> list[dict[str, Any]]:
    sent = []
    while not stream.queue.empty():
        sent.append(json.loads(stream.queue.get_nowait()[1]))
    return sent


def bybit() -> Exchange:
    return Exchange(ExchangeConfig(), venue="bybit")


def auth_args(ex: Exchange, secret: str = DEFAULT_SECRET, ahead_ms: int = 10_000) -> list[str]:
    expires = str(ex.now() + ahead_ms)
    payload = f"GET/realtime{expires}".encode()
    return [
        DEFAULT_API_KEY,
        expires,
        hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest(),
    ]


def connect(ex: Exchange, endpoint: Endpoint) -> tuple[Connection, Stream, Hub]:
    hub, stream = Hub(), Stream(ws=web.WebSocketResponse())
    hub.add(stream, ex)
    return Connection(stream, endpoint, ex, hub), stream, hub


def place(ex: Exchange, **fields: str) -> None:
    body = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", **fields}
    params = BybitParams(parse_params("POST", "", json.dumps(body)))
    assert ex.bybit is not None
    market = ex.spot_markets["BTCUSDT"]
    bybit_place.place(ex.bybit, parse_new_order(params, market, "spot"))


def test_auth_accepts_the_signature_of_get_realtime_expires() -> None:
    ex = bybit()
    assert auth_error(*auth_args(ex), ex) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["unknown", "1", "x"], "Invalid apikey"),
        ([DEFAULT_API_KEY, "soon", "x"], "Params Error"),
    ],
)
def test_auth_refusals(args: list[str], message: str) -> None:
    assert auth_error(*args, bybit()) == message


def test_auth_refuses_a_wrong_secret_and_an_expired_request() -> None:
    ex = bybit()
    assert auth_error(*auth_args(ex, secret="wrong"), ex) == "Invalid sign"
    assert auth_error(*auth_args(ex, ahead_ms=-1), ex) == "Params Error"


def test_private_topics_need_auth_first() -> None:
    ex = bybit()
    connection, stream, _ = connect(ex, "private")
    connection.handle(json.dumps({"op": "subscribe", "req_id": "1", "args": ["wallet"]}))
    connection.handle(json.dumps({"op": "auth", "args": auth_args(ex)}))
    connection.handle(json.dumps({"op": "subscribe", "req_id": "2", "args": ["wallet", "order"]}))
    refused, auth, subscribed = drained(stream)
    assert (refused["success"], refused["ret_msg"]) == (False, "Request not authorized")
    assert (auth["op"], auth["success"]) == ("auth", True)
    assert (subscribed["op"], subscribed["req_id"], subscribed["success"]) == (
        "subscribe",
        "2",
        True,
    )
    assert stream.topics == {private_topic("wallet"), private_topic("order")}


def test_a_ticker_subscription_gets_a_snapshot_and_an_unknown_topic_is_refused() -> None:
    ex = bybit()
    connection, stream, _ = connect(ex, "linear")
    connection.handle(json.dumps({"op": "subscribe", "req_id": "1", "args": ["tickers.BTCUSDT"]}))
    connection.handle(json.dumps({"op": "subscribe", "req_id": "2", "args": ["orderbook.1.X"]}))
    connection.handle(json.dumps({"op": "ping", "req_id": "3"}))
    ack, snapshot, refused, pong = drained(stream)
    assert ack["success"] is True
    assert (snapshot["topic"], snapshot["type"], snapshot["data"]["lastPrice"]) == (
        "tickers.BTCUSDT",
        "snapshot",
        "68000",
    )
    assert (refused["success"], refused["ret_msg"]) == (False, "Invalid topic: orderbook.1.X")
    assert (pong["op"], pong["ret_msg"], pong["req_id"]) == ("ping", "pong", "3")


def test_order_create_on_the_trade_endpoint() -> None:
    ex = bybit()
    connection, stream, _ = connect(ex, "trade")
    order = {
        "category": "spot",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": "0.01",
        "price": "60000",
        "orderLinkId": "t1",
    }
    request = {"op": "order.create", "reqId": "9", "args": [order], "header": {"X": 1}}
    connection.handle(json.dumps(request))  # before auth
    connection.handle(json.dumps({"op": "auth", "reqId": "a", "args": auth_args(ex)}))
    connection.handle(json.dumps(request))
    connection.handle(json.dumps(request))  # the same link id again
    unauthorized, auth, created, duplicate = drained(stream)
    assert (unauthorized["retCode"], unauthorized["reqId"]) == (10003, "9")
    assert (auth["op"], auth["retCode"]) == ("auth", 0)
    assert (created["retCode"], created["data"]["orderLinkId"], created["header"]) == (
        0,
        "t1",
        {"X": "1"},
    )
    assert duplicate["retCode"] == 110072
    assert ex.bybit is not None
    assert [o.link_id for o in ex.bybit.orders.values()] == ["t1"]


def test_a_fill_publishes_order_execution_and_wallet_to_their_subscribers() -> None:
    ex = bybit()
    _, stream, hub = connect(ex, "private")
    stream.topics |= {private_topic(t) for t in ("order", "execution", "position", "wallet")}
    place(ex, orderType="Limit", qty="0.01", price="60000", orderLinkId="f1")
    hub.publish(ex)
    order, wallet = drained(stream)
    assert (order["topic"], order["data"][0]["orderStatus"], order["data"][0]["category"]) == (
        "order",
        "New",
        "spot",
    )
    usdt = {c["coin"]: c for c in wallet["data"][0]["coin"]}["USDT"]
    assert (usdt["walletBalance"], usdt["locked"]) == ("10000", "600")

    ex.set_price("BTCUSDT", Decimal(59000))
    hub.publish(ex)
    order, execution, wallet, *tickers = drained(stream)
    assert order["data"][0]["orderStatus"] == "Filled"
    assert execution["topic"] == "execution"
    assert [(e["orderLinkId"], e["execQty"], e["execPrice"]) for e in execution["data"]] == [
        ("f1", "0.01", "60000")
    ]
    assert {c["coin"]: c["walletBalance"] for c in wallet["data"][0]["coin"]}["BTC"] == "0.10999"
    assert tickers == []  # no one follows the tickers


def test_a_linear_fill_publishes_the_position_and_a_price_move_the_ticker() -> None:
    ex = bybit()
    _, stream, hub = connect(ex, "private")
    stream.topics |= {private_topic("position"), public_topic("linear", "BTCUSDT")}
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market"}
    params = BybitParams(parse_params("POST", "", json.dumps({**body, "qty": "0.02"})))
    assert ex.bybit is not None
    bybit_place.place(ex.bybit, parse_new_order(params, ex.futures_markets["BTCUSDT"], "linear"))
    hub.publish(ex)
    [position] = drained(stream)
    assert position["topic"] == "position"
    row = position["data"][0]
    assert (row["symbol"], row["side"], row["size"], row["category"]) == (
        "BTCUSDT",
        "Sell",
        "0.02",
        "linear",
    )
    ex.set_price("BTCUSDT", Decimal(69000))
    hub.publish(ex)
    [ticker] = drained(stream)  # the position's size and entry did not change
    assert (ticker["topic"], ticker["data"]["lastPrice"]) == ("tickers.BTCUSDT", "69000")


def test_order_cancel_on_the_trade_endpoint() -> None:
    ex = bybit()
    place(ex, orderType="Limit", qty="0.01", price="60000", orderLinkId="c1")
    connection, stream, _ = connect(ex, "trade")
    connection.handle(json.dumps({"op": "auth", "reqId": "a", "args": auth_args(ex)}))
    cancel = {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "c1"}
    request = {"op": "order.cancel", "reqId": "c", "args": [cancel]}
    connection.handle(json.dumps(request))
    connection.handle(json.dumps(request))
    _, canceled, again = drained(stream)
    assert (canceled["op"], canceled["retCode"], canceled["data"]["orderLinkId"]) == (
        "order.cancel",
        0,
        "c1",
    )
    assert again["retCode"] == 170213  # spot: "Order does not exist.", as on REST
