"""Arbitrary bytes and arbitrary JSON never produce a 500 or an unhandled exception.

Driven through the real ASGI app (httpx.ASGITransport) with its lifespan running, once per
module; each hypothesis example is one request. Authenticated variants (a correct passphrase,
a correct HMAC over arbitrary bytes) make sure the fuzz reaches the JSON parser and the
schema, not only the authentication step.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fks_executor.auth import sign
from tests.unit.executor.helpers import SECRET, make_app, make_config, serve

ALLOWED = {200, 202, 400, 401, 413, 422}
FIELDS = [
    "symbol", "ticker", "action", "side", "confidence", "timestamp", "time", "price",
    "order_type", "orderType", "type", "stop_loss", "stopLoss", "take_profit", "takeProfit",
    "amount", "size_usd", "sizeUsd", "sizeUSD", "atr", "account", "id", "signal_id", "comment",
    "passphrase",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["buy", "LONG", "exit", "BTCUSDT", "BINANCE:BTCUSDT.P", "limit", "main"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


class Driver:
    """A running app on a private event loop, for synchronous hypothesis tests."""

    def __init__(self, tmp: Path, auth: str) -> None:
        config = make_config(
            audit={"path": str(tmp / f"audit-{auth}.jsonl")},
            webhook={"auth": auth},
            responseDeadlineSeconds=1.0,
        )
        self.loop = asyncio.new_event_loop()
        self._serving = serve(make_app(config))
        self.http: httpx.AsyncClient = self.loop.run_until_complete(self._serving.__aenter__())

    def post(self, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.loop.run_until_complete(
            self.http.post("/webhook", content=content, headers=headers or {})
        )

    def close(self) -> None:
        self.loop.run_until_complete(self._serving.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def either(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    driver = Driver(tmp_path_factory.mktemp("fuzz"), "hmac-or-token")
    yield driver
    driver.close()


def check(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in ALLOWED, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict)
    assert body["status"] in {"dry_run", "duplicate", "ignored", "rejected", "accepted"}
    assert "Traceback" not in response.text
    return body


FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes(either: Driver, body: bytes) -> None:
    check(either.post(body))


@FUZZ
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes_correctly_signed(either: Driver, body: bytes) -> None:
    body_answer = check(either.post(body, {"X-Webhook-Signature": sign(body, SECRET)}))
    assert body_answer["reason"] != "invalid_signature"


@FUZZ
@given(value=json_values)
def test_arbitrary_json(either: Driver, value: Any) -> None:
    check(either.post(json.dumps(value).encode()))


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(FIELDS) | st.text(max_size=10), json_values, max_size=10
    ),
    fresh=st.booleans(),
)
def test_arbitrary_authenticated_objects(
    either: Driver, fields: dict[str, Any], fresh: bool
) -> None:
    fields["passphrase"] = SECRET
    if fresh:
        fields.setdefault("timestamp", int(time.time()))
    body = check(either.post(json.dumps(fields).encode()))
    assert body["reason"] != "invalid_signature"


@FUZZ
@given(
    symbol=st.text(max_size=70),
    action=st.text(max_size=10) | st.sampled_from(["buy", "sell", "close", "Long", "FLAT"]),
    price=st.floats() | st.integers() | st.text(max_size=12),
    timestamp=st.floats() | st.integers() | st.text(max_size=30),
)
def test_fuzzed_field_values(
    either: Driver, symbol: str, action: str, price: Any, timestamp: Any
) -> None:
    body = {
        "symbol": symbol,
        "action": action,
        "price": price,
        "timestamp": timestamp,
        "passphrase": SECRET,
    }
    check(either.post(json.dumps(body).encode()))


def test_the_fuzz_reaches_execution(either: Driver) -> None:
    """Not only refusals: a well-formed alert through the same driver executes."""
    body = {
        "symbol": "BTCUSDT",
        "action": "buy",
        "price": 1.5,
        "timestamp": int(time.time()),
        "passphrase": SECRET,
        "id": "fuzz-sanity",
    }
    assert check(either.post(json.dumps(body).encode()))["status"] == "dry_run"
