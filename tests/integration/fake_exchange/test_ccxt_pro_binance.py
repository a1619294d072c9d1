"""ccxt.pro's real ``binance`` class against the fake exchange's websocket endpoints, what only
Binance does: the fill of a REST order seen by watch_orders and watch_balance, a user data
subscription refused on the wire, listen keys, websocket latency (every venue: test_ccxt_pro.py)."""

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
from tests.integration.fake_exchange.test_ccxt_pro import soon, subscribed

pytestmark = pytest.mark.integration
BINANCE = ["binance-spot", "binance-usdm"]


def user_topic(venue: VenueExchange) -> str:
    return "spot@user" if venue.venue.market_type == "spot" else "futures@user"


def ticker_topic(venue: VenueExchange) -> str:
    account = "spot" if venue.venue.market_type == "spot" else "futures"
    return f"{account}:btcusdt@miniTicker"


@pytest.mark.parametrize("fake_venue", BINANCE, indirect=True)
async def test_watch_orders_and_balance_see_the_fill_of_a_rest_order(
    fake_venue: VenueExchange,
) -> None:
    """A resting limit order placed over REST appears as open; the price move that fills it
    reaches watch_orders as closed and watch_balance with the venue's new balance."""
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        opened = asyncio.ensure_future(ex.watch_orders(symbol))
        await subscribed(fx, user_topic(fake_venue))
        order = await ex.create_order(symbol, "limit", "buy", 0.01, 60000)
        seen = await soon(opened)
        assert [(o["id"], o["status"]) for o in seen] == [(order["id"], "open")]

        filled = asyncio.ensure_future(ex.watch_orders(symbol))
        balance = asyncio.ensure_future(ex.watch_balance())
        await asyncio.sleep(0.1)  # both watches registered (same connection: no new topic)
        fx.set_price(fake_venue.venue.symbol, 59000)
        seen = await soon(filled)
        after = await soon(balance)

    assert [(o["id"], o["status"], o["filled"]) for o in seen] == [(order["id"], "closed", 0.01)]
    if fake_venue.venue.market_type == "spot":
        free, _ = fx.spot_balance("BTC")
        assert Decimal(str(after["BTC"]["free"])) == free == Decimal("0.10999")  # 0.1 % fee
    else:
        wallet = Decimal(fx.balances()["futures"]["wallet"]["USDT"])
        assert Decimal(str(after["USDT"]["total"])) == wallet < Decimal(10000)  # fee paid


async def test_a_user_data_subscription_with_a_bad_signature_is_refused(
    fake_exchange: FakeExchange,
) -> None:
    """On the wire (ccxt 4.5.90 turns this refusal into a KeyError of its own: its error
    handler and its subscribe both delete the same subscription)."""
    params = {"apiKey": fake_exchange.api_key, "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    good = hmac.new(fake_exchange.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    bad = hmac.new(b"not-the-secret", payload.encode(), hashlib.sha256).hexdigest()
    method = "userDataStream.subscribe.signature"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fake_exchange.ws_base_url + "/ws-api/v3") as ws,
    ):
        await ws.send_json({"id": "1", "method": method, "params": {**params, "signature": bad}})
        refused = await soon(ws.receive_json())
        assert "spot@user" not in fake_exchange.ws_state()["topics"]
        await ws.send_json({"id": "2", "method": method, "params": {**params, "signature": good}})
        accepted = await soon(ws.receive_json())
    assert refused == {
        "id": "1",
        "status": 400,
        "error": {"code": -1022, "msg": "Signature for this request is not valid."},
    }
    assert accepted == {"id": "2", "status": 200, "result": {"subscriptionId": 0}, "rateLimits": []}


@pytest.mark.parametrize("fake_venue", ["binance-usdm"], indirect=True)
async def test_an_unknown_api_key_gets_no_listen_key(fake_venue: VenueExchange) -> None:
    async with fake_venue.ccxt_pro(apiKey="unknown-key") as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match="Invalid API-key"):
            await soon(ex.watch_balance())
    assert fake_venue.fake.ws_state()["listenKeys"] == 0


@pytest.mark.parametrize("fake_venue", ["binance-spot"], indirect=True)
async def test_ws_latency_holds_back_messages(fake_venue: VenueExchange) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await soon(ex.watch_ticker(symbol))
        moved = asyncio.ensure_future(ex.watch_ticker(symbol))
        await subscribed(fx, ticker_topic(fake_venue))
        fx.set_ws_latency(400)
        started = time.monotonic()
        fx.set_price(symbol, 69000)
        await soon(moved)
        assert time.monotonic() - started >= 0.4
    fx.set_ws_latency(0)


async def test_a_spot_listen_key_opens_the_user_data_stream_until_deleted(
    fake_exchange: FakeExchange,
) -> None:
    """The REST listen-key flow (ccxt.pro now subscribes spot user data over the WebSocket API;
    other clients still use listen keys)."""
    headers = {"X-MBX-APIKEY": fake_exchange.api_key}
    url = fake_exchange.base_url + "/api/v3/userDataStream"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, headers={"X-MBX-APIKEY": "unknown"}) as refused:
            assert (refused.status, (await refused.json())["code"]) == (401, -2015)
        async with session.post(url, headers=headers) as created:
            key = (await created.json())["listenKey"]
        async with session.ws_connect(f"{fake_exchange.ws_base_url}/ws/{key}") as ws:
            await subscribed(fake_exchange, "spot@user")
            fake_exchange.set_balances({"BTC": "0.5"})
            event = await soon(ws.receive_json())
            assert event["e"] == "outboundAccountPosition"
            assert event["B"] == [{"a": "BTC", "f": "0.50000000", "l": "0.00000000"}]
            async with session.put(url, headers=headers, params={"listenKey": key}) as kept:
                assert (kept.status, await kept.json()) == (200, {})
            async with session.delete(url, headers=headers, params={"listenKey": key}) as gone:
                assert gone.status == 200
            closed = await soon(ws.receive())
            assert closed.type == aiohttp.WSMsgType.CLOSE
        async with session.put(url, headers=headers, params={"listenKey": key}) as stale:
            assert (stale.status, (await stale.json())["code"]) == (400, -1125)
    assert fake_exchange.ws_state()["listenKeys"] == 0
