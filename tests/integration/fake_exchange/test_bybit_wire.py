"""The Bybit venue's wire format seen with a plain HTTP client (no ccxt): the envelope, bad
input answered with retCodes (never a 500 or a stack trace), and the request log."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from fks_fake_exchange.bybit_signing import sign
from tests.harness.fake_exchange import FakeExchange


def _post(fx: FakeExchange, path: str, body: str) -> dict[str, Any]:
    ts = str(int(time.time() * 1000))
    headers = {
        "X-BAPI-API-KEY": fx.api_key,
        "X-BAPI-TIMESTAMP": ts,
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": sign(fx.secret, ts, fx.api_key, "5000", body),
        "Content-Type": "application/json",
    }
    response = httpx.post(f"{fx.base_url}{path}", content=body, headers=headers, timeout=5)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _get(fx: FakeExchange, path: str, query: str = "") -> dict[str, Any]:
    ts = str(int(time.time() * 1000))
    headers = {
        "X-BAPI-API-KEY": fx.api_key,
        "X-BAPI-TIMESTAMP": ts,
        "X-BAPI-SIGN": sign(fx.secret, ts, fx.api_key, "", query),  # no window header: 5000
    }
    url = f"{fx.base_url}{path}" + (f"?{query}" if query else "")
    response = httpx.get(url, headers=headers, timeout=5)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def test_envelope_and_bad_input(fake_bybit: FakeExchange) -> None:
    answer = httpx.get(f"{fake_bybit.base_url}/v5/market/time", timeout=5).json()
    assert (answer["retCode"], answer["retMsg"], answer["retExtInfo"]) == (0, "OK", {})
    assert int(answer["result"]["timeSecond"]) == answer["time"] // 1000
    assert _post(fake_bybit, "/v5/order/create", "{not json")["retCode"] == 10001
    assert _post(fake_bybit, "/v5/order/create", "[1, 2]")["retCode"] == 10001
    missing = _post(fake_bybit, "/v5/order/create", json.dumps({"symbol": "BTCUSDT"}))
    assert (missing["retCode"], missing["retMsg"]) == (
        10001,
        "Missing some parameters that must filled in, category",
    )
    body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market"}
    for bad in ({"qty": "-1"}, {"qty": "lots"}, {"qty": "0.01", "side": "Up"}):
        refused = _post(fake_bybit, "/v5/order/create", json.dumps({**body, **bad}))
        assert refused["retCode"] == 10001
        assert "lots" not in refused["retMsg"]  # never echoes what was sent
    assert _get(fake_bybit, "/v5/order/realtime", "category=linear")["retCode"] == 10001
    assert _get(fake_bybit, "/v5/order/realtime", "category=inverse")["retCode"] == 10001
    assert fake_bybit.order_count() == 0


def test_unsigned_private_request_and_public_empty_categories(fake_bybit: FakeExchange) -> None:
    unsigned = httpx.get(
        f"{fake_bybit.base_url}/v5/account/wallet-balance?accountType=UNIFIED", timeout=5
    )
    assert (unsigned.status_code, unsigned.json()["retCode"]) == (200, 10003)
    for category in ("inverse", "option"):
        answer = httpx.get(
            f"{fake_bybit.base_url}/v5/market/instruments-info?category={category}", timeout=5
        ).json()
        assert (answer["retCode"], answer["result"]["list"]) == (0, [])


def test_json_booleans_and_numbers_in_a_body(fake_bybit: FakeExchange) -> None:
    opened = {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Market",
        "qty": 0.01,
    }
    assert _post(fake_bybit, "/v5/order/create", json.dumps(opened))["retCode"] == 0
    closing = {**opened, "side": "Sell", "reduceOnly": True, "qty": "0.02"}
    created = _post(fake_bybit, "/v5/order/create", json.dumps(closing))
    assert created["retCode"] == 0
    [order] = fake_bybit.orders(account="linear", status="Filled")[1:]
    assert (order["orderId"], order["reduceOnly"], order["qty"]) == (
        created["result"]["orderId"],
        True,
        "0.01",  # reduce-only: cut to the position
    )
    [logged] = fake_bybit.requests(method="POST", path="/v5/order/create")[1:]
    assert logged["params"]["reduceOnly"] == "true"
