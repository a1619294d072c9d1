"""Real ccxt ``binance`` (USD-M) against the fake exchange: several take-profits on one position
and a trailing stop, placed with ccxt's documented params and triggered by price moves."""

from __future__ import annotations

import ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.integration.fake_exchange.test_ccxt_futures_settings import linear_errors

VENUE = "binance-usdm"
BTC = "BTC/USDT:USDT"
TARGETS = (69_000, 70_000, 71_000)


@pytest.mark.parametrize("hedged", [False, True], ids=["oneway", "hedge"])
async def test_three_take_profits_scale_out_of_one_position(
    fake_exchange: FakeExchange, hedged: bool
) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        if hedged:
            await ex.set_position_mode(True)
        side = {"hedged": True} if hedged else {}
        await ex.create_order(BTC, "market", "buy", 0.03, None, side)
        targets = [
            await ex.create_order(
                BTC,
                "market",
                "sell",
                0.01,
                None,
                {**side, "takeProfitPrice": price, "reduceOnly": True, "clientOrderId": f"tp-{i}"},
            )
            for i, price in enumerate(TARGETS)
        ]
        assert [t["status"] for t in targets] == ["open"] * 3
        assert [t["takeProfitPrice"] for t in targets] == list(TARGETS)
        assert len(await ex.fetch_open_orders(BTC, params={"trigger": True})) == 3
        left = []
        for price in (68_500, *TARGETS):
            fake_exchange.set_price(BTC, str(price))
            positions = await ex.fetch_positions([BTC])
            left.append(positions[0]["contracts"] if positions else 0)
        assert left == [0.03, 0.02, 0.01, 0]
        done = [await ex.fetch_order(t["id"], BTC, {"trigger": True}) for t in targets]
        assert [d["status"] for d in done] == ["closed"] * 3
        assert await ex.fetch_open_orders(BTC, params={"trigger": True}) == []
        trades = await ex.fetch_my_trades(BTC)
        assert [(t["side"], t["price"], t["amount"]) for t in trades] == [
            ("buy", 68_000, 0.03),
            *[("sell", p, 0.01) for p in TARGETS],
        ]
        # each target's fill is a regular order under the target's client id
        fills = [
            await ex.fetch_order(None, BTC, {"origClientOrderId": f"tp-{i}"}) for i in range(3)
        ]
        assert [(f["type"], f["status"], f["average"]) for f in fills] == [
            ("market", "closed", p) for p in TARGETS
        ]
    algos = fake_exchange.orders(account="futures-algo")
    assert [(a["orderType"], a["algoStatus"], a["positionSide"]) for a in algos] == [
        ("TAKE_PROFIT_MARKET", "FINISHED", "LONG" if hedged else "BOTH")
    ] * 3
    sent = [r["params"] for r in fake_exchange.requests(method="POST", path="/fapi/v1/algoOrder")]
    assert [(p["type"], p["triggerPrice"], p["quantity"]) for p in sent] == [
        ("TAKE_PROFIT_MARKET", str(price), "0.01") for price in TARGETS
    ]


async def test_trailing_stop_follows_the_high_then_closes(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.02)
        params = {"trailingPercent": 1, "trailingTriggerPrice": 69_000, "reduceOnly": True}
        trail = await ex.create_order(BTC, "market", "sell", 0.02, None, params)
        assert (trail["info"]["orderType"], trail["status"]) == ("TRAILING_STOP_MARKET", "open")
        # not active below 69,000; then it follows the high (70,000) and triggers 1 % under it
        for price in ("68500", "67000", "69000", "70000", "69400"):
            fake_exchange.set_price(BTC, price)
            assert (await ex.fetch_positions([BTC]))[0]["contracts"] == 0.02
        fake_exchange.set_price(BTC, "69300")
        assert await ex.fetch_positions([BTC]) == []
        done = await ex.fetch_order(trail["id"], BTC, {"trigger": True})
        assert done["status"] == "closed"
        [_, exit_trade] = await ex.fetch_my_trades(BTC)
        assert (exit_trade["side"], exit_trade["price"]) == ("sell", 69_300)
    [sent] = [r["params"] for r in fake_exchange.requests(method="POST", path="/fapi/v1/algoOrder")]
    assert (sent["type"], sent["callbackRate"], sent["activatePrice"]) == (
        "TRAILING_STOP_MARKET",
        "1",
        "69000",
    )
    [algo] = fake_exchange.orders(account="futures-algo")
    assert (algo["algoStatus"], algo["priceRate"], algo["activatePrice"]) == (
        "FINISHED",
        "1",
        "69000",
    )


@pytest.mark.parametrize(
    ("params", "error", "code"),
    [
        ({"trailingPercent": 11}, ccxt.BadRequest, "-1130"),  # callbackRate 0.1 .. 10
        ({"trailingPercent": 0.05}, ccxt.BadRequest, "-1130"),
        (
            {"trailingPercent": 1, "trailingTriggerPrice": 67_000},
            ccxt.OrderImmediatelyFillable,
            "-2021",
        ),
        ({"trailingPercent": 1, "closePosition": True}, ccxt.InvalidOrder, "-4136"),
    ],
)
async def test_trailing_stop_refusals(
    fake_exchange: FakeExchange, params: dict[str, object], error: type[Exception], code: str
) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.02)
        with pytest.raises(error, match=code):
            await ex.create_order(BTC, "market", "sell", 0.02, None, params)
    assert fake_exchange.orders(account="futures-algo") == []


def test_sync_ccxt_trailing_stop_on_a_short(fake_exchange: FakeExchange) -> None:
    ex = ccxt.binance(fake_exchange.ccxt_config(VENUE))
    fake_exchange.point(ex)
    ex.load_markets()
    ex.create_order(BTC, "market", "sell", 0.01)
    trail = ex.create_order(
        BTC, "market", "buy", 0.01, None, {"callbackRate": 2, "reduceOnly": True}
    )
    fake_exchange.set_price(BTC, "66000")  # the low it follows (no activation price: at once)
    fake_exchange.set_price(BTC, "67300")  # under 66,000 + 2 %
    assert ex.fetch_positions([BTC])[0]["contracts"] == 0.01
    fake_exchange.set_price(BTC, "67320")
    assert ex.fetch_positions([BTC]) == []
    assert ex.fetch_order(trail["id"], BTC, {"trigger": True})["status"] == "closed"
