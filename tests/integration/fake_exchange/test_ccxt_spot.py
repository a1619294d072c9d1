"""Real ccxt (binance, async) against the fake exchange process: what a trading client sees."""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange


async def test_load_markets_gives_binance_precision_and_limits(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt() as ex:
        markets = await ex.load_markets()
        btc = markets["BTC/USDT"]
        assert btc["id"] == "BTCUSDT"
        assert btc["spot"] is True
        assert btc["active"] is True
        assert btc["precision"]["price"] == 0.01
        assert btc["precision"]["amount"] == 0.00001
        assert btc["limits"]["amount"] == {"min": 0.00001, "max": 9000.0}
        assert btc["limits"]["cost"]["min"] == 5.0
        assert set(markets) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
        assert "STOP_LOSS_LIMIT" in btc["info"]["orderTypes"]
    # spot-only loading is exactly one request
    assert fake_exchange.stats()["byEndpoint"] == {"GET /api/v3/exchangeInfo": 1}


async def test_default_load_markets_answers_sapi_and_futures_calls(
    fake_exchange: FakeExchange,
) -> None:
    """ccxt's defaults (currencies, margin pairs, USD-M and COIN-M markets) all get answers."""
    async with fake_exchange.ccxt(
        options={
            "fetchMarkets": {"types": ["spot", "linear", "inverse"]},
            "fetchCurrencies": True,
            "fetchMargins": True,
        }
    ) as ex:
        markets = await ex.load_markets()
        assert "BTC/USDT" in markets
        assert markets["BTC/USDT:USDT"]["swap"] is True
        assert markets["BTC/USDT:USDT"]["precision"]["amount"] == 0.001
        assert {"BTC", "USDT"} <= set(ex.currencies)
        assert (await ex.fetch_status())["status"] == "ok"
    endpoints = fake_exchange.stats()["byEndpoint"]
    for call in (
        "GET /sapi/v1/capital/config/getall",
        "GET /sapi/v1/margin/allPairs",
        "GET /sapi/v1/margin/isolated/allPairs",
        "GET /fapi/v1/exchangeInfo",
        "GET /dapi/v1/exchangeInfo",
    ):
        assert call in endpoints


async def test_time_ticker_and_ohlcv_follow_the_set_price(fake_exchange: FakeExchange) -> None:
    fake_exchange.set_price("BTC/USDT", "70123.45")
    async with fake_exchange.ccxt() as ex:
        server_time = await ex.fetch_time()
        assert abs(server_time - ex.milliseconds()) < 5_000
        ticker = await ex.fetch_ticker("BTC/USDT")
        assert ticker["last"] == 70123.45
        assert ticker["bid"] <= ticker["last"] <= ticker["ask"]
        assert ticker["low"] <= ticker["last"] <= ticker["high"]
        candles = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=24)
        assert len(candles) == 24
        assert candles[-1][4] == 70123.45  # the current candle closes at the price
        for ts, o, h, low, c, v in candles:
            assert low <= min(o, c) <= max(o, c) <= h
            assert v > 0
            assert ts % 3_600_000 == 0
        assert [c[0] for c in candles] == sorted(c[0] for c in candles)
        again = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=24)
        assert again == candles  # deterministic


async def test_balance_and_market_buy_with_fee(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10_000
        assert balance["BTC"]["free"] == 0.1
        order = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
        assert order["status"] == "closed"
        assert order["filled"] == 0.01
        assert order["average"] == 68_000
        assert order["cost"] == 680
        assert order["fee"] == {"currency": "BTC", "cost": 0.00001}
        balance = await ex.fetch_balance()
    assert balance["USDT"]["free"] == 9_320
    assert balance["BTC"]["free"] == pytest.approx(0.10999)
    assert fake_exchange.spot_balance("BTC") == (Decimal("0.10999"), Decimal(0))


async def test_market_buy_with_price_is_sent_as_quote_order_qty(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        order = await ex.create_order("ETH/USDT", "market", "buy", 0.5, 3500)
        assert order["status"] == "closed"
        assert order["filled"] == 0.5
        assert order["cost"] == 1750
    [sent] = fake_exchange.requests(method="POST", path="/api/v3/order")
    assert sent["params"]["quoteOrderQty"] == "1750"
    assert "quantity" not in sent["params"]


async def test_limit_order_rests_locks_and_is_found_by_client_id(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        order = await ex.create_order(
            "BTC/USDT", "limit", "buy", 0.01, 60_000, {"clientOrderId": "fks-test-limit-1"}
        )
        assert order["status"] == "open"
        assert order["clientOrderId"] == "fks-test-limit-1"
        balance = await ex.fetch_balance()
        assert balance["USDT"]["used"] == 600
        assert balance["USDT"]["free"] == 9_400

        found = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "fks-test-limit-1"})
        assert found["id"] == order["id"]
        assert found["status"] == "open"
        assert found["price"] == 60_000
        by_id = await ex.fetch_order(order["id"], "BTC/USDT")
        assert by_id["clientOrderId"] == "fks-test-limit-1"
        assert [o["id"] for o in await ex.fetch_open_orders("BTC/USDT")] == [order["id"]]

        canceled = await ex.cancel_order(order["id"], "BTC/USDT")
        assert canceled["status"] == "canceled"
        assert await ex.fetch_open_orders("BTC/USDT") == []
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10_000
        assert balance["USDT"]["used"] == 0
        with pytest.raises(ccxt.OrderNotFound):
            await ex.cancel_order(order["id"], "BTC/USDT")
        with pytest.raises(ccxt.OrderNotFound):
            await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "never-sent"})


async def test_resting_limit_fills_when_the_price_crosses(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        order = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 67_000)
        fake_exchange.set_price("BTC/USDT", "66950")
        filled = await ex.fetch_order(order["id"], "BTC/USDT")
        assert filled["status"] == "closed"
        assert filled["average"] == 67_000  # a maker fill at its own price
        trades = await ex.fetch_my_trades("BTC/USDT")
        assert [t["order"] for t in trades] == [order["id"]]
        assert trades[0]["takerOrMaker"] == "maker"


async def test_stop_loss_and_take_profit_orders_wait_then_trigger(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        sl = await ex.create_order(
            "ETH/USDT", "limit", "sell", 0.2, 3_290, {"stopLossPrice": 3_300}
        )
        tp = await ex.create_order(
            "ETH/USDT", "market", "sell", 0.2, None, {"takeProfitPrice": 3_800}
        )
        assert sl["status"] == tp["status"] == "open"
        assert sl["info"]["type"] == "STOP_LOSS_LIMIT"
        assert tp["info"]["type"] == "TAKE_PROFIT"
        assert sl["triggerPrice"] == 3_300
        fake_exchange.set_price("ETH/USDT", "3295")
        assert (await ex.fetch_order(sl["id"], "ETH/USDT"))["status"] == "closed"
        assert (await ex.fetch_order(tp["id"], "ETH/USDT"))["status"] == "open"
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            await ex.create_order("ETH/USDT", "market", "sell", 0.1, None, {"stopLossPrice": 3_400})


async def test_wrong_secret_is_an_authentication_error(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(secret="not-the-secret") as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await ex.fetch_balance()
    async with fake_exchange.ccxt(apiKey="unknown-key") as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await ex.fetch_balance()
    assert fake_exchange.order_count() == 0


async def test_skewed_clock_is_invalid_nonce(fake_exchange: FakeExchange) -> None:
    fake_exchange.set_clock_offset(-30_000)  # the client looks 30 s ahead
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.InvalidNonce):
            await ex.fetch_balance()


async def test_refusals_map_to_ccxt_exceptions(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order("BTC/USDT", "market", "buy", 1)  # 68,000 USDT > 10,000
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order("ETH/USDT", "limit", "sell", 2, 4000)  # holds 1 ETH
        # above LOT_SIZE maxQty (filters are checked before the balance, as on Binance)
        with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
            await ex.create_order("BTC/USDT", "limit", "buy", 9001, 60_000)
        with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 2_000_000)
        with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
            await ex.create_order("BTC/USDT", "limit", "buy", 0.00002, 60_000)  # 1.2 USDT < 5
        await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 60_000, {"clientOrderId": "dup-1"})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.001, 60_000, {"clientOrderId": "dup-1"}
            )
        with pytest.raises(ccxt.BadSymbol):
            await ex.fetch_order("1", "BTC/USDT", {"symbol": "NOPEUSDT"})
    stats = fake_exchange.stats()
    assert stats["ordersCreated"] == 1
    assert stats["ordersRejected"] == 6
    assert fake_exchange.order_count() == 1


async def test_client_order_id_is_reusable_once_the_first_order_is_closed(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        first = await ex.create_order(
            "BTC/USDT", "limit", "buy", 0.001, 60_000, {"clientOrderId": "reuse"}
        )
        await ex.cancel_order(first["id"], "BTC/USDT")
        second = await ex.create_order(
            "BTC/USDT", "limit", "buy", 0.001, 60_000, {"clientOrderId": "reuse"}
        )
        found = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "reuse"})
        assert found["id"] == second["id"] != first["id"]
    assert fake_exchange.order_count(client_order_id="reuse") == 2


async def test_sandbox_mode_then_endpoint_override_reaches_every_api(
    fake_exchange: FakeExchange,
) -> None:
    """The executor's testnet path: set_sandbox_mode(True) swaps in urls['test'], then the host of
    every entry is replaced; all of them (spot, USD-M, COIN-M) are served."""
    ex = ccxt.binance(
        fake_exchange.ccxt_config(
            options={"fetchMarkets": {"types": ["spot", "linear", "inverse"]}}
        )
    )
    try:
        ex.set_sandbox_mode(True)
        fake_exchange.point(ex)
        markets = await ex.load_markets()
        assert {"BTC/USDT", "BTC/USDT:USDT"} <= set(markets)
        assert (await ex.fetch_balance())["USDT"]["free"] == 10_000
        order = await ex.create_order("BTC/USDT", "market", "sell", 0.01)
        assert order["status"] == "closed"
    finally:
        await ex.close()


async def test_oco_protects_a_spot_position_with_one_balance_lock(
    fake_exchange: FakeExchange,
) -> None:
    """Separate stop-loss and take-profit sells of the same amount cannot both rest on Binance
    spot (each locks the base); an OCO list (ccxt implicit API) shares one lock."""
    async with fake_exchange.ccxt() as ex:
        await ex.load_markets()
        await ex.create_order("BTC/USDT", "limit", "sell", 0.06, 80_000, {"stopLossPrice": 66_000})
        with pytest.raises(ccxt.InsufficientFunds):  # 0.1 BTC held, 0.06 locked by the stop
            await ex.create_order(
                "BTC/USDT", "limit", "sell", 0.06, 70_000, {"takeProfitPrice": 70_000}
            )
        await ex.cancel_all_orders("BTC/USDT")

        oco = await ex.private_post_orderlist_oco(
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "quantity": "0.06",
                "listClientOrderId": "oco-1",
                "aboveType": "LIMIT_MAKER",
                "abovePrice": "70000",
                "aboveClientOrderId": "oco-1-tp",
                "belowType": "STOP_LOSS_LIMIT",
                "belowStopPrice": "66000",
                "belowPrice": "65900",
                "belowTimeInForce": "GTC",
                "belowClientOrderId": "oco-1-sl",
            }
        )
        assert oco["listOrderStatus"] == "EXECUTING"
        assert [r["status"] for r in oco["orderReports"]] == ["NEW", "NEW"]
        assert (await ex.fetch_balance())["BTC"]["used"] == 0.06
        assert len(await ex.fetch_open_orders("BTC/USDT")) == 2

        fake_exchange.set_price("BTC/USDT", "70000")
        take_profit = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "oco-1-tp"})
        stop_loss = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "oco-1-sl"})
        assert (take_profit["status"], take_profit["average"]) == ("closed", 70_000)
        assert stop_loss["status"] == "expired"
        balance = await ex.fetch_balance()
        assert balance["BTC"] == {
            "free": pytest.approx(0.04),
            "used": 0.0,
            "total": pytest.approx(0.04),
        }
        assert balance["USDT"]["free"] == pytest.approx(10_000 + 0.06 * 70_000 * 0.999)

        listed = await ex.private_get_orderlist({"orderListId": oco["orderListId"]})
        assert listed["listOrderStatus"] == "ALL_DONE"

        second = await ex.private_post_orderlist_oco(
            {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "TAKE_PROFIT",
             "aboveStopPrice": "75000", "belowType": "STOP_LOSS", "belowStopPrice": "65000"}
        )  # fmt: skip
        leg_id = str(second["orders"][1]["orderId"])
        await ex.cancel_order(leg_id, "BTC/USDT")  # canceling one leg cancels the list
        assert await ex.fetch_open_orders("BTC/USDT") == []
        assert (await ex.fetch_balance())["BTC"]["used"] == 0
