"""Binance's WebSocket API requests: signature rule, refusals, order placement."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from fks_fake_exchange import ws_api
from fks_fake_exchange.config import DEFAULT_API_KEY, DEFAULT_SECRET, ExchangeConfig
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.signing import sign
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.ws_hub import SPOT_USER, Account, Hub, Stream


def signed(params: dict[str, Any], now: int, secret: str = DEFAULT_SECRET) -> dict[str, Any]:
    full = {"apiKey": DEFAULT_API_KEY, "timestamp": now, **params}
    return {**full, "signature": sign(secret, ws_api.signature_payload(full))}


def call(ex: Exchange, method: str, params: object, account: Account = "spot") -> dict[str, Any]:
    stream = Stream(ws=web.WebSocketResponse())
    text = json.dumps({"id": "7", "method": method, "params": params})
    return ws_api.handle(ex, Hub(), stream, account, text)


def test_the_payload_is_the_sorted_params_without_signature_booleans_lowercase() -> None:
    payload = ws_api.signature_payload(
        {"timestamp": 5, "apiKey": "k", "returnRateLimits": False, "signature": "x", "price": "1"}
    )
    assert payload == "apiKey=k&price=1&returnRateLimits=false&timestamp=5"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"apiKey": "unknown"}, -2015),
        ({"signature": "0" * 64}, -1022),
        ({"signature": ""}, -1102),
    ],
)
def test_key_then_signature_refusals(change: dict[str, Any], code: int) -> None:
    ex = Exchange(ExchangeConfig())
    params = {**signed({}, ex.now()), **change}
    with pytest.raises(ApiError) as refused:
        ws_api.verify(params, ex.keys, ex.now())
    assert refused.value.code == code


def test_a_stale_timestamp_is_refused() -> None:
    ex = Exchange(ExchangeConfig())
    with pytest.raises(ApiError, match="outside of the recvWindow") as refused:
        ws_api.verify(signed({}, ex.now() - 10_000), ex.keys, ex.now())
    assert refused.value.code == -1021


def test_order_place_records_the_order_and_answers_it() -> None:
    ex = Exchange(ExchangeConfig())
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    answer = call(ex, "order.place", signed(order, ex.now()))
    assert answer["id"] == "7"
    assert answer["status"] == 200
    assert answer["result"]["status"] == "FILLED"
    assert [o.order_id for o in ex.spot.orders.values()] == [answer["result"]["orderId"]]


def test_ccxt_s_repeated_client_id_is_accepted_a_different_one_is_not() -> None:
    ex = Exchange(ExchangeConfig())
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    same = {**order, "newClientOrderId": "x", "clientOrderId": "x"}
    assert call(ex, "order.place", signed(same, ex.now()))["status"] == 200
    other = {**order, "newClientOrderId": "y", "clientOrderId": "z"}
    refused = call(ex, "order.place", signed(other, ex.now()))
    assert refused["error"]["code"] == -1104
    assert len(ex.spot.orders) == 1


def test_a_duplicate_client_id_is_refused_as_on_rest() -> None:
    ex = Exchange(ExchangeConfig())
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": "60000",
        "newClientOrderId": "dup",
    }
    assert call(ex, "order.place", signed(order, ex.now()))["status"] == 200
    refused = call(ex, "order.place", signed(order, ex.now()))
    assert refused == {
        "id": "7",
        "status": 400,
        "error": {"code": -2010, "msg": "Duplicate order sent."},
    }


def test_the_user_data_subscription_is_spot_only() -> None:
    ex = Exchange(ExchangeConfig())
    stream = Stream(ws=web.WebSocketResponse())
    method = "userDataStream.subscribe.signature"
    text = json.dumps({"id": 1, "method": method, "params": signed({}, ex.now())})
    assert ws_api.handle(ex, Hub(), stream, "spot", text)["result"] == {"subscriptionId": 0}
    assert stream.topics == {SPOT_USER}
    assert call(ex, method, signed({}, ex.now()), "futures")["error"]["code"] == -1100


@pytest.mark.parametrize(
    "text", ["{not json", "[1]", json.dumps({"id": 1, "method": "order.nope", "params": {}})]
)
def test_malformed_or_unknown_requests_are_refused_not_raised(text: str) -> None:
    ex = Exchange(ExchangeConfig())
    answer = ws_api.handle(ex, Hub(), Stream(ws=web.WebSocketResponse()), "spot", text)
    assert answer["status"] == 400
    assert answer["error"]["code"] == -1100


def test_order_cancel_by_client_id_then_unknown() -> None:
    ex = Exchange(ExchangeConfig())
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": "60000",
        "newClientOrderId": "c1",
    }
    call(ex, "order.place", signed(order, ex.now()))
    cancel = {"symbol": "BTCUSDT", "origClientOrderId": "c1"}
    canceled = call(ex, "order.cancel", signed(cancel, ex.now()))
    assert (canceled["status"], canceled["result"]["status"]) == (200, "CANCELED")
    again = call(ex, "order.cancel", signed(cancel, ex.now()))
    assert again["error"]["code"] == -2011
