"""The ``latency`` fault on websocket order entry (docs/fake-exchange.md, "Fault injection"):
a latency fault without ``method`` delays ``create_order_ws`` as it delays a REST order (what
``bench/execution.py --order-entry websocket`` relies on); one naming an HTTP method stays
HTTP-only. Real ccxt.pro against the fake, every venue."""

from __future__ import annotations

import time

import pytest

from tests.harness.fake_exchange import VenueExchange

pytestmark = pytest.mark.integration

VENUES = ["binance-spot", "binance-usdm", "bybit-spot", "bybit-linear"]
DELAY_MS = 400


def fired(fake_venue: VenueExchange, fault_id: int) -> int:
    (fault,) = [f for f in fake_venue.fake.faults() if f["id"] == fault_id]
    return int(fault["fired"])


@pytest.mark.parametrize("fake_venue", VENUES, indirect=True)
async def test_a_latency_fault_delays_a_websocket_order(fake_venue: VenueExchange) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        fault = fx.add_fault("latency", delayMs=DELAY_MS)
        started = time.monotonic()
        order = await ex.create_order_ws(
            symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "ws-slow-1"}
        )
        elapsed = time.monotonic() - started
    assert elapsed >= DELAY_MS / 1000
    assert fired(fake_venue, fault) == 1
    assert order["clientOrderId"] == "ws-slow-1"
    assert len(fx.orders(client_order_id="ws-slow-1")) == 1


@pytest.mark.parametrize("fake_venue", VENUES, indirect=True)
async def test_a_latency_fault_on_an_http_method_leaves_websocket_orders_alone(
    fake_venue: VenueExchange,
) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        fault = fx.add_fault("latency", method="POST", delayMs=60_000)
        await ex.create_order_ws(symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "ws-2"})
    assert fired(fake_venue, fault) == 0
    assert len(fx.orders(client_order_id="ws-2")) == 1
