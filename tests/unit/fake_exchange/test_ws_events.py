"""The Binance websocket events: what a state change publishes, to whom, in which shape."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from fks_fake_exchange.api_futures import parse_futures_order
from fks_fake_exchange.config import ExchangeConfig
from fks_fake_exchange.orders import parse_new_order
from fks_fake_exchange.params import Params
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.ws_hub import FUTURES_USER, SPOT_USER, Hub, Stream, market_topic


def drained(stream: Stream) -> list[dict[str, Any]]:
    sent = []
    while not stream.queue.empty():
        sent.append(json.loads(stream.queue.get_nowait()[1]))
    return sent


def setup(*topics: str) -> tuple[Exchange, Hub, Stream]:
    ex, hub = Exchange(ExchangeConfig()), Hub()
    stream = Stream(ws=web.WebSocketResponse(), topics=set(topics))
    hub.add(stream, ex)
    return ex, hub, stream


def spot_order(ex: Exchange, **params: str) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "timestamp": "1"}
    ex.spot.place(parse_new_order(Params({**base, **params}), ex.spot_markets))


def test_a_resting_spot_order_then_its_fill_by_a_price_move() -> None:
    ex, hub, stream = setup(SPOT_USER)
    spot_order(
        ex, type="LIMIT", timeInForce="GTC", quantity="0.01", price="60000", newClientOrderId="a1"
    )
    hub.publish(ex)
    new, account = drained(stream)
    assert (new["e"], new["x"], new["X"], new["c"], new["z"]) == (
        "executionReport",
        "NEW",
        "NEW",
        "a1",
        "0.00000000",
    )
    assert account == {
        "e": "outboundAccountPosition",
        "E": account["E"],
        "u": account["E"],
        "B": [{"a": "USDT", "f": "9400.00000000", "l": "600.00000000"}],
    }

    ex.set_price("BTCUSDT", Decimal(59000))
    hub.publish(ex)
    trade, account = drained(stream)
    assert (trade["x"], trade["X"], trade["l"], trade["z"], trade["L"], trade["Z"]) == (
        "TRADE",
        "FILLED",
        "0.01000000",
        "0.01000000",
        "60000.00000000",
        "600.00000000",
    )
    assert (trade["n"], trade["N"], trade["m"]) == ("0.00001000", "BTC", True)
    assert account["B"] == [
        {"a": "BTC", "f": "0.10999000", "l": "0.00000000"},
        {"a": "USDT", "f": "9400.00000000", "l": "0.00000000"},
    ]


def test_a_market_order_is_reported_new_then_traded() -> None:
    ex, hub, stream = setup(SPOT_USER)
    spot_order(ex, type="MARKET", quantity="0.001")
    hub.publish(ex)
    new, trade, _ = drained(stream)
    assert [(e["x"], e["X"], e["z"]) for e in (new, trade)] == [
        ("NEW", "NEW", "0.00000000"),
        ("TRADE", "FILLED", "0.00100000"),
    ]


def test_a_cancel_is_reported_and_unlocks() -> None:
    ex, hub, stream = setup(SPOT_USER)
    spot_order(
        ex, type="LIMIT", timeInForce="GTC", quantity="0.01", price="60000", newClientOrderId="c"
    )
    hub.publish(ex)
    drained(stream)
    ex.spot.cancel("BTCUSDT", None, "c")
    hub.publish(ex)
    cancel, account = drained(stream)
    assert (cancel["x"], cancel["X"]) == ("CANCELED", "CANCELED")
    assert account["B"] == [{"a": "USDT", "f": "10000.00000000", "l": "0.00000000"}]


def test_user_events_reach_only_user_subscribers_and_ws_api_ones_are_wrapped() -> None:
    ex, hub, ticker_only = setup(market_topic("spot", "BTCUSDT", "miniTicker"))
    ws_api = Stream(ws=web.WebSocketResponse(), topics={SPOT_USER}, subscription_id=0)
    hub.add(ws_api, ex)
    ex.spot.set_free("USDT", Decimal(5))
    hub.publish(ex)
    assert drained(ticker_only) == []
    [wrapped] = drained(ws_api)
    assert wrapped["subscriptionId"] == 0
    assert wrapped["event"]["B"] == [{"a": "USDT", "f": "5.00000000", "l": "0.00000000"}]


def test_a_price_move_sends_the_subscribed_ticker_kinds_of_that_market_only() -> None:
    topics = [market_topic("spot", "BTCUSDT", c) for c in ("ticker", "miniTicker", "bookTicker")]
    ex, hub, stream = setup(*topics, market_topic("futures", "ETHUSDT", "miniTicker"))
    ex.set_price("BTCUSDT", Decimal("69000.5"))
    hub.publish(ex)
    full, mini, book = drained(stream)
    assert (full["e"], full["s"], full["c"]) == ("24hrTicker", "BTCUSDT", "69000.50000000")
    assert (mini["e"], mini["c"]) == ("24hrMiniTicker", "69000.50000000")
    assert (book["s"], book["b"], book["a"]) == ("BTCUSDT", "69000.50000000", "69000.51000000")
    assert "e" not in book  # spot's bookTicker has no event type


def test_a_futures_fill_sends_order_updates_and_the_account_with_its_position() -> None:
    ex, hub, stream = setup(FUTURES_USER)
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.02"}
    ex.futures.place(parse_futures_order(Params({**params, "timestamp": "1"}), ex.futures_markets))
    hub.publish(ex)
    new, trade, account = drained(stream)
    assert [(e["o"]["x"], e["o"]["X"], e["o"]["z"]) for e in (new, trade)] == [
        ("NEW", "NEW", "0"),
        ("TRADE", "FILLED", "0.02"),
    ]
    assert trade["o"]["L"] == "68000"
    assert account["e"] == "ACCOUNT_UPDATE"
    assert account["a"]["m"] == "ORDER"
    assert account["a"]["P"] == [
        {
            "s": "BTCUSDT",
            "pa": "-0.02",
            "ep": "68000",
            "bep": "68000",
            "cr": "0",
            "up": "0",
            "mt": "cross",
            "iw": "0",
            "ps": "BOTH",
        }
    ]
    wallet = ex.futures.wallet["USDT"]
    assert wallet == Decimal(10000) - Decimal("0.544")  # 0.04 % taker fee on 1,360
    assert account["a"]["B"] == [{"a": "USDT", "wb": "9999.456", "cw": "9999.456", "bc": "0"}]


def test_a_reset_publishes_nothing() -> None:
    ex, hub, stream = setup(SPOT_USER, market_topic("spot", "BTCUSDT", "ticker"))
    ex.set_price("BTCUSDT", Decimal(1))
    ex.reset()
    hub.publish(ex)
    assert drained(stream) == []
    ex.spot.set_free("BTC", Decimal(2))  # compared with the state after the reset
    hub.publish(ex)
    [account] = drained(stream)
    assert account["B"] == [{"a": "BTC", "f": "2.00000000", "l": "0.00000000"}]


def test_no_subscriber_no_baseline() -> None:
    ex, hub = Exchange(ExchangeConfig()), Hub()
    ex.spot.set_free("BTC", Decimal(2))
    hub.publish(ex)
    stream = Stream(ws=web.WebSocketResponse(), topics={SPOT_USER})
    hub.add(stream, ex)  # the baseline is taken now: the earlier change is not news
    hub.publish(ex)
    assert drained(stream) == []
