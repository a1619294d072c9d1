"""Every venue through the same exchange layer: only the account's market type is loaded, an
entry is confirmed with its fills (amount, average price, fee) whether or not the venue's
create answer carries them, the fill reaches the ledger, and an order whose answer is lost is
found by the venue's own lookup by client order id. Real ccxt against the fake exchange."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from fks_executor.exchange.base import Credentials
from fks_executor.exchange.live import LiveExchange
from fks_executor.exchange.setup import build_ccxt
from tests.harness.fake_exchange import FakeExchange
from tests.integration.execution.venues import Venue, fx, venue, venue_server

from .conftest import ACCOUNT, FAST_RETRY, Account, entry_plan, signal

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

# What ``load_markets`` may ask per venue: (path, category param or None).
MARKET_LOADING = {
    "binance-spot": {("/api/v3/exchangeInfo", None)},
    "binance-usdm": {("/fapi/v1/exchangeInfo", None)},
    "bybit-spot": {("/v5/market/instruments-info", "spot")},
    "bybit-linear": {("/v5/market/instruments-info", "linear")},
}


@pytest.fixture
async def venue_client(venue: Venue, fx: FakeExchange) -> AsyncIterator[LiveExchange]:
    account = Account(exchange=venue.exchange, market_type=venue.market_type, endpoint=fx.base_url)
    creds = Credentials(fx.api_key, fx.secret)
    client = LiveExchange(
        build_ccxt(account, creds),
        account=ACCOUNT,
        market_type=venue.market_type,
        retry=FAST_RETRY,
        secrets=creds.values(),
    )
    try:
        await client.start()
        yield client
    finally:
        await client.close()


def _loading(requests: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    return {(r["path"], (r.get("params") or {}).get("category")) for r in requests}


async def test_only_the_account_market_type_is_loaded(
    venue: Venue, fx: FakeExchange, venue_client: LiveExchange
) -> None:
    assert _loading(fx.requests()) == MARKET_LOADING[venue.name]
    assert all(m.contract == venue.contract for m in venue_client.index.by_symbol.values())


async def test_an_entry_is_confirmed_with_its_fills_and_fee(
    venue: Venue, fx: FakeExchange, venue_client: LiveExchange
) -> None:
    plan = entry_plan(venue_client, signal(amount=0.01))
    report = await venue_client.execute(plan)
    entry = report.entry
    assert (entry.status, entry.filled, entry.average) == ("closed", 0.01, 68_000)
    assert entry.fee is not None
    assert entry.fee > 0
    assert entry.fee_currency == ("USDT" if venue.contract else "BTC")
    (fill,) = report.fills
    assert (fill.amount, fill.price, fill.client_order_id) == (0.01, 68_000, entry.client_order_id)
    assert fill.fee_quote == pytest.approx(entry.fee * (1 if venue.contract else 68_000))
    (placed,) = fx.orders(client_order_id=plan.entry.client_order_id)
    assert str(placed["orderId"]) == entry.id


async def test_a_lost_answer_is_found_by_the_venue_lookup(
    venue: Venue, fx: FakeExchange, venue_client: LiveExchange
) -> None:
    fx.add_fault("lost_answer", method="POST", path=venue.order_path, mode="drop")
    plan = entry_plan(venue_client, signal(amount=0.01))
    report = await venue_client.execute(plan)
    assert report.recovered
    assert (report.entry.status, report.entry.filled) == ("closed", 0.01)
    assert report.entry.fee is not None  # read from the order's trades where the order lacks it
    assert report.fills[0].fee_quote > 0
    assert len(fx.orders(client_order_id=plan.entry.client_order_id)) == 1
    assert fx.stats()["orderRequests"] == 1
