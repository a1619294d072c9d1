"""Warm state (``execution.warmStateMaxAgeSeconds``): an order's balance, position and ticker come
from the venue's websocket streams, not from REST per order; a dropped or stalled stream makes the
next order read them by REST (and still size correctly); after a reconnect the streams serve
again. Websocket order entry (``execution.orderEntry: websocket``) places one order per signal,
also when its answer never comes. Every venue, real processes (docs/executor.md, "Hot path")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, start_executor, wait_for
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

pytestmark = pytest.mark.integration

#: REST reads an order would need without warm state: balance, positions, ticker.
READS = {
    "binance-spot": {"/api/v3/account", "/api/v3/ticker/24hr"},
    "binance-usdm": {
        "/fapi/v2/balance",
        "/fapi/v3/balance",
        "/fapi/v2/account",
        "/fapi/v3/account",
        "/fapi/v2/positionRisk",
        "/fapi/v3/positionRisk",
        "/fapi/v1/ticker/24hr",
    },
    "bybit-spot": {"/v5/account/wallet-balance", "/v5/market/tickers"},
    "bybit-linear": {"/v5/account/wallet-balance", "/v5/position/list", "/v5/market/tickers"},
}
NOTIONAL = 1000.0
#: Where each venue's websocket order entry connects (ccxt's create_order_ws).
WS_ORDERS = {
    "binance-spot": "/ws-api/v3",
    "binance-usdm": "/ws-fapi/v1",
    "bybit-spot": "/v5/trade",
    "bybit-linear": "/v5/trade",
}


def rest_reads(fx: FakeExchange, venue: Venue, since: int) -> list[str]:
    """The REST reads (of :data:`READS`) logged after the first ``since`` requests."""
    logged = fx.requests(method="GET")[since:]
    return [r["path"] for r in logged if r["path"] in READS[venue.name]]


def get_count(fx: FakeExchange) -> int:
    return len(fx.requests(method="GET"))


def order_amount(fx: FakeExchange, venue: Venue, answer: dict[str, Any]) -> Decimal:
    """The amount of the answer's order as the venue recorded it."""
    (order,) = venue.orders(fx, client_order_id=answer["order"]["client_order_id"])
    return Decimal(str(order.get("origQty", order.get("qty"))))


def streaming(fx: FakeExchange, venue: Venue) -> bool:
    topics = fx.ws_state()["topics"]
    if venue.server == "bybit":
        return "bybit:wallet" in topics and any("tickers.BTCUSDT" in t for t in topics)
    user = "spot@user" if venue.market_type == "spot" else "futures@user"
    return user in topics and any(t.endswith("btcusdt@miniTicker") for t in topics)


def warm_up(ex: Executor, fx: FakeExchange, venue: Venue, tag: str) -> None:
    """One order (it starts the symbol's ticker stream), then the streams in place and the
    own-order confirmation settled."""
    r = ex.post(alert(id=f"warm-{tag}", price=None))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    wait_for(lambda: streaming(fx, venue), what="streams subscribed", timeout=15)
    # the ticker snapshot, the own-order grace, and a periodic snapshot (every 1 s here) after
    # it: on Binance USD-M the stream does not carry the free balance, so until that snapshot
    # an order would read it by REST (the rule under test, not the state under test here)
    time.sleep(2.5)


def config(venue: Venue, fx: FakeExchange, **execution: Any) -> dict[str, Any]:
    return {
        "responseDeadlineSeconds": 20.0,
        "accounts": [venue.account(fx)],
        "risk": {
            "sizing": {"method": "fixed-notional", "notionalUSD": NOTIONAL},
            "maxPositionSizeUSD": 1_000_000,
            "maxOrderSizeUSD": 1_000_000,
        },
        "execution": execution,
    }


@pytest.fixture(scope="module")
def ex(
    venue: Venue, venue_server: FakeExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Executor]:
    """Warm state bounded at 2 s (snapshots every second)."""
    workdir = tmp_path_factory.mktemp(f"warm-{venue.name}")
    changes = config(venue, venue_server, warmStateMaxAgeSeconds=2)
    executor = start_executor(workdir, venue_server, changes, name=f"warm-{venue.name}")
    yield executor
    executor.process.stop()


def test_an_order_is_sized_from_the_streams_without_rest_reads(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    warm_up(ex, fx, venue, f"streams-{venue.name}")
    fx.set_price(venue.harness.symbol, 50_000)  # reaches the executor by the ticker stream
    time.sleep(0.3)
    before = get_count(fx)
    r = ex.post(alert(id=f"streamed-{venue.name}", price=None))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    # sized at the streamed price (1,000 USD / 50,000), nothing read by REST for it
    amount = order_amount(fx, venue, r.json())
    assert amount == Decimal("0.02")
    reads = rest_reads(fx, venue, before)
    # a background snapshot (every 1 s here) may fall in the window: at most one of each
    assert len(reads) == len(set(reads)), reads
    assert venue.requests(fx, "POST") == 2


def test_a_stalled_stream_ages_out_and_the_order_reads_by_rest(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    warm_up(ex, fx, venue, f"stall-{venue.name}")
    before = get_count(fx)
    fx.set_ws_latency(60_000)  # every websocket message held back: the stream is stalled
    fx.set_price(venue.harness.symbol, 40_000)  # the stream cannot tell
    time.sleep(2.5)  # past the 2 s bound
    r = ex.post(alert(id=f"stalled-{venue.name}", price=None))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    # sized at the price the stream never delivered: read by REST (a snapshot, or the
    # order's own read once the streamed one was older than the bound)
    assert order_amount(fx, venue, r.json()) == Decimal("0.025")
    reads = rest_reads(fx, venue, before)
    assert any("ticker" in p for p in reads), reads


def test_a_dropped_stream_falls_back_to_rest_then_serves_again_after_reconnecting(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    warm_up(ex, fx, venue, f"drop-{venue.name}")
    before = get_count(fx)
    assert fx.drop_ws() >= 1
    fx.set_price(venue.harness.symbol, 100_000)
    time.sleep(0.3)  # the executor sees its sockets close
    r = ex.post(alert(id=f"dropped-{venue.name}", price=None))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert order_amount(fx, venue, r.json()) == Decimal("0.01")
    assert any("ticker" in p for p in rest_reads(fx, venue, before))
    # reconnected (and refreshed by a snapshot): the stream serves the next price again
    wait_for(lambda: streaming(fx, venue), what="streams subscribed again", timeout=15)
    time.sleep(1.5)
    fx.set_price(venue.harness.symbol, 62_500)
    time.sleep(0.3)
    r = ex.post(alert(id=f"again-{venue.name}", price=None))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert order_amount(fx, venue, r.json()) == Decimal("0.016")


@pytest.fixture(scope="module")
def ws_ex(
    venue: Venue, venue_server: FakeExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Executor]:
    """Orders over the websocket (1 s answer timeout), REST reads."""
    workdir: Path = tmp_path_factory.mktemp(f"ws-orders-{venue.name}")
    changes = config(venue, venue_server, orderEntry="websocket")
    executor = start_executor(workdir, venue_server, changes, name=f"ws-orders-{venue.name}")
    yield executor
    executor.process.stop()


def test_an_order_goes_over_the_websocket(ws_ex: Executor, venue: Venue, fx: FakeExchange) -> None:
    r = ws_ex.post(alert(id=f"ws-{venue.name}", amount=venue.amount))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert venue.requests(fx, "POST") == 0  # not by REST
    (placed,) = venue.orders(fx)
    assert venue.filled(placed) == ("closed", Decimal(str(venue.amount)))
    assert r.json()["order"]["client_order_id"] in str(placed)


def test_a_lost_websocket_answer_is_settled_by_lookup_with_one_order(
    ws_ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    """The answer is held back past the 1 s timeout: the order is looked up by its client
    order id (REST), found, and not sent again."""
    # a first order opens (and on Bybit authenticates) the order connection
    first = ws_ex.post(alert(id=f"ws-before-lost-{venue.name}", amount=venue.amount))
    assert first.json()["status"] == "executed", first.text
    fx.set_ws_latency(4_000)
    r = ws_ex.post(alert(id=f"ws-lost-{venue.name}", amount=venue.amount))
    fx.set_ws_latency(0)
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert "found on the exchange by client order id" in r.json()["detail"]
    (placed,) = venue.orders(fx, client_order_id=r.json()["order"]["client_order_id"])
    assert venue.filled(placed) == ("closed", Decimal(str(venue.amount)))
    assert len(venue.orders(fx)) == 2
    assert venue.requests(fx, "POST") == 0


def test_a_websocket_dropped_while_the_order_is_answered_is_settled_with_one_order(
    ws_ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    """The order reached the venue; its connection ends before the answer: looked up by
    client order id, found, not sent again."""
    # a first order opens (and on Bybit authenticates) the order connection
    first = ws_ex.post(alert(id=f"ws-before-drop-{venue.name}", amount=venue.amount))
    assert first.json()["status"] == "executed", first.text
    fx.set_ws_latency(3_000)
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(ws_ex.post, alert(id=f"ws-drop-{venue.name}", amount=venue.amount))
        wait_for(lambda: len(venue.orders(fx)) == 2, what="the order placed", timeout=5)
        assert fx.drop_ws() >= 1
        r = answer.result(timeout=30)
    fx.set_ws_latency(0)
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert "found on the exchange by client order id" in r.json()["detail"]
    (placed,) = venue.orders(fx, client_order_id=r.json()["order"]["client_order_id"])
    assert venue.filled(placed) == ("closed", Decimal(str(venue.amount)))
    assert len(venue.orders(fx)) == 2
    assert venue.requests(fx, "POST") == 0


def test_a_failed_websocket_handshake_is_proven_absent_and_sent_again_once(
    ws_ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    """The connection for the order cannot be opened (the fake drops the upgrade request):
    the order is looked up, proven absent once the request could no longer land, and sent
    again over a new connection: one order."""
    fault = fx.add_fault("drop", method="GET", path=WS_ORDERS[venue.name], count=1)
    r = ws_ex.post(alert(id=f"ws-handshake-{venue.name}", amount=venue.amount))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert [f["fired"] for f in fx.faults() if f["id"] == fault] == [1]
    (placed,) = venue.orders(fx)
    assert venue.filled(placed) == ("closed", Decimal(str(venue.amount)))
    assert venue.requests(fx, "POST") == 0
