"""Real ccxt ``bybit`` against the fake exchange's Bybit V5 venue: spot on the unified account."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange

BTC = "BTC/USDT"
VENUE = "bybit-spot"


async def test_load_markets_asks_for_spot_only(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        markets = await ex.load_markets()
        assert set(markets) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
        market = markets[BTC]
        assert market["spot"] is True
        assert market["precision"] == {"amount": 0.00001, "price": 0.01}
        assert market["limits"]["amount"] == {"min": 0.00001, "max": 9000}
        assert market["limits"]["cost"] == {"min": 5, "max": 9_000_000}
    categories = {
        r["params"]["category"] for r in fake_bybit.requests(path="/v5/market/instruments-info")
    }
    assert categories == {"spot"}
    # ccxt asked the coins with a signed request, which the fake verified
    [coin_info] = fake_bybit.requests(path="/v5/asset/coin/query-info")
    assert coin_info["status"] == 200


async def test_ticker_and_unified_balance(fake_bybit: FakeExchange) -> None:
    fake_bybit.set_price(BTC, "67123.45")
    async with fake_bybit.ccxt(VENUE) as ex:
        ticker = await ex.fetch_ticker(BTC)
        assert ticker["symbol"] == BTC
        assert ticker["last"] == 67123.45
        assert ticker["bid"] == 67123.45
        balance = await ex.fetch_balance()
        assert balance["USDT"] == {"free": 10_000, "used": 0, "total": 10_000, "debt": 0}
        assert balance["BTC"]["total"] == 0.1
    [wallet] = fake_bybit.requests(path="/v5/account/wallet-balance")
    assert wallet["params"]["accountType"] == "UNIFIED"
    assert fake_bybit.requests(path="/v5/user/query-api")


async def test_market_buy_fills_and_is_found_by_order_link_id(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        created = await ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "b-1"})
        assert created["clientOrderId"] == "b-1"
        assert created["status"] is None  # Bybit's create answer has ids only
        # closed orders live in /v5/order/history, looked up by orderLinkId
        [found] = await ex.fetch_closed_orders(BTC, params={"orderLinkId": "b-1"})
        assert found["id"] == created["id"]
        assert found["status"] == "closed"
        assert found["filled"] == 0.01
        assert found["average"] == 68_000
        assert found["fee"] == {"cost": 0.00001, "currency": "BTC"}
        # not among the open orders (/v5/order/realtime)
        assert await ex.fetch_open_orders(BTC, params={"orderLinkId": "b-1"}) == []
        [trade] = await ex.fetch_my_trades(BTC)
        assert trade["order"] == created["id"]
        assert trade["amount"] == 0.01
    [sent] = fake_bybit.requests(method="POST", path="/v5/order/create")
    assert sent["params"]["marketUnit"] == "baseCoin"
    assert sent["params"]["orderLinkId"] == "b-1"
    assert fake_bybit.spot_balance("USDT") == (Decimal(10_000 - 680), Decimal(0))
    assert fake_bybit.spot_balance("BTC")[0] == Decimal("0.10999")  # fee in the bought coin


async def test_limit_order_rests_locks_funds_amends_and_cancels(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        order = await ex.create_order(BTC, "limit", "buy", 0.01, 60_000, {"clientOrderId": "l-1"})
        [open_order] = await ex.fetch_open_orders(BTC, params={"orderLinkId": "l-1"})
        assert open_order["id"] == order["id"]
        assert open_order["status"] == "open"
        assert fake_bybit.spot_balance("USDT") == (Decimal(9_400), Decimal(600))
        await ex.edit_order(order["id"], BTC, "limit", "buy", 0.01, 61_000)
        [amended] = await ex.fetch_open_orders(BTC)
        assert (amended["id"], amended["price"]) == (order["id"], 61_000)
        assert fake_bybit.spot_balance("USDT") == (Decimal(9_390), Decimal(610))
        await ex.cancel_order(order["id"], BTC)
        [canceled] = await ex.fetch_canceled_and_closed_orders(BTC, params={"orderLinkId": "l-1"})
        assert canceled["status"] == "canceled"
        assert fake_bybit.spot_balance("USDT") == (Decimal(10_000), Decimal(0))
        with pytest.raises(ccxt.InvalidOrder, match="170213"):  # already canceled
            await ex.cancel_order(order["id"], BTC)


async def test_resting_limit_fills_when_the_price_reaches_it(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        order = await ex.create_order(BTC, "limit", "sell", 0.05, 69_000)
        fake_bybit.set_price(BTC, 69_500)
        [filled] = await ex.fetch_closed_orders(BTC, params={"orderId": order["id"]})
        assert filled["status"] == "closed"
        assert filled["average"] == 69_000
    free, locked = fake_bybit.spot_balance("USDT")
    assert (free, locked) == (Decimal(10_000) + Decimal("3450") - Decimal("3.45"), Decimal(0))


@pytest.mark.parametrize(
    ("amount", "price", "code", "error"),
    [
        ("0.000011", "68000", "170137", ccxt.InvalidOrder),  # off basePrecision
        ("0.00005", "68000", "170140", ccxt.InvalidOrder),  # 3.4 USDT < minOrderAmt 5
        ("10000", "68000", "170135", ccxt.InvalidOrder),  # above maxOrderQty
        ("0.01", "68000.001", "170134", ccxt.InvalidOrder),  # off the tick
        ("1", "68000", "170131", ccxt.InsufficientFunds),  # 68,000 > 10,000 USDT
    ],
)
async def test_refusals_map_to_ccxt_errors_and_place_nothing(
    fake_bybit: FakeExchange, amount: str, price: str, code: str, error: type[Exception]
) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        # bypass ccxt's own rounding so the exchange sees the raw values
        request = {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": amount,
            "price": price,
        }
        with pytest.raises(error, match=code):
            await ex.private_post_v5_order_create(request)
    assert fake_bybit.order_count() == 0
    assert fake_bybit.stats()["ordersRejected"] == 1


async def test_duplicate_order_link_id_is_refused(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.001, None, {"clientOrderId": "dup"})
        # ccxt maps Bybit's 110072 to InvalidOrder (it has no DuplicateOrderId entry for it)
        with pytest.raises(ccxt.InvalidOrder, match="110072"):
            await ex.create_order(BTC, "market", "buy", 0.001, None, {"clientOrderId": "dup"})
    assert fake_bybit.order_count(client_order_id="dup") == 1


async def test_market_buy_in_quote_coin(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        order = await ex.create_market_buy_order_with_cost(BTC, 136)
        [found] = await ex.fetch_closed_orders(BTC, params={"orderId": order["id"]})
        assert found["cost"] == 136
        assert found["filled"] == 0.002
    [sent] = fake_bybit.requests(method="POST", path="/v5/order/create")
    # ccxt sends the cost as qty without marketUnit: a spot market buy's default unit is quote
    assert sent["params"]["qty"] == "136"
    assert "marketUnit" not in sent["params"]


async def test_spot_stop_loss_order_triggers_on_a_fall(fake_bybit: FakeExchange) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        stop = await ex.create_order(BTC, "market", "sell", 0.05, None, {"stopLossPrice": 66_000})
        # ccxt places a spot stopLossPrice order as a tpslOrder, listed under that filter
        assert await ex.fetch_open_orders(BTC, params={"trigger": True}) == []  # StopOrder
        [waiting] = await ex.fetch_open_orders(BTC, params={"orderFilter": "tpslOrder"})
        assert (waiting["id"], waiting["triggerPrice"]) == (stop["id"], 66_000)
        assert waiting["info"]["orderStatus"] == "Untriggered"
        assert await ex.fetch_open_orders(BTC) == []  # plain orders only by default on spot
        fake_bybit.set_price(BTC, "65900")
        [done] = await ex.fetch_closed_orders(BTC, params={"orderId": stop["id"]})
        assert (done["status"], done["filled"], done["average"]) == ("closed", 0.05, 65_900)
    [sent] = fake_bybit.requests(method="POST", path="/v5/order/create")
    assert sent["params"]["orderFilter"] == "tpslOrder"
    assert fake_bybit.spot_balance("BTC") == (Decimal("0.05"), Decimal(0))


async def test_limit_buy_with_attached_tp_sl_protects_what_it_bought(
    fake_bybit: FakeExchange,
) -> None:
    async with fake_bybit.ccxt(VENUE) as ex:
        await ex.load_markets()
        params = {"takeProfit": 70_000, "stopLoss": 65_000, "clientOrderId": "p-1"}
        with pytest.raises(ccxt.BadRequest):  # a buy's take-profit must be above its price
            await ex.create_order(BTC, "limit", "buy", 0.01, 67_000, {"takeProfit": 66_000})
        await ex.create_order(BTC, "limit", "buy", 0.01, 67_000, params)
        assert await ex.fetch_open_orders(BTC, params={"orderFilter": "tpslOrder"}) == []
        fake_bybit.set_price(BTC, "67000")  # the entry fills; its TP and SL wait
        legs = await ex.fetch_open_orders(BTC, params={"orderFilter": "tpslOrder"})
        assert sorted((o["side"], o["triggerPrice"], o["amount"]) for o in legs) == [
            ("sell", 65_000, 0.00999),  # what was bought, less the fee taken in BTC
            ("sell", 70_000, 0.00999),
        ]
        assert fake_bybit.spot_balance("BTC") == (Decimal("0.1"), Decimal("0.00999"))  # one lock
        fake_bybit.set_price(BTC, "70000")
        orders = await ex.fetch_canceled_and_closed_orders(BTC, params={"orderFilter": "tpslOrder"})
        assert sorted((o["triggerPrice"], o["info"]["orderStatus"]) for o in orders) == [
            (65_000, "Deactivated"),
            (70_000, "Filled"),
        ]
    assert fake_bybit.spot_balance("BTC") == (Decimal("0.1"), Decimal(0))
