"""Orders a signal produces on the exchange, and what each injected exchange fault does to the
answer — with at most one order on the exchange every time. ``fks-executor`` and the fake
exchange are real processes; ccxt gives up on a request after 1 s, and the account's
``recvWindow`` of 2 s means an order request that failed is settled 3 s after it was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, start_executor


@pytest.fixture(scope="module")
def ex(
    fake_exchange_server: FakeExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Executor]:
    workdir = tmp_path_factory.mktemp("faults")
    changes = {"responseDeadlineSeconds": 20.0}  # the final answer of every fault, not a 202
    executor = start_executor(workdir, fake_exchange_server, changes, name="faults")
    yield executor
    executor.process.stop()


def row(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["status"], body["reason"]


def entry_id(response: httpx.Response) -> str:
    cid: str = response.json()["order"]["client_order_id"]
    return cid


# --- what a signal produces ---------------------------------------------------------------


def test_tp_sl_signal_places_the_entry_and_an_oco_list(
    ex: Executor, fake_exchange: FakeExchange
) -> None:
    fake_exchange.set_balances({"BTC": 0})
    r = ex.post(alert(id="tpsl", amount=0.01, stop_loss=66_000, take_profit=70_000))
    assert row(r) == (200, "executed", None)
    body = r.json()
    assert "detail" not in body  # no leg failed
    legs = {o["type"]: o for o in body["orders"]}
    assert set(legs) == {"stop_loss", "take_profit"}
    assert all(o["status"] == "open" for o in legs.values())
    entry = fake_exchange.orders(client_order_id=entry_id(r))[0]
    sl = fake_exchange.orders(client_order_id=legs["stop_loss"]["client_order_id"])[0]
    tp = fake_exchange.orders(client_order_id=legs["take_profit"]["client_order_id"])[0]
    assert (entry["side"], entry["type"], entry["status"]) == ("BUY", "MARKET", "FILLED")
    assert (sl["side"], sl["type"], Decimal(sl["stopPrice"])) == ("SELL", "STOP_LOSS", 66_000)
    assert (tp["side"], tp["type"], Decimal(tp["stopPrice"])) == ("SELL", "TAKE_PROFIT", 70_000)
    assert sl["orderListId"] == tp["orderListId"] != -1  # one OCO list: one balance lock
    # the legs sell what the entry bought, minus the 0.1 % fee Binance took in BTC
    assert Decimal(sl["origQty"]) == Decimal(tp["origQty"]) == Decimal("0.00999")
    assert fake_exchange.order_count() == 3

    # close: cancels this pipeline's resting legs, then sells the free BTC
    closed = ex.post(alert(id="tpsl-close", action="close"))
    assert row(closed) == (200, "executed", None)
    assert {o["status"] for o in closed.json()["orders"]} == {"canceled"}
    statuses = {o["clientOrderId"]: o["status"] for o in fake_exchange.orders()}
    assert statuses[sl["clientOrderId"]] == statuses[tp["clientOrderId"]] == "CANCELED"
    close_order = fake_exchange.orders(client_order_id=entry_id(closed))[0]
    assert (close_order["side"], close_order["status"]) == ("SELL", "FILLED")
    assert fake_exchange.spot_balance("BTC")[0] < Decimal("0.00001")


# --- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hang", "drop"])
def test_a_lost_answer_is_found_by_client_order_id_not_sent_again(
    ex: Executor, fake_exchange: FakeExchange, mode: str
) -> None:
    """The order went through, its answer never came back (timeout or dropped connection):
    the executor looks it up and answers with it; exactly one order exists."""
    fake_exchange.add_fault(
        "lost_answer", method="POST", path="/api/v3/order", mode=mode, hangMs=5000
    )
    r = ex.post(alert(id=f"lost-{mode}", amount=0.001))
    assert row(r) == (200, "executed", None)
    assert "found on the exchange by client order id (not sent again)" in r.json()["detail"]
    stats = fake_exchange.stats()
    assert (stats["orderRequests"], stats["ordersCreated"]) == (1, 1)
    (order,) = fake_exchange.orders()
    assert order["clientOrderId"] == entry_id(r)
    assert str(order["orderId"]) == r.json()["order"]["id"]


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("http_error", {"status": 500}),
        ("http_error", {"status": 504}),
        ("rate_limit", {"retryAfter": 1}),
        ("ban", {"retryAfter": 1}),
        ("drop", {}),
    ],
)
def test_an_order_request_that_failed_unprocessed_is_503_then_the_redelivery_sends_it(
    ex: Executor, fake_exchange: FakeExchange, kind: str, spec: dict[str, object]
) -> None:
    """The exchange did not take the order (5xx, 429, 418, dropped): after looking it up
    (and again once the request could no longer land) the answer is 503; TradingView's resend
    of the same body then places it — once."""
    fake_exchange.add_fault(kind, method="POST", path="/api/v3/order", **spec)
    body = json.dumps(alert(id=f"unprocessed-{kind}-{spec}", amount=0.001)).encode()
    first = ex.post(body)
    assert row(first) == (503, "failed", "exchange_unavailable")
    assert "was not placed" in first.json()["detail"]
    assert fake_exchange.order_count() == 0
    lookups = fake_exchange.stats()["byEndpoint"]["GET /api/v3/order"]
    assert lookups == 2  # at once, and after the settle time
    resend = ex.post(body)
    assert row(resend) == (200, "executed", None)
    assert fake_exchange.order_count() == 1
    assert ex.post(body).json()["status"] == "duplicate"
    assert fake_exchange.order_count() == 1


def test_redelivery_after_an_unknown_outcome_finds_the_order(
    ex: Executor, fake_exchange: FakeExchange
) -> None:
    """Worst case: the order went through, its answer was lost, and the lookups failed too.
    The answer is 503 (outcome unknown); the redelivery looks the order up first, finds it,
    and sends nothing."""
    fake_exchange.add_fault("lost_answer", method="POST", path="/api/v3/order", mode="drop")
    fake_exchange.add_fault("http_error", method="GET", path="/api/v3/order", status=503, count=100)
    body = json.dumps(alert(id="unknown-outcome", amount=0.001)).encode()
    first = ex.post(body)
    assert row(first) == (503, "failed", "exchange_unavailable")
    assert "looking it up failed" in first.json()["detail"]
    assert fake_exchange.order_count() == 1  # it did go through
    fake_exchange.clear_faults()
    resend = ex.post(body)
    assert row(resend) == (200, "executed", None)
    assert "not sent again" in resend.json()["detail"]
    stats = fake_exchange.stats()
    assert (stats["orderRequests"], stats["ordersCreated"]) == (1, 1)
    assert resend.json()["order"]["client_order_id"] == fake_exchange.orders()[0]["clientOrderId"]


@pytest.mark.parametrize(
    ("preset", "reason"),
    [("insufficient_balance", "insufficient_funds"), ("lot_size", "invalid_order")],
)
def test_an_exchange_refusal_is_final_and_never_retried(
    ex: Executor, fake_exchange: FakeExchange, preset: str, reason: str
) -> None:
    fake_exchange.add_fault("reject", method="POST", path="/api/v3/order", preset=preset)
    body = json.dumps(alert(id=f"refused-{preset}", amount=0.001)).encode()
    assert row(ex.post(body)) == (422, "rejected", reason)
    again = ex.post(body)
    assert (again.json()["status"], again.json()["first"]["reason"]) == ("duplicate", reason)
    stats = fake_exchange.stats()
    assert (stats["orderRequests"], stats["ordersCreated"]) == (1, 0)


def test_network_faults_on_reads_are_retried(ex: Executor, fake_exchange: FakeExchange) -> None:
    fake_exchange.add_fault("http_error", method="GET", path="/api/v3/account", status=502, count=2)
    fake_exchange.add_fault("latency", method="GET", path="/api/v3/account", delayMs=1500)
    r = ex.post(alert(id="read-retried", amount=0.001))
    assert row(r) == (200, "executed", None)
    assert fake_exchange.stats()["byEndpoint"]["GET /api/v3/account"] == 4  # 502, 502, slow, ok
    assert fake_exchange.order_count() == 1
