"""Real ccxt ``bybit`` against the fake exchange's Bybit V5 venue: linear USDT perpetuals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange

BTC = "BTC/USDT:USDT"
VENUE = "bybit-linear"


def _orders(fake: FakeExchange, **filters: str) -> list[dict[str, Any]]:
    return fake.orders(account="linear", **filters)


async def test_load_markets_asks_for_linear_only(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        markets = await ex.load_markets()
        assert set(markets) == {BTC, "ETH/USDT:USDT"}
        market = markets[BTC]
        assert (market["swap"], market["linear"], market["settle"]) == (True, True, "USDT")
        assert market["precision"] == {"amount": 0.001, "price": 0.1}
        assert market["limits"]["cost"]["min"] == 100  # minNotionalValue
        ticker = await ex.fetch_ticker(BTC)
        assert ticker["symbol"] == BTC  # linear tickers carry openInterestValue
        assert ticker["markPrice"] == 68_000
    asked = [r["params"] for r in fake_bybit.requests(path="/v5/market/instruments-info")]
    assert {p["category"] for p in asked} == {"linear"}
    assert {p.get("status") for p in asked} == {None, "PreLaunch"}


async def test_attached_take_profit_closes_the_position(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        params = {"clientOrderId": "tp-1", "takeProfit": 70_000, "stopLoss": 66_000}
        await ex.create_order(BTC, "market", "buy", 0.05, None, params)
        [position] = await ex.fetch_positions([BTC])
        assert (position["side"], position["contracts"]) == ("long", 0.05)
        assert (position["takeProfitPrice"], position["stopLossPrice"]) == (70_000, 66_000)
        fake_bybit.set_price("BTC/USDT", "69000")
        assert (await ex.fetch_positions([BTC]))[0]["contracts"] == 0.05  # not reached yet
        fake_bybit.set_price("BTC/USDT", "70000")
        [flat] = await ex.fetch_positions([BTC])
        assert flat["contracts"] == 0
        closing = [o for o in await ex.fetch_closed_orders(BTC) if o["clientOrderId"] is None]
        assert [o["info"]["createType"] for o in closing] == ["CreateByTakeProfit"]
        assert closing[0]["side"] == "sell"
        assert closing[0]["reduceOnly"] is True
        balance = await ex.fetch_balance()
    fees = Decimal("0.05") * (68_000 + 70_000) * Decimal("0.0004")
    assert balance["USDT"]["total"] == pytest.approx(float(10_000 + 100 - fees))
    [entry] = _orders(fake_bybit, client_order_id="tp-1")
    assert (entry["takeProfit"], entry["stopLoss"], entry["tpslMode"]) == ("70000", "66000", "Full")


async def test_trading_stop_sets_a_stop_loss_that_triggers(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.BadRequest, match="zero position"):
            await ex.private_post_v5_position_trading_stop(
                {"category": "linear", "symbol": "BTCUSDT", "stopLoss": "67000", "positionIdx": 0}
            )
        await ex.create_order(BTC, "market", "sell", 0.01)
        stop = {"category": "linear", "symbol": "BTCUSDT", "tpslMode": "Full", "positionIdx": 0}
        with pytest.raises(ccxt.BadRequest, match="StopLoss"):  # a short's stop must be above
            await ex.private_post_v5_position_trading_stop({**stop, "stopLoss": "67000"})
        await ex.private_post_v5_position_trading_stop({**stop, "stopLoss": "69000"})
        [position] = await ex.fetch_positions([BTC])
        assert (position["side"], position["stopLossPrice"]) == ("short", 69_000)
        fake_bybit.set_price("BTCUSDT", "69500")
        assert (await ex.fetch_positions([BTC]))[0]["contracts"] == 0
    [closing] = [o for o in _orders(fake_bybit) if o["createType"] == "CreateByStopLoss"]
    assert (closing["side"], closing["orderStatus"], closing["stopOrderType"]) == (
        "Buy",
        "Filled",
        "StopLoss",
    )


async def test_flat_position_is_a_zero_size_row_with_empty_side(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        raw = await ex.private_get_v5_position_list({"category": "linear", "symbol": "BTCUSDT"})
        [row] = raw["result"]["list"]
        assert (row["side"], row["size"]) == ("", "0")
        assert await ex.fetch_positions() == []  # by settleCoin: open positions only
        with pytest.raises(ccxt.BadRequest):  # no symbol and no settleCoin
            await ex.private_get_v5_position_list({"category": "linear"})


async def test_open_limit_order_found_by_link_id_then_canceled(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        order = await ex.create_order(BTC, "limit", "buy", 0.01, 60_000, {"clientOrderId": "o-1"})
        [found] = await ex.fetch_open_orders(BTC, params={"orderLinkId": "o-1"})
        assert (found["id"], found["status"], found["price"]) == (order["id"], "open", 60_000)
        balance = await ex.fetch_balance()
        assert balance["USDT"]["used"] == 30  # order margin: 600 / 20x
        await ex.cancel_order(order["id"], BTC)
        assert await ex.fetch_open_orders(BTC) == []
        [canceled] = await ex.fetch_canceled_orders(BTC, params={"orderLinkId": "o-1"})
        assert canceled["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound):  # 110001
            await ex.cancel_order(order["id"], BTC)


@pytest.mark.parametrize(
    ("amount", "params", "error", "code"),
    [
        (0.001, {}, ccxt.InvalidOrder, "110094"),  # 68 USDT < minNotionalValue 100
        (5, {}, ccxt.InsufficientFunds, "110007"),  # 340,000 at 20x > 10,000
        (0.01, {"reduceOnly": True}, ccxt.InvalidOrder, "110017"),  # nothing to reduce
        (2000, {}, ccxt.BadRequest, "10001"),  # above maxMktOrderQty
    ],
)
async def test_linear_refusals(
    fake_bybit: FakeExchange,
    amount: float,
    params: dict[str, object],
    error: type[Exception],
    code: str,
) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        side = "sell" if params.get("reduceOnly") else "buy"
        with pytest.raises(error, match=code):
            await ex.create_order(BTC, "market", side, amount, None, params)
    assert fake_bybit.order_count() == 0
    assert fake_bybit.stats()["ordersRejected"] == 1


async def test_duplicate_order_link_id(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "limit", "buy", 0.01, 60_000, {"clientOrderId": "same"})
        with pytest.raises(ccxt.InvalidOrder, match="110072"):
            await ex.create_order(BTC, "limit", "buy", 0.01, 60_000, {"clientOrderId": "same"})
    assert fake_bybit.order_count(client_order_id="same") == 1


async def test_setters_and_their_refusals_with_an_open_position(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.set_leverage(10, BTC)
        with pytest.raises(ccxt.BadRequest, match="110043"):  # not modified
            await ex.set_leverage(10, BTC)
        await ex.set_position_mode(True, BTC)
        await ex.set_position_mode(False, BTC)
        await ex.set_margin_mode("isolated")
        await ex.set_margin_mode("cross")
        await ex.create_order(BTC, "market", "buy", 1)  # 68,000 at 10x: 6,800 margin
        with pytest.raises(ccxt.BadRequest, match="110024"):
            await ex.set_position_mode(True, BTC)
        with pytest.raises(ccxt.ExchangeError, match="3400045"):
            await ex.set_margin_mode("isolated")
        with pytest.raises(ccxt.InsufficientFunds, match="110044"):
            await ex.set_leverage(2, BTC)  # 34,000 margin > the wallet
        await ex.set_leverage(20, BTC)
        [position] = await ex.fetch_positions([BTC])
        assert position["leverage"] == 20
        with pytest.raises(ccxt.PermissionDenied, match="100028"):  # UTA: set-margin-mode
            await ex.private_post_v5_position_switch_isolated(
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "tradeMode": 1,
                    "buyLeverage": "5",
                    "sellLeverage": "5",
                }
            )
    state = fake_bybit.state()
    assert state["balances"]["futures"]["positions"][0]["leverage"] == "20"


async def test_executions_list_fills_with_pnl(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.02, None, {"clientOrderId": "e-1"})
        fake_bybit.set_price(BTC, "68500")
        await ex.create_order(BTC, "market", "sell", 0.02, None, {"reduceOnly": True})
        trades = await ex.fetch_my_trades(BTC)
        assert [(t["side"], t["price"]) for t in trades] == [("buy", 68_000), ("sell", 68_500)]
        assert trades[0]["info"]["orderLinkId"] == "e-1"
        assert trades[1]["info"]["closedSize"] == "0.02"
    assert len(fake_bybit.trades()) == 2


async def test_conditional_stop_loss_waits_untriggered_then_closes(
    fake_bybit: FakeExchange,
) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.01)
        params = {"stopLossPrice": 67_000, "reduceOnly": True, "clientOrderId": "sl-1"}
        stop = await ex.create_order(BTC, "market", "sell", 0.01, None, params)
        [waiting] = await ex.fetch_open_orders(BTC, params={"trigger": True})
        assert (waiting["id"], waiting["status"]) == (stop["id"], "open")
        assert (waiting["triggerPrice"], waiting["stopLossPrice"]) == (67_000, 67_000)
        assert waiting["info"]["orderStatus"] == "Untriggered"
        assert (await ex.fetch_balance())["USDT"]["used"] == 34  # the position's margin only
        fake_bybit.set_price(BTC, "66900")
        assert await ex.fetch_open_orders(BTC, params={"trigger": True}) == []
        [done] = await ex.fetch_closed_orders(BTC, params={"orderLinkId": "sl-1"})
        assert (done["id"], done["status"], done["average"]) == (stop["id"], "closed", 66_900)
        assert (await ex.fetch_positions([BTC]))[0]["contracts"] == 0
    [_, sent] = fake_bybit.requests(method="POST", path="/v5/order/create")
    assert (sent["params"]["triggerDirection"], sent["params"]["reduceOnly"]) == ("2", "true")


async def test_conditional_order_refusals_and_cancel(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.InvalidOrder, match="110093"):  # falls to a price above
            await ex.create_order(
                BTC, "market", "sell", 0.01, None, {"triggerPrice": 69_000, "triggerDirection": 2}
            )
        with pytest.raises(ccxt.InvalidOrder, match="110092"):  # rises to a price below
            await ex.create_order(
                BTC, "market", "buy", 0.01, None, {"triggerPrice": 67_000, "triggerDirection": 1}
            )
        entry = await ex.create_order(
            BTC, "limit", "buy", 0.01, 69_100, {"triggerPrice": 69_000, "triggerDirection": 1}
        )
        await ex.cancel_order(entry["id"], BTC)
        # a conditional order canceled before it triggered is Deactivated (not Cancelled)
        assert await ex.fetch_canceled_orders(BTC, params={"orderId": entry["id"]}) == []
        [canceled] = await ex.fetch_canceled_and_closed_orders(BTC, params={"orderId": entry["id"]})
        assert (canceled["status"], canceled["info"]["orderStatus"]) == ("canceled", "Deactivated")
        fake_bybit.set_price(BTC, "69500")  # a canceled conditional order never triggers
        assert await ex.fetch_positions() == []
    assert fake_bybit.order_count() == 1


def test_the_sync_ccxt_class_too(fake_bybit: FakeExchange) -> None:
    import ccxt as ccxt_sync

    ex = ccxt_sync.bybit(fake_bybit.ccxt_config(VENUE))
    fake_bybit.point(ex)
    ex.load_markets()
    ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "sync-1"})
    [order] = ex.fetch_closed_orders(BTC, params={"orderLinkId": "sync-1"})
    assert (order["status"], order["filled"]) == ("closed", 0.01)
    assert ex.fetch_positions([BTC])[0]["contracts"] == 0.01
