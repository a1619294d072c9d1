"""The Bybit venue's authentication and injected faults, seen through real ccxt ``bybit``: the
exception class a client gets, and whether the order reached the exchange."""

from __future__ import annotations

import time

import ccxt.async_support as ccxt
import httpx
import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.harness.procs import wait_until

BTC = "BTC/USDT:USDT"
VENUE = "bybit-linear"
ORDER = {"method": "POST", "path": "/v5/order/create"}
CLIENT_TIMEOUT_MS = 1000


async def _buy(ex: ccxt.bybit, client_id: str) -> dict[str, object]:
    order: dict[str, object] = await ex.create_order(
        BTC, "market", "buy", 0.002, None, {"clientOrderId": client_id}
    )
    return order


async def test_bad_signature_unknown_key_and_stale_timestamp_are_refused(
    fake_bybit: FakeExchange,
) -> None:
    async with fake_bybit.ccxt(VENUE, secret="not-the-secret") as ex:
        with pytest.raises(ccxt.AuthenticationError, match="10004"):
            await ex.private_get_v5_account_wallet_balance({"accountType": "UNIFIED"})
        with pytest.raises(ccxt.AuthenticationError, match="10004"):  # a POST body too
            await ex.private_post_v5_order_create(
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Market",
                    "qty": "0.002",
                }
            )
    async with fake_bybit.ccxt(VENUE, apiKey="unknown-key") as ex:
        with pytest.raises(ccxt.AuthenticationError, match="10003"):
            await ex.private_get_v5_account_wallet_balance({"accountType": "UNIFIED"})
    fake_bybit.set_clock_offset(6_000)  # ccxt's recvWindow is 5,000 ms
    async with fake_bybit.ccxt(VENUE) as ex:
        with pytest.raises(ccxt.InvalidNonce, match="10002"):
            await ex.private_get_v5_account_wallet_balance({"accountType": "UNIFIED"})
        ex.options["recvWindow"] = 10_000  # a wider window lets the same skew through
        await ex.private_get_v5_account_wallet_balance({"accountType": "UNIFIED"})
    fake_bybit.set_clock_offset(-2_000)  # a request from the future (beyond 1 s) is refused too
    async with fake_bybit.ccxt(VENUE) as ex:
        with pytest.raises(ccxt.InvalidNonce):
            await ex.private_get_v5_account_wallet_balance({"accountType": "UNIFIED"})
    assert fake_bybit.order_count() == 0


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"kind": "http_error"}, ccxt.ExchangeNotAvailable),
        ({"kind": "http_error", "status": 503}, ccxt.ExchangeNotAvailable),
        ({"kind": "http_error", "status": 504}, ccxt.RequestTimeout),
        ({"kind": "rate_limit"}, ccxt.RateLimitExceeded),  # retCode 10006 in HTTP 200
        ({"kind": "ban", "retryAfter": 60}, ccxt.RateLimitExceeded),  # bare HTTP 403
        ({"kind": "drop"}, ccxt.ExchangeNotAvailable),
        ({"kind": "reject", "preset": "insufficient_balance"}, ccxt.InsufficientFunds),
        ({"kind": "reject", "preset": "duplicate_order"}, ccxt.InvalidOrder),
        ({"kind": "reject", "preset": "invalid_signature"}, ccxt.AuthenticationError),
        ({"kind": "reject", "preset": "timestamp"}, ccxt.InvalidNonce),
        ({"kind": "reject", "preset": "unknown_error"}, ccxt.ExchangeError),
        ({"kind": "reject", "code": 110066, "msg": "No trading now"}, ccxt.ExchangeError),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "-".join(map(str, v.values())),
)
async def test_fault_before_processing_places_nothing(
    fake_bybit: FakeExchange, spec: dict[str, object], expected: type[Exception]
) -> None:
    async with fake_bybit.ccxt(VENUE, timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        await ex.fetch_balance()  # ccxt's account-mode lookups, before the fault is armed
        fake_bybit.add_fault(**{**spec, **ORDER})
        with pytest.raises(expected):
            await _buy(ex, "fault-before")
        assert fake_bybit.order_count() == 0
        await _buy(ex, "fault-before")  # the fault is spent
    assert fake_bybit.order_count(client_order_id="fault-before") == 1
    stats = fake_bybit.stats()
    assert (stats["orderRequests"], stats["faultsFired"]) == (2, 1)
    # a reject fault is a refusal (retCode != 0); a rate limit, 5xx or dropped connection is not
    assert stats["ordersRejected"] == (1 if spec["kind"] == "reject" else 0)


def test_rate_limit_answer_is_bybits(fake_bybit: FakeExchange) -> None:
    fake_bybit.add_fault("rate_limit", path="/v5/market/time")
    response = httpx.get(f"{fake_bybit.base_url}/v5/market/time", timeout=5)
    assert response.status_code == 200
    assert response.json()["retCode"] == 10006
    assert response.headers["X-Bapi-Limit-Status"] == "0"
    fake_bybit.add_fault("ban", path="/v5/market/time")
    assert httpx.get(f"{fake_bybit.base_url}/v5/market/time", timeout=5).status_code == 403


async def test_lost_answer_hang_records_the_order_the_client_times_out(
    fake_bybit: FakeExchange,
) -> None:
    async with fake_bybit.ccxt(VENUE, timeout=CLIENT_TIMEOUT_MS) as ex:
        await ex.load_markets()
        await ex.fetch_balance()
        fake_bybit.add_fault("lost_answer", mode="hang", hangMs=3_000, **ORDER)
        with pytest.raises(ccxt.RequestTimeout):
            await _buy(ex, "lost-1")
        # the order went through: a retry with the same orderLinkId is refused as a duplicate
        with pytest.raises(ccxt.InvalidOrder, match="110072"):
            await _buy(ex, "lost-1")
        [found] = await ex.fetch_closed_orders(BTC, params={"orderLinkId": "lost-1"})
        assert found["status"] == "closed"


async def test_lost_answer_drop_and_latency(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE, timeout=3_000) as ex:
        await ex.load_markets()
        await ex.fetch_balance()
        fake_bybit.add_fault("lost_answer", mode="drop", **ORDER)
        with pytest.raises(ccxt.NetworkError):
            await _buy(ex, "dropped-1")
        wait_until(lambda: fake_bybit.order_count(client_order_id="dropped-1") == 1, timeout=5)
        fake_bybit.add_fault("latency", delayMs=600, **ORDER)
        started = time.monotonic()
        await _buy(ex, "slow-1")
        assert time.monotonic() - started >= 0.6
        fake_bybit.add_fault("latency", delayMs=600, path="/v5/market/*")
        started = time.monotonic()
        await ex.fetch_ticker(BTC)
        assert time.monotonic() - started >= 0.6
    assert fake_bybit.order_count(client_order_id="slow-1") == 1
