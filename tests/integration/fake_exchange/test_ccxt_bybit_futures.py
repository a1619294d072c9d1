"""Real ccxt ``bybit`` against the fake exchange's Bybit V5 linear venue: leverage, margin mode
and position mode read back through ccxt's getters and refused with orders or positions open,
hedge-mode orders per side (``positionIdx``), margin refusals, three take-profits by trading-stop
Partial (conditional ones: test_ccxt_take_profits.py) and a trailing stop, triggered by price
moves."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange

VENUE = "bybit-linear"
BTC = "BTC/USDT:USDT"
TARGETS = (69_000, 70_000, 71_000)


def _sent(fake: FakeExchange, path: str) -> list[dict[str, str]]:
    return [r["params"] for r in fake.requests(method="POST", path=path)]


def _linear(fake: FakeExchange) -> list[dict[str, Any]]:
    return fake.orders(account="linear")


async def test_each_setting_is_applied_and_read_back(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        assert (await ex.fetch_leverage(BTC))["longLeverage"] == 20
        await ex.set_leverage(7, BTC)
        assert (await ex.fetch_leverage(BTC))["longLeverage"] == 7
        # unchanged: 110043, which ccxt raises (BadRequest): a caller treats it as "already so"
        with pytest.raises(ccxt.BadRequest, match="110043"):
            await ex.set_leverage(7, BTC)
        assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "cross"
        await ex.set_margin_mode("isolated", BTC)
        assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "isolated"
        assert (await ex.fetch_position(BTC))["hedged"] is False
        await ex.set_position_mode(True, BTC)
        assert (await ex.fetch_position(BTC))["hedged"] is True
        with pytest.raises(ccxt.NoChange, match="110025"):
            await ex.set_position_mode(True, BTC)
        raw = await ex.private_get_v5_position_list({"category": "linear", "symbol": "BTCUSDT"})
        rows = raw["result"]["list"]
        assert [(r["positionIdx"], r["size"], r["leverage"], r["tradeMode"]) for r in rows] == [
            (1, "0", "7", 1),
            (2, "0", "7", 1),
        ]
    assert _sent(fake_bybit, "/v5/position/set-leverage")[0]["buyLeverage"] == "7"
    assert _sent(fake_bybit, "/v5/account/set-margin-mode")[0]["setMarginMode"] == "ISOLATED_MARGIN"
    assert _sent(fake_bybit, "/v5/position/switch-mode")[0]["mode"] == "3"


async def test_settings_refused_with_an_open_order(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        order = await ex.create_order(BTC, "limit", "buy", 0.01, 60_000)
        with pytest.raises(ccxt.BadRequest, match="110028"):
            await ex.set_position_mode(True, BTC)
        with pytest.raises(ccxt.ExchangeError, match="3400045") as refused:
            await ex.set_margin_mode("isolated", BTC)
        assert "3400102" in str(refused.value)  # the reason: active orders
        await ex.cancel_order(order["id"], BTC)
        await ex.set_position_mode(True, BTC)
        await ex.set_margin_mode("isolated", BTC)


async def test_margin_refusal_follows_the_leverage(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.set_leverage(2, BTC)
        with pytest.raises(ccxt.InsufficientFunds, match="110007"):
            await ex.create_order(BTC, "market", "buy", 0.3)  # 20,400 / 2 > 10,000
        await ex.create_order(BTC, "market", "buy", 0.2)
        with pytest.raises(ccxt.InsufficientFunds, match="110007"):  # 3,400 > ~3,194 left
            await ex.create_order(BTC, "market", "buy", 0.1)
        assert (await ex.fetch_balance())["USDT"]["free"] == pytest.approx(10_000 - 6_800 - 5.44)
    assert len(_linear(fake_bybit)) == 1


async def test_hedge_mode_orders_carry_their_position_idx(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.BadRequest, match="position idx"):  # one-way mode: 0 only
            await ex.create_order(BTC, "market", "buy", 0.01, None, {"hedged": True})
        await ex.set_position_mode(True, BTC)
        with pytest.raises(ccxt.BadRequest, match="position idx"):  # hedge mode: 1 or 2
            await ex.create_order(BTC, "market", "buy", 0.01)
        await ex.create_order(BTC, "market", "buy", 0.03, None, {"hedged": True})
        await ex.create_order(BTC, "market", "sell", 0.02, None, {"hedged": True})
        positions = {p["side"]: p for p in await ex.fetch_positions([BTC])}
        assert {s: (p["contracts"], p["hedged"]) for s, p in positions.items()} == {
            "long": (0.03, True),
            "short": (0.02, True),
        }
        close = {"hedged": True, "reduceOnly": True}
        await ex.create_order(BTC, "market", "sell", 0.01, None, close)  # closes the long side
        with pytest.raises(ccxt.InvalidOrder, match="110017"):  # reduce the empty side? no
            await ex.create_order(
                BTC, "market", "sell", 0.01, None, {"positionIdx": 2, "reduceOnly": True}
            )
        # closing needs no minimum notional (0.001 = 68 USDT < 100), as reduce-only orders
        await ex.create_order(BTC, "market", "buy", 0.001, None, close)  # the short side
        fake_bybit.set_price(BTC, "67000")
        positions = {p["side"]: p for p in await ex.fetch_positions([BTC])}
        assert (positions["long"]["contracts"], positions["short"]["contracts"]) == (0.02, 0.019)
        assert positions["long"]["unrealizedPnl"] == pytest.approx(-20)
        assert positions["short"]["unrealizedPnl"] == pytest.approx(19)
    sent = _sent(fake_bybit, "/v5/order/create")
    assert [(p["side"], p.get("positionIdx"), p.get("reduceOnly")) for p in sent] == [
        ("Buy", "1", None),
        ("Buy", None, None),
        ("Buy", "1", None),
        ("Sell", "2", None),
        ("Sell", "1", None),
        ("Sell", "2", "true"),
        ("Buy", "2", None),
    ]
    assert [o["positionIdx"] for o in _linear(fake_bybit)] == [1, 2, 1, 2]


async def test_three_partial_take_profits_by_trading_stop(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.03)
        for price in TARGETS:
            params = {"takeProfitPrice": price, "tradingStopEndpoint": True}
            await ex.create_order(BTC, "market", "sell", 0.01, None, params)
        waiting = await ex.fetch_open_orders(BTC)
        assert sorted(
            (o["info"]["stopOrderType"], o["takeProfitPrice"], o["amount"]) for o in waiting
        ) == [("PartialTakeProfit", p, 0.01) for p in TARGETS]
        assert await _scale_out(fake_bybit, ex) == [0.03, 0.02, 0.01, 0]
        assert await ex.fetch_open_orders(BTC) == []
        trades = await ex.fetch_my_trades(BTC)
        assert sorted(t["price"] for t in trades if t["side"] == "sell") == list(TARGETS)
    sent = _sent(fake_bybit, "/v5/position/trading-stop")
    assert [(p["tpslMode"], p["takeProfit"], p["tpSize"]) for p in sent] == [
        ("Partial", str(p), "0.01") for p in TARGETS
    ]
    partial = [o for o in _linear(fake_bybit) if o["stopOrderType"] == "PartialTakeProfit"]
    assert [o["status"] for o in partial] == ["Filled"] * 3


async def _scale_out(fake: FakeExchange, ex: Any) -> list[float]:
    left = []
    for price in (68_500, *TARGETS):
        fake.set_price(BTC, str(price))
        left.append(await _contracts(ex))
    return left


async def _contracts(ex: Any) -> float:
    """What the symbol's positions hold (Bybit lists a flat position as a zero-size row)."""
    return float(sum(p["contracts"] for p in await ex.fetch_positions([BTC])))


async def test_trailing_stop_follows_the_high_then_closes(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.02)
        params = {"trailingAmount": 500, "trailingTriggerPrice": 69_000}
        await ex.create_order(BTC, "market", "sell", 0.02, None, params)
        [position] = await ex.fetch_positions([BTC])
        assert (position["info"]["trailingStop"], position["info"]["activePrice"]) == (
            "500",
            "69000",
        )
        [waiting] = await ex.fetch_open_orders(BTC)
        assert (waiting["info"]["stopOrderType"], waiting["status"]) == ("TrailingStop", "open")
        # not active below 69,000; then it follows the high (70,000) and closes 500 under it
        for price in ("68500", "67000", "69000", "70000", "69600"):
            fake_bybit.set_price(BTC, price)
            assert await _contracts(ex) == 0.02
        fake_bybit.set_price(BTC, "69500")
        assert await _contracts(ex) == 0
        [exit_trade] = [t for t in await ex.fetch_my_trades(BTC) if t["side"] == "sell"]
        assert exit_trade["price"] == 69_500
    [trail] = [o for o in _linear(fake_bybit) if o["stopOrderType"] == "TrailingStop"]
    assert (trail["status"], trail["createType"], trail["side"]) == (
        "Filled",
        "CreateByTrailingStop",
        "Sell",
    )
    [sent] = _sent(fake_bybit, "/v5/position/trading-stop")
    assert (sent["trailingStop"], sent["activePrice"]) == ("500", "69000")


async def test_position_orders_go_with_the_position(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "sell", 0.02)
        await ex.create_order(BTC, "market", "buy", 0.02, None, {"trailingAmount": 300})
        params = {"takeProfitPrice": 66_000, "tradingStopEndpoint": True}
        await ex.create_order(BTC, "market", "buy", 0.01, None, params)
        assert len(await ex.fetch_open_orders(BTC)) == 2
        await ex.create_order(BTC, "market", "buy", 0.02, None, {"reduceOnly": True})
        assert await ex.fetch_open_orders(BTC) == []
        fake_bybit.set_price(BTC, "60000")  # nothing left to trigger
        assert await _contracts(ex) == 0
    gone = [
        o
        for o in _linear(fake_bybit)
        if o["stopOrderType"] in ("TrailingStop", "PartialTakeProfit")
    ]
    assert [(o["status"], o["cancelType"]) for o in gone] == [
        ("Deactivated", "CancelByTpSlTsClear")
    ] * 2


@pytest.mark.parametrize(
    ("params", "error", "code"),
    [
        ({"trailingAmount": 500, "trailingTriggerPrice": 67_000}, ccxt.BadRequest, "10001"),
        ({"trailingAmount": "0.05"}, ccxt.BadRequest, "trailingStop invalid"),  # off the tick
        ({"takeProfitPrice": 67_000, "tradingStopEndpoint": True}, ccxt.BadRequest, "TakeProfit"),
    ],
)
async def test_trading_stop_refusals(
    fake_bybit: FakeExchange, params: dict[str, object], error: type[Exception], code: str
) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.02)
        with pytest.raises(error, match=code):
            await ex.create_order(BTC, "market", "sell", 0.02, None, params)
        assert await ex.fetch_open_orders(BTC) == []


def test_the_sync_ccxt_class_too(fake_bybit: FakeExchange) -> None:
    ex = ccxt.bybit(fake_bybit.ccxt_config(VENUE))
    fake_bybit.point(ex)
    ex.load_markets()
    ex.set_leverage(4, BTC)
    ex.set_position_mode(True, BTC)
    assert ex.fetch_leverage(BTC)["longLeverage"] == 4
    ex.create_order(BTC, "market", "sell", 0.01, None, {"hedged": True})
    with pytest.raises(ccxt.BadRequest, match="110024"):
        ex.set_position_mode(False, BTC)
    ex.create_order(
        BTC,
        "market",
        "buy",
        0.01,
        None,
        {"hedged": True, "trailingAmount": 200, "reduceOnly": True},
    )
    fake_bybit.set_price(BTC, "67000")
    fake_bybit.set_price(BTC, "67200")
    assert sum(p["contracts"] for p in ex.fetch_positions([BTC])) == 0
