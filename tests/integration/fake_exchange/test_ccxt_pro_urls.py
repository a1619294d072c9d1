"""The path-keeping url rewrite (every string of ``urls['api']``, dicts recursed into, an
``http://`` base) points ccxt.pro's REST and websocket clients at the fake, on every venue and
after ``set_sandbox_mode``: the fake serves each venue's own websocket paths."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import ccxt.pro
import pytest

from tests.harness.fake_exchange import VENUE_NAMES, VenueExchange
from tests.integration.fake_exchange.test_ccxt_pro import soon, subscribed

pytestmark = pytest.mark.integration
BALANCE_TOPIC = {
    "binance-spot": "spot@user",
    "binance-usdm": "futures@user",
    "bybit-spot": "bybit:wallet",
    "bybit-linear": "bybit:wallet",
}


def keep_paths(api: Any, base: str) -> Any:
    if isinstance(api, str):
        return base + urlsplit(api).path
    if isinstance(api, dict):
        return {k: keep_paths(v, base) for k, v in api.items()}
    return api


@pytest.mark.parametrize("sandbox", [False, True], ids=["live", "sandbox"])
@pytest.mark.parametrize("fake_venue", VENUE_NAMES, indirect=True)
async def test_an_http_base_with_every_path_kept_reaches_the_streams(
    fake_venue: VenueExchange, sandbox: bool
) -> None:
    fx, venue = fake_venue.fake, fake_venue.venue
    ex = getattr(ccxt.pro, venue.ccxt_id)(fx.ccxt_config(venue.name))
    if sandbox:
        ex.set_sandbox_mode(True)
    ex.urls["api"] = keep_paths(ex.urls["api"], fx.base_url)
    try:
        ticker = await soon(ex.watch_ticker(venue.symbol))
        watching = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, BALANCE_TOPIC[venue.name])
        fx.set_balances({"USDT": "4321"}, account=venue.account)
        balance = await soon(watching)
        order = await ex.create_order_ws(
            venue.symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "kept-paths"}
        )
    finally:
        await ex.close()
    assert Decimal(str(ticker["last"])) == Decimal(68000)
    assert Decimal(str(balance["USDT"]["total"])) == Decimal(4321)
    recorded = fx.orders(client_order_id="kept-paths")
    assert [str(o["orderId"]) for o in recorded] == [order["id"]]


CANCELED = {"binance": ("status", "CANCELED"), "bybit": ("orderStatus", "Cancelled")}


@pytest.mark.parametrize("fake_venue", VENUE_NAMES, indirect=True)
async def test_cancel_order_ws_cancels_and_an_unknown_order_is_not_found(
    fake_venue: VenueExchange,
) -> None:
    fx, venue = fake_venue.fake, fake_venue.venue
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        placed = await ex.create_order_ws(
            venue.symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "to-cancel"}
        )
        await ex.cancel_order_ws(placed["id"], venue.symbol)
        with pytest.raises(ccxt.OrderNotFound):
            await ex.cancel_order_ws(placed["id"], venue.symbol)
    field, status = CANCELED[venue.server]
    assert [o[field] for o in fx.orders(client_order_id="to-cancel")] == [status]
