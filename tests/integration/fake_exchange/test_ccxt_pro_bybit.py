"""ccxt.pro's real ``bybit`` class against the fake exchange's V5 websocket endpoints, what only
Bybit does: the fill of a REST order on the order and wallet topics, private auth refused on the
wire (every venue: test_ccxt_pro.py)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal

import aiohttp
import pytest

from tests.harness.fake_exchange import FakeExchange, VenueExchange
from tests.integration.fake_exchange.test_ccxt_pro import soon, subscribed

pytestmark = pytest.mark.integration
BYBIT = ["bybit-spot", "bybit-linear"]


def category(venue: VenueExchange) -> str:
    return "spot" if venue.venue.market_type == "spot" else "linear"


@pytest.mark.parametrize("fake_venue", BYBIT, indirect=True)
async def test_watch_orders_and_balance_see_the_fill_of_a_rest_order(
    fake_venue: VenueExchange,
) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        opened = asyncio.ensure_future(ex.watch_orders(symbol))
        await subscribed(fx, "bybit:order")
        order = await ex.create_order(symbol, "limit", "buy", 0.01, 60000)
        seen = await soon(opened)
        assert [(o["id"], o["status"]) for o in seen] == [(order["id"], "open")]

        filled = asyncio.ensure_future(ex.watch_orders(symbol))
        balance = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, "bybit:wallet")
        fx.set_price(symbol, 59000)
        seen = await soon(filled)
        after = await soon(balance)

    assert [(o["id"], o["status"], o["filled"]) for o in seen] == [(order["id"], "closed", 0.01)]
    wallet = {
        c: Decimal(b["free"]) + Decimal(b["locked"]) for c, b in fx.balances()["spot"].items()
    }
    if fake_venue.venue.market_type == "spot":
        assert Decimal(str(after["BTC"]["total"])) == wallet["BTC"] == Decimal("0.10999")
    else:  # wallet 10,000 - 0.12 maker fee; ccxt's ws total is the coin's equity, which also has
        # the -10 of 0.01 BTC bought at 60,000 now at 59,000 (its REST total is the wallet)
        assert wallet["USDT"] == Decimal("9999.88")
        assert Decimal(str(after["USDT"]["total"])) == Decimal("9989.88")


async def test_private_auth_with_a_bad_signature_is_refused_on_the_wire(
    fake_bybit: FakeExchange,
) -> None:
    expires = str(int(time.time() * 1000) + 10_000)
    payload = f"GET/realtime{expires}".encode()
    good = hmac.new(fake_bybit.secret.encode(), payload, hashlib.sha256).hexdigest()
    bad = hmac.new(b"not-the-secret", payload, hashlib.sha256).hexdigest()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fake_bybit.ws_base_url + "/v5/private") as ws,
    ):
        await ws.send_json({"op": "auth", "args": [fake_bybit.api_key, expires, bad]})
        refused = await soon(ws.receive_json())
        await ws.send_json({"op": "subscribe", "req_id": "s1", "args": ["wallet"]})
        unauthorized = await soon(ws.receive_json())
        await ws.send_json({"op": "auth", "args": [fake_bybit.api_key, expires, good]})
        accepted = await soon(ws.receive_json())
        await ws.send_json({"op": "ping", "req_id": "p1"})
        pong = await soon(ws.receive_json())
    assert (refused["success"], refused["ret_msg"], refused["op"]) == (
        False,
        "Invalid sign",
        "auth",
    )
    assert (unauthorized["success"], unauthorized["ret_msg"]) == (False, "Request not authorized")
    assert (accepted["success"], accepted["op"]) == (True, "auth")
    assert (pong["op"], pong["req_id"]) == ("pong", "p1")
