"""Orders a signal produces on the exchange (entry, stop-loss/take-profit protection, close)
on each venue, and retried reads. ``fks-executor`` and the fake exchange are real processes;
ccxt gives up on a request after 1 s. The order protocol's faults: ``test_order_faults.py``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, start_executor
from .venues import VENUES


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


def test_tp_sl_on_binance_spot_places_the_entry_and_an_oco_list(
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


# --- faults (the order protocol's fault matrix, on every venue: test_order_faults.py) -------


def test_network_faults_on_reads_are_retried(ex: Executor, fake_exchange: FakeExchange) -> None:
    fake_exchange.add_fault("http_error", method="GET", path="/api/v3/account", status=502, count=2)
    fake_exchange.add_fault("latency", method="GET", path="/api/v3/account", delayMs=1500)
    r = ex.post(alert(id="read-retried", amount=0.001))
    assert row(r) == (200, "executed", None)
    assert fake_exchange.stats()["byEndpoint"]["GET /api/v3/account"] == 4  # 502, 502, slow, ok
    assert fake_exchange.order_count() == 1


@pytest.fixture(scope="module")
def usdm(
    fake_exchange_server: FakeExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Executor]:
    workdir = tmp_path_factory.mktemp("usdm")
    changes = {
        "responseDeadlineSeconds": 20.0,
        "accounts": [VENUES[1].account(fake_exchange_server)],
    }
    executor = start_executor(workdir, fake_exchange_server, changes, name="usdm")
    yield executor
    executor.process.stop()


def test_tp_sl_on_binance_usdm_rest_as_reduce_only_trigger_orders_until_the_close(
    usdm: Executor, fake_exchange: FakeExchange
) -> None:
    r = usdm.post(alert(id="usdm-tpsl", amount=0.01, stop_loss=66_000, take_profit=70_000))
    assert row(r) == (200, "executed", None)
    assert "detail" not in r.json()
    legs = {o["type"]: o for o in r.json()["orders"]}
    (entry,) = fake_exchange.orders(account="futures", client_order_id=entry_id(r))
    assert (entry["side"], entry["status"], Decimal(entry["executedQty"])) == (
        "BUY",
        "FILLED",
        Decimal("0.01"),
    )
    algo = {o["clientAlgoId"]: o for o in fake_exchange.orders(account="futures-algo")}
    sl = algo[legs["stop_loss"]["client_order_id"]]
    tp = algo[legs["take_profit"]["client_order_id"]]
    assert (sl["side"], Decimal(sl["triggerPrice"])) == ("SELL", 66_000)
    assert (tp["side"], Decimal(tp["triggerPrice"])) == ("SELL", 70_000)
    assert all(o["reduceOnly"] in (True, "true") for o in (sl, tp))

    closed = usdm.post(alert(id="usdm-tpsl-close", action="close"))
    assert row(closed) == (200, "executed", None)
    assert {o["type"] for o in closed.json()["orders"]} == {"stop_loss", "take_profit"}
    (close_order,) = fake_exchange.orders(account="futures", client_order_id=entry_id(closed))
    assert (close_order["side"], close_order["status"]) == ("SELL", "FILLED")
