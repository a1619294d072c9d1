"""ccxt.pro's real ``bybit`` class against the fake exchange's V5 websocket endpoints (public
tickers, private order / position / wallet topics, the trade endpoint's order.create)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal

import aiohttp
import ccxt.pro
import pytest

from tests.harness.fake_exchange import FakeExchange, VenueExchange
from tests.integration.fake_exchange.test_ccxt_pro_binance import soon, subscribed

pytestmark = pytest.mark.integration
BYBIT = ["bybit-spot", "bybit-linear"]


def category(venue: VenueExchange) -> str:
    return "spot" if venue.venue.market_type == "spot" else "linear"


@pytest.mark.parametrize("fake_venue", BYBIT, indirect=True)
async def test_watch_ticker_follows_a_price_set_through_the_control_api(
    fake_venue: VenueExchange,
) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        first = await soon(ex.watch_ticker(symbol))
        assert Decimal(str(first["last"])) == Decimal(68000)
        moved = asyncio.ensure_future(ex.watch_ticker(symbol))
        await subscribed(fx, f"bybit-{category(fake_venue)}:tickers.BTCUSDT")
        fx.set_price(symbol, "69123.4")
        ticker = await soon(moved)
    assert ticker["symbol"] == symbol
    assert Decimal(str(ticker["last"])) == Decimal("69123.4")


@pytest.mark.parametrize("fake_venue", BYBIT, indirect=True)
async def test_watch_balance_reflects_a_control_api_balance_set(
    fake_venue: VenueExchange,
) -> None:
    fx = fake_venue.fake
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        watching = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, "bybit:wallet")
        fx.set_balances({"USDT": "12345.5"}, account="unified")
        balance = await soon(watching)
    assert Decimal(str(balance["USDT"]["total"])) == Decimal("12345.5")


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


@pytest.mark.parametrize("fake_venue", ["bybit-linear"], indirect=True)
async def test_watch_positions_sees_an_own_fill(fake_venue: VenueExchange) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        snapshot = await soon(ex.watch_positions([symbol]))  # ccxt's REST snapshot first
        assert [p for p in snapshot if p["contracts"]] == []
        watching = asyncio.ensure_future(ex.watch_positions([symbol]))
        await subscribed(fx, "bybit:position")
        await ex.create_order(symbol, "market", "sell", 0.02)
        positions = await soon(watching)
    assert [(p["symbol"], p["side"], p["contracts"]) for p in positions] == [
        (symbol, "short", 0.02)
    ]
    assert Decimal(str(positions[0]["entryPrice"])) == Decimal(68000)


@pytest.mark.parametrize("fake_venue", BYBIT, indirect=True)
async def test_create_order_ws_places_an_order_and_refuses_a_duplicate_client_id(
    fake_venue: VenueExchange,
) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        order = await ex.create_order_ws(
            symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "ws-order-1"}
        )
        with pytest.raises(ccxt.InvalidOrder, match='"retCode":110072'):
            await ex.create_order_ws(
                symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "ws-order-1"}
            )
    # Bybit answers order.create with the ids only (ccxt leaves the status unknown)
    assert order["clientOrderId"] == "ws-order-1"
    recorded = fx.orders(client_order_id="ws-order-1")
    assert [(o["orderId"], o["orderStatus"], o["account"]) for o in recorded] == [
        (order["id"], "New", category(fake_venue))
    ]
    assert Decimal(recorded[0]["price"]) == Decimal(60000)


@pytest.mark.parametrize("fake_venue", BYBIT, indirect=True)
async def test_a_bad_signature_is_refused_and_places_nothing(fake_venue: VenueExchange) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()  # with the right secret: REST market loading is signed too
        ex.secret = "not-the-secret"
        with pytest.raises(ccxt.AuthenticationError, match="Invalid sign"):
            await soon(ex.create_order_ws(symbol, "limit", "buy", 0.01, 60000))
    assert fx.orders() == []


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


@pytest.mark.parametrize("fake_venue", BYBIT, indirect=True)
async def test_ccxt_reconnects_after_the_connections_are_dropped(
    fake_venue: VenueExchange,
) -> None:
    fx = fake_venue.fake
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        pending = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, "bybit:wallet")
        assert fx.drop_ws() >= 1
        with pytest.raises(ccxt.NetworkError):
            await soon(pending)
        again = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, "bybit:wallet")
        fx.set_balances({"USDT": "777"}, account="unified")
        balance = await soon(again)
    assert Decimal(str(balance["USDT"]["total"])) == Decimal(777)
