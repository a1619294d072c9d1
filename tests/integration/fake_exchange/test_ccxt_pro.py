"""ccxt.pro's real classes against the fake exchange's websocket endpoints, every venue: what a
client keeps warm (tickers, balances, positions) follows the venue's state, orders go in over the
WebSocket API, and dropped connections and bad signatures behave as on the venue. One scenario
each; what differs between the venues is data (:class:`Streams`). Venue-only behaviour:
test_ccxt_pro_binance.py, test_ccxt_pro_bybit.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import ccxt.pro
import pytest

from tests.harness.fake_exchange import FakeExchange, VenueExchange

pytestmark = pytest.mark.integration
T = TypeVar("T")
TIMEOUT = 5.0


async def subscribed(fx: FakeExchange, topic: str) -> None:
    """Wait until the server has a connection following ``topic`` (the watch is in place)."""
    deadline = time.monotonic() + TIMEOUT
    while topic not in fx.ws_state()["topics"]:
        assert time.monotonic() < deadline, f"no subscription to {topic}: {fx.ws_state()}"
        await asyncio.sleep(0.05)


async def soon(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, TIMEOUT)


@dataclass(frozen=True)
class Streams:
    """How a venue names its websocket topics and answers over its WebSocket API."""

    ticker: str
    """The server's topic of the venue's BTC/USDT ticker."""
    wallet: str
    """The topic that carries balance updates."""
    positions: str
    """The topic that carries position updates."""
    orders: str
    """The ``account`` of the fake's order records on this venue."""
    duplicate: tuple[type[Exception], str]
    """What ccxt raises for an order whose client id was used already, and the venue's code."""
    bad_signature: str
    """The venue's message for a request with a bad signature."""
    recorded: tuple[str, str, str]
    """The order id field of the fake's order records, its status field, the status of a new
    resting order."""
    answered: str | None
    """ccxt's status of an order placed over the WebSocket API (Bybit answers with the ids only:
    ccxt leaves it unknown)."""


STREAMS = {
    "binance-spot": Streams(
        ticker="spot:btcusdt@miniTicker",
        wallet="spot@user",
        positions="",
        orders="spot",
        duplicate=(ccxt.InvalidOrder, '"code":-2010,"msg":"Duplicate order sent."'),
        bad_signature="Signature for this request",
        recorded=("orderId", "status", "NEW"),
        answered="open",
    ),
    "binance-usdm": Streams(
        ticker="futures:btcusdt@miniTicker",
        wallet="futures@user",
        positions="futures@user",
        orders="futures",
        # Binance's own refusal (ccxt maps -4116 by the REST url only)
        duplicate=(ccxt.ExchangeError, '"code":-4116,"msg":"ClientOrderId is duplicated."'),
        bad_signature="Signature for this request",
        recorded=("orderId", "status", "NEW"),
        answered="open",
    ),
    "bybit-spot": Streams(
        ticker="bybit-spot:tickers.BTCUSDT",
        wallet="bybit:wallet",
        positions="",
        orders="spot",
        duplicate=(ccxt.InvalidOrder, '"retCode":110072'),
        bad_signature="Invalid sign",
        recorded=("orderId", "orderStatus", "New"),
        answered=None,
    ),
    "bybit-linear": Streams(
        ticker="bybit-linear:tickers.BTCUSDT",
        wallet="bybit:wallet",
        positions="bybit:position",
        orders="linear",
        duplicate=(ccxt.InvalidOrder, '"retCode":110072'),
        bad_signature="Invalid sign",
        recorded=("orderId", "orderStatus", "New"),
        answered=None,
    ),
}
FUTURES = [name for name, streams in STREAMS.items() if streams.positions]


@pytest.mark.parametrize("fake_venue", list(STREAMS), indirect=True)
async def test_watch_ticker_follows_a_price_set_through_the_control_api(
    fake_venue: VenueExchange,
) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        first = await soon(ex.watch_ticker(symbol))
        assert Decimal(str(first["last"])) == Decimal(68000)
        moved = asyncio.ensure_future(ex.watch_ticker(symbol))
        await subscribed(fx, STREAMS[fake_venue.venue.name].ticker)
        fx.set_price(symbol, "69123.4")
        ticker = await soon(moved)
    assert ticker["symbol"] == symbol
    assert Decimal(str(ticker["last"])) == Decimal("69123.4")


@pytest.mark.parametrize("fake_venue", list(STREAMS), indirect=True)
async def test_watch_balance_reflects_a_control_api_balance_set(
    fake_venue: VenueExchange,
) -> None:
    fx, streams = fake_venue.fake, STREAMS[fake_venue.venue.name]
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        watching = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, streams.wallet)
        fx.set_balances({"USDT": "12345.5"}, account=fake_venue.venue.account)
        balance = await soon(watching)
    assert Decimal(str(balance["USDT"]["total"])) == Decimal("12345.5")


@pytest.mark.parametrize("fake_venue", FUTURES, indirect=True)
async def test_watch_positions_sees_an_own_fill(fake_venue: VenueExchange) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        snapshot = await soon(ex.watch_positions([symbol]))  # ccxt's REST snapshot first
        assert [p for p in snapshot if p["contracts"]] == []
        watching = asyncio.ensure_future(ex.watch_positions([symbol]))
        await subscribed(fx, STREAMS[fake_venue.venue.name].positions)
        await ex.create_order(symbol, "market", "sell", 0.02)
        positions = await soon(watching)
    assert [(p["symbol"], p["side"], p["contracts"]) for p in positions] == [
        (symbol, "short", 0.02)
    ]
    assert Decimal(str(positions[0]["entryPrice"])) == Decimal(68000)


@pytest.mark.parametrize("fake_venue", list(STREAMS), indirect=True)
async def test_create_order_ws_places_an_order_and_refuses_a_duplicate_client_id(
    fake_venue: VenueExchange,
) -> None:
    fx, symbol, streams = fake_venue.fake, fake_venue.venue.symbol, STREAMS[fake_venue.venue.name]
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        order = await ex.create_order_ws(
            symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "ws-order-1"}
        )
        with pytest.raises(streams.duplicate[0], match=streams.duplicate[1]):
            await ex.create_order_ws(
                symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "ws-order-1"}
            )
    assert (order["clientOrderId"], order["status"]) == ("ws-order-1", streams.answered)
    order_id, status, new = streams.recorded
    recorded = fx.orders(client_order_id="ws-order-1")
    assert [(str(o[order_id]), o[status], o["account"]) for o in recorded] == [
        (order["id"], new, streams.orders)
    ]
    assert Decimal(recorded[0]["price"]) == Decimal(60000)


@pytest.mark.parametrize("fake_venue", list(STREAMS), indirect=True)
async def test_a_bad_signature_is_refused_and_places_nothing(fake_venue: VenueExchange) -> None:
    fx, symbol = fake_venue.fake, fake_venue.venue.symbol
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()  # with the right secret: Bybit signs market loading too
        ex.secret = "not-the-secret"
        with pytest.raises(
            ccxt.AuthenticationError, match=STREAMS[fake_venue.venue.name].bad_signature
        ):
            await soon(ex.create_order_ws(symbol, "limit", "buy", 0.01, 60000))
    assert fx.orders() == []


@pytest.mark.parametrize("fake_venue", list(STREAMS), indirect=True)
async def test_ccxt_reconnects_after_the_connections_are_dropped(
    fake_venue: VenueExchange,
) -> None:
    fx, streams = fake_venue.fake, STREAMS[fake_venue.venue.name]
    async with fake_venue.ccxt_pro() as ex:
        await ex.load_markets()
        pending = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, streams.wallet)
        assert fx.drop_ws() >= 1
        with pytest.raises(ccxt.NetworkError):
            await soon(pending)
        assert streams.wallet not in fx.ws_state()["topics"]
        again = asyncio.ensure_future(ex.watch_balance())
        await subscribed(fx, streams.wallet)
        fx.set_balances({"USDT": "777"}, account=fake_venue.venue.account)
        balance = await soon(again)
    assert Decimal(str(balance["USDT"]["total"])) == Decimal(777)
