"""Real ccxt ``binance`` (USD-M) against the fake exchange: a trailing stop, placed with ccxt's
documented params and triggered by price moves (several take-profits on one position:
test_ccxt_take_profits.py)."""

from __future__ import annotations

import ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.integration.fake_exchange.test_ccxt_futures_settings import linear_errors

VENUE = "binance-usdm"
BTC = "BTC/USDT:USDT"


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
