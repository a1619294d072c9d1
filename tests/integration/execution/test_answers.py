"""Every execution row of SPEC §3's answer table: ``fks-executor`` (dryRun false) as a real
process, its account on the fake exchange process, orders through real ccxt. Each test also
checks what reached the exchange (the user's view: the orders there)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import (
    Executor,
    alert,
    audit,
    metric,
    outcome_of,
    start_executor,
    trading_executor,
    wait_for,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("answers")


@pytest.fixture(scope="module")
def ex(fake_exchange_server: FakeExchange, workdir: Path) -> Iterator[Executor]:
    """One trading executor for the rows that need no special config (a long deadline, so
    slow refusals are answered with their final outcome; the 202 row has its own)."""
    changes = {"responseDeadlineSeconds": 10.0, "risk": {"allowedSymbols": ["BINANCE:BTCUSDT"]}}
    executor = start_executor(workdir, fake_exchange_server, changes, name="answers")
    yield executor
    executor.process.stop()


def row(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["status"], body["reason"]


def test_executed(ex: Executor, fake_exchange: FakeExchange) -> None:
    r = ex.post(alert(id="row-executed", amount=0.001))
    assert row(r) == (200, "executed", None)
    order = r.json()["order"]
    assert (order["symbol"], order["side"], order["type"], order["status"]) == (
        "BTC/USDT",
        "buy",
        "market",
        "closed",
    )
    assert order["filled"] == pytest.approx(0.001)
    assert order["average"] == pytest.approx(68_000)  # the fake fills at its price
    assert order["fee"] == {"cost": pytest.approx(0.000001), "currency": "BTC"}  # 0.1 % of base
    (placed,) = fake_exchange.orders(client_order_id=order["client_order_id"])
    assert (placed["status"], Decimal(placed["executedQty"])) == ("FILLED", Decimal("0.001"))
    assert str(placed["orderId"]) == order["id"]
    assert order["client_order_id"].startswith("fks-")
    assert order["client_order_id"].endswith("-en")
    text = ex.get("/metrics").text
    assert 'fks_order_executions_total{account="main",exchange="binance",status="executed"}' in text


def test_duplicate_with_the_first_outcome(ex: Executor, fake_exchange: FakeExchange) -> None:
    body = json.dumps(alert(id="row-duplicate", amount=0.001)).encode()
    first = ex.post(body)
    second = ex.post(body)
    assert row(first) == (200, "executed", None)
    assert row(second) == (200, "duplicate", None)
    assert second.json()["first"] == first.json()
    assert second.json()["order"] == first.json()["order"]
    assert fake_exchange.order_count() == 1


def test_symbol_not_allowed(ex: Executor, fake_exchange: FakeExchange) -> None:
    not_listed = ex.post(alert(id="row-sym-1", symbol="BINANCE:ETHUSDT", amount=0.01))
    unknown = ex.post(alert(id="row-sym-2", symbol="NOPEUSDT", amount=1))
    perpetual = ex.post(alert(id="row-sym-3", symbol="BTCUSDT.P", amount=0.001))
    for r in (not_listed, unknown, perpetual):
        assert row(r) == (422, "rejected", "symbol_not_allowed")
    assert "not in allowedSymbols" in not_listed.json()["detail"]
    assert fake_exchange.stats()["orderRequests"] == 0


def test_unknown_account(ex: Executor, fake_exchange: FakeExchange) -> None:
    assert row(ex.post(alert(id="row-acct", account="other"))) == (
        422,
        "rejected",
        "unknown_account",
    )
    assert fake_exchange.stats()["requests"] == 0


def test_risk_limit(ex: Executor, fake_exchange: FakeExchange) -> None:
    fake_exchange.set_balances({"BTC": 2})  # 136,000 USD held; maxPositionSizeUSD 100,000
    r = ex.post(alert(id="row-risk", amount=0.001))
    assert row(r) == (422, "rejected", "risk_limit")
    assert "maxPositionSizeUSD" in r.json()["detail"]
    assert fake_exchange.stats()["orderRequests"] == 0


def test_below_minimum_never_reaches_the_exchange(
    ex: Executor, fake_exchange: FakeExchange
) -> None:
    tiny = ex.post(alert(id="row-min-1", amount=0.000001))  # step 0.00001: truncates to 0
    cheap = ex.post(alert(id="row-min-2", amount=0.00005))  # 3.4 USDT < NOTIONAL 5
    assert row(tiny) == (422, "rejected", "below_minimum")
    assert row(cheap) == (422, "rejected", "below_minimum")
    assert "below the minimum 5 USDT" in cheap.json()["detail"]
    stats = fake_exchange.stats()
    assert (stats["orderRequests"], fake_exchange.order_count()) == (0, 0)


def test_precision_is_applied_before_sending(ex: Executor, fake_exchange: FakeExchange) -> None:
    r = ex.post(alert(id="row-precision", amount=0.0012345678))
    assert row(r) == (200, "executed", None)
    (placed,) = fake_exchange.orders(client_order_id=r.json()["order"]["client_order_id"])
    assert Decimal(placed["origQty"]) == Decimal("0.00123")  # truncated to the 0.00001 step
    limit = ex.post(
        alert(id="row-precision-2", order_type="limit", price=60_000.123456, amount=0.001)
    )
    assert row(limit) == (200, "executed", None)
    (resting,) = fake_exchange.orders(client_order_id=limit.json()["order"]["client_order_id"])
    assert (resting["status"], Decimal(resting["price"])) == ("NEW", Decimal("60000.12"))


def test_insufficient_funds_is_the_exchange_refusal(
    ex: Executor, fake_exchange: FakeExchange
) -> None:
    fake_exchange.set_balances({"USDT": 1})
    r = ex.post(alert(id="row-funds", amount=0.01))
    assert row(r) == (422, "rejected", "insufficient_funds")
    stats = fake_exchange.stats()
    assert (stats["orderRequests"], stats["ordersCreated"]) == (1, 0)  # sent once, refused


def test_invalid_order_is_the_exchange_refusal(ex: Executor, fake_exchange: FakeExchange) -> None:
    # A limit price above the market's PRICE_FILTER maxPrice (1,000,000): Binance's -1013.
    fake_exchange.set_balances({"BTC": 0})
    r = ex.post(alert(id="row-invalid", order_type="limit", price=2_000_000, amount=0.001))
    assert row(r) == (422, "rejected", "invalid_order")
    assert "PRICE_FILTER" in r.json()["detail"]
    assert fake_exchange.stats()["ordersCreated"] == 0
    fake_exchange.add_fault("reject", method="POST", path="/api/v3/order", preset="lot_size")
    r = ex.post(alert(id="row-invalid-2", amount=0.001))
    assert row(r) == (422, "rejected", "invalid_order")
    assert fake_exchange.stats()["ordersCreated"] == 0


def test_exchange_unavailable_after_retries(ex: Executor, fake_exchange: FakeExchange) -> None:
    fake_exchange.add_fault(
        "http_error", method="GET", path="/api/v3/account", status=503, count=10
    )
    r = ex.post(alert(id="row-unavailable", amount=0.001))
    assert row(r) == (503, "failed", "exchange_unavailable")
    assert fake_exchange.stats()["byEndpoint"]["GET /api/v3/account"] == 4  # bounded retries
    assert fake_exchange.stats()["orderRequests"] == 0
    fake_exchange.clear_faults()
    # TradingView resends after a 5xx: the same alert is tried again, and executes once
    again = ex.post(alert(id="row-unavailable", amount=0.001))
    assert row(again) == (200, "executed", None)
    assert fake_exchange.order_count() == 1


def test_every_answer_is_audited(ex: Executor, workdir: Path) -> None:
    events = audit(workdir)
    decisions = {e["decision"] for e in events}
    assert {"accepted", "order_sent", "order_result", "executed", "rejected", "failed"} <= decisions
    executed = [e for e in events if e["signal_id"] == "row-executed"]
    assert [e["decision"] for e in executed] == [
        "accepted",
        "order_sent",
        "order_result",
        "executed",
    ]
    assert executed[-1]["order_id"]
    assert "fks-fake-exchange-test-secret" not in (workdir / "audit.jsonl").read_text()


# --- rows that need their own executor ----------------------------------------------------


def test_dry_run_fills_at_the_ticker_and_calls_nothing_private(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    fake_exchange.set_price("BTC/USDT", 70_000)
    with trading_executor(tmp_path, fake_exchange, {"dryRun": True}, name="dry-run") as ex:
        r = ex.post(alert(id="row-dry", price=None, size_usd=700))  # sized and filled at 70,000
        assert row(r) == (200, "dry_run", None)
        order = r.json()["order"]
        assert (order["price"], order["amount"], order["status"]) == (70_000, 0.01, "simulated")
        assert order["dry_run"] is True
        assert order["id"] == "dry-" + order["client_order_id"]
    assert fake_exchange.order_count() == 0
    private = [
        r for r in fake_exchange.requests() if r["path"] in ("/api/v3/account", "/api/v3/order")
    ]
    assert private == []


def test_accepted_past_the_deadline_then_executed(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    """A slow exchange: answered 202 at the deadline, finished in the background."""
    fake_exchange.add_fault("latency", method="GET", path="/api/v3/account", delayMs=900)
    changes = {"responseDeadlineSeconds": 0.3}
    with trading_executor(tmp_path, fake_exchange, changes, name="deadline") as ex:
        started = time.monotonic()
        r = ex.post(alert(id="row-accepted", amount=0.001))
        assert time.monotonic() - started < 0.8
        assert row(r) == (202, "accepted", None)
        assert "GET /signals/{id}" in r.json()["detail"]
        outcome = outcome_of(ex, "row-accepted")
        assert outcome["status"] == "executed"
        dup = ex.post(alert(id="row-accepted", amount=0.001))
        assert dup.json()["first"]["status"] == "executed"
    (placed,) = fake_exchange.orders()
    assert placed["clientOrderId"] == outcome["order"]["client_order_id"]


def test_circuit_opens_after_the_threshold_and_recovers(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    changes = {"circuitBreaker": {"failureThreshold": 2, "resetTimeoutSeconds": 2}}
    gauge = 'fks_circuit_breaker_state{account="main"}'
    with trading_executor(tmp_path, fake_exchange, changes, name="breaker") as ex:
        assert metric(ex, gauge) == 0
        fake_exchange.add_fault("http_error", path="/api/v3/*", status=502, count=1000)
        for i in range(2):
            # the breaker opens during the second request: not before it was sent
            opening = time.monotonic()
            r = ex.post(alert(id=f"cb-{i}", amount=0.001))
            assert row(r) == (503, "failed", "exchange_unavailable")
        assert metric(ex, gauge) == 2
        seen = fake_exchange.stats()["requests"]
        r = ex.post(alert(id="cb-open", amount=0.001))
        assert row(r) == (503, "failed", "circuit_open")
        assert fake_exchange.stats()["requests"] == seen  # failed fast, the exchange untouched
        # After resetTimeoutSeconds the gauge reads half-open at once (not at the next call).
        wait_for(lambda: metric(ex, gauge) == 1, what="half-open", timeout=5)
        assert time.monotonic() - opening >= 2.0
        fake_exchange.clear_faults()
        again = ex.post(alert(id="cb-open", amount=0.001))  # the redelivery: the trial call
        assert row(again) == (200, "executed", None)
        assert metric(ex, gauge) == 0
        failures = (
            'fks_order_failures_total{account="main",exchange="binance",reason="circuit_open"}'
        )
        assert metric(ex, failures) == 1
    assert fake_exchange.order_count() == 1
