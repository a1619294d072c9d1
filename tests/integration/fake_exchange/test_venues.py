"""The harness's venues: each one's ccxt class, options and symbol trade on its server."""

from __future__ import annotations

import pytest

from tests.harness.fake_exchange import VENUE_NAMES, VenueExchange, venue


@pytest.mark.parametrize("fake_venue", VENUE_NAMES, indirect=True)
async def test_every_venue_loads_one_market_type_and_trades(fake_venue: VenueExchange) -> None:
    chosen = fake_venue.venue
    async with fake_venue.ccxt() as ex:
        assert ex.id == chosen.ccxt_id
        markets = await ex.load_markets()
        assert {m["type"] for m in markets.values()} == {chosen.market_type}
        assert markets[chosen.symbol]["id"] == chosen.market_id
        await ex.create_order(chosen.symbol, "market", "buy", 0.002, None, {"clientOrderId": "v1"})
    [order] = fake_venue.fake.orders(client_order_id="v1")
    assert order["symbol"] == chosen.market_id
    assert fake_venue.fake.venue == chosen.server


def test_unknown_venue_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="known: binance-spot"):
        venue("kraken-spot")
