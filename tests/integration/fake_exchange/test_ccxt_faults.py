"""Injected faults, seen through real ccxt: the exception class a client gets, and whether the
order reached the exchange (the at-most-once cases the executor must survive)."""

from __future__ import annotations

import time

import ccxt.async_support as ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.harness.procs import wait_until

ORDER = {"method": "POST", "path": "/api/v3/order"}
CLIENT_TIMEOUT_MS = 1000


async def _buy(ex: ccxt.binance, client_id: str) -> dict[str, object]:
    order: dict[str, object] = await ex.create_order(
        "BTC/USDT", "market", "buy", 0.001, None, {"clientOrderId": client_id}
    )
    return order


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"kind": "http_error"}, ccxt.ExchangeNotAvailable),
        ({"kind": "http_error", "status": 503}, ccxt.ExchangeNotAvailable),
        ({"kind": "http_error", "status": 504}, ccxt.RequestTimeout),
        ({"kind": "rate_limit"}, ccxt.DDoSProtection),
        ({"kind": "ban", "retryAfter": 60}, ccxt.DDoSProtection),
        ({"kind": "drop"}, ccxt.ExchangeNotAvailable),
        ({"kind": "reject", "preset": "insufficient_balance"}, ccxt.InsufficientFunds),
        ({"kind": "reject", "preset": "lot_size"}, ccxt.InvalidOrder),
        ({"kind": "reject", "preset": "notional"}, ccxt.BadRequest),
        ({"kind": "reject", "code": -1013, "msg": "Market is closed."}, ccxt.MarketClosed),
        ({"kind": "reject", "preset": "duplicate_order"}, ccxt.InvalidOrder),
        ({"kind": "reject", "preset": "invalid_signature"}, ccxt.AuthenticationError),
        ({"kind": "reject", "preset": "timestamp"}, ccxt.InvalidNonce),
        ({"kind": "reject", "preset": "unknown_error"}, ccxt.OperationFailed),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "-".join(map(str, v.values())),
)
async def test_fault_before_processing_surfaces_as_ccxt_error_and_places_nothing(
    fake_exchange: FakeExchange, spec: dict[str, object], expected: type[Exception]
) -> None:
    async with fake_exchange.ccxt(timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        fake_exchange.add_fault(**{**spec, **ORDER})
        with pytest.raises(expected):
            await _buy(ex, "fault-before")
        # the fault is spent: the same request now goes through
        again = await _buy(ex, "fault-before")
        assert again["status"] == "closed"
    assert fake_exchange.order_count(client_order_id="fault-before") == 1
    assert fake_exchange.stats()["orderRequests"] == 2


async def test_network_class_faults_are_network_errors(fake_exchange: FakeExchange) -> None:
    """What a retry policy keys on: every transport-level fault is a ccxt NetworkError."""
    async with fake_exchange.ccxt(timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        for kind in ("http_error", "rate_limit", "ban", "drop"):
            # aiohttp re-sends an idempotent request (GET) once when a kept-alive connection is
            # dropped, so a drop must hit twice to reach the caller
            fake_exchange.add_fault(kind, path="/api/v3/account", count=2 if kind == "drop" else 1)
            with pytest.raises(ccxt.NetworkError):
                await ex.fetch_balance()
        fake_exchange.add_fault("reject", preset="insufficient_balance", path="/api/v3/account")
        with pytest.raises(ccxt.ExchangeError) as info:
            await ex.fetch_balance()
        assert not isinstance(info.value, ccxt.NetworkError)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("hang", ccxt.RequestTimeout), ("drop", ccxt.ExchangeNotAvailable)],
)
async def test_lost_answer_order_exists_although_the_client_got_an_error(
    fake_exchange: FakeExchange, mode: str, expected: type[Exception]
) -> None:
    async with fake_exchange.ccxt(timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        fake_exchange.add_fault("lost_answer", mode=mode, hangMs=3000, **ORDER)
        with pytest.raises(expected):
            await _buy(ex, "lost-answer-1")
        # the order went through: looking it up (what a client must do before re-sending) finds it
        found = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "lost-answer-1"})
        assert found["status"] == "closed"
        assert found["filled"] == 0.001
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10_000 - 68
    assert fake_exchange.order_count() == 1
    stats = fake_exchange.stats()
    assert stats["orderRequests"] == 1
    assert stats["ordersCreated"] == 1
    assert stats["faultsFired"] == 1


async def test_latency_below_the_timeout_only_slows_the_answer(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(timeout=5000) as ex:
        await ex.load_markets()
        fake_exchange.add_fault("latency", delayMs=400, **ORDER)
        started = time.monotonic()
        order = await _buy(ex, "slow-1")
        assert time.monotonic() - started >= 0.4
        assert order["status"] == "closed"


async def test_latency_beyond_the_timeout_still_executes_the_order(
    fake_exchange: FakeExchange,
) -> None:
    """As on a real exchange: the client gave up, the server still processes the request."""
    async with fake_exchange.ccxt(timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        fake_exchange.add_fault("latency", delayMs=1500, **ORDER)
        with pytest.raises(ccxt.RequestTimeout):
            await _buy(ex, "late-1")
    wait_until(lambda: fake_exchange.order_count(client_order_id="late-1") == 1, timeout=5)


async def test_fault_count_skip_and_matching(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        fault_id = fake_exchange.add_fault("http_error", status=502, count=2, skip=1, **ORDER)
        await ex.fetch_balance()  # another path: not affected, not counted
        assert (await _buy(ex, "skip-1"))["status"] == "closed"  # skipped
        for client_id in ("skip-2", "skip-3"):
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await _buy(ex, client_id)
        assert (await _buy(ex, "skip-4"))["status"] == "closed"  # spent
    [fault] = [f for f in fake_exchange.faults() if f["id"] == fault_id]
    assert fault["fired"] == 2
    assert fault["remaining"] == 0
    assert [o["clientOrderId"] for o in fake_exchange.orders()] == ["skip-1", "skip-4"]


async def test_glob_path_fault_hits_every_matching_endpoint(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        fake_exchange.add_fault("rate_limit", path="/api/v3/*", count=2)
        with pytest.raises(ccxt.DDoSProtection):
            await ex.fetch_ticker("BTC/USDT")
        with pytest.raises(ccxt.DDoSProtection):
            await ex.fetch_balance()
        assert (await ex.fetch_ticker("BTC/USDT"))["last"] == 68_000
    logged = fake_exchange.requests()
    assert [r["fault"] for r in logged[-3:]] == ["rate_limit", "rate_limit", None]
    assert [r["status"] for r in logged[-3:]] == [429, 429, 200]
