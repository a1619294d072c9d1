"""Real ccxt against the fake exchange's USD-M futures API (/fapi)."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange

SWAP = {"options": {"fetchMarkets": {"types": ["linear"]}, "defaultType": "swap"}}
BTC = "BTC/USDT:USDT"


async def test_swap_markets_ticker_and_balance(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(**SWAP) as ex:
        markets = await ex.load_markets()
        assert set(markets) == {BTC, "ETH/USDT:USDT"}
        market = markets[BTC]
        assert market["swap"] is True
        assert market["linear"] is True
        assert market["settle"] == "USDT"
        assert market["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
        assert market["limits"]["cost"]["min"] == 100
        assert (await ex.fetch_ticker(BTC))["last"] == 68_000
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10_000
        assert balance["USDT"]["total"] == 10_000
        assert len(await ex.fetch_ohlcv(BTC, "15m", limit=10)) == 10


async def test_market_order_opens_a_position_and_pnl_follows_the_price(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt(**SWAP) as ex:
        await ex.load_markets()
        order = await ex.create_order(BTC, "market", "buy", 0.05, None, {"clientOrderId": "perp-1"})
        assert order["status"] == "closed"
        assert order["filled"] == 0.05
        assert order["average"] == 68_000
        fake_exchange.set_price("BTCUSDT", "69000")
        [position] = await ex.fetch_positions([BTC])
        assert position["side"] == "long"
        assert position["contracts"] == 0.05
        assert position["entryPrice"] == 68_000
        assert position["unrealizedPnl"] == 50
        found = await ex.fetch_order(None, BTC, {"origClientOrderId": "perp-1"})
        assert found["id"] == order["id"]
        closing = await ex.create_order(BTC, "market", "sell", 0.05, None, {"reduceOnly": True})
        assert closing["status"] == "closed"
        assert await ex.fetch_positions([BTC]) == []
        balance = await ex.fetch_balance()
        fees = 0.05 * 68_000 * 0.0004 + 0.05 * 69_000 * 0.0004
        assert balance["USDT"]["total"] == pytest.approx(10_000 + 50 - fees)


async def test_stop_loss_and_take_profit_are_algo_orders_that_trigger(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt(**SWAP) as ex:
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 0.01)
        sl = await ex.create_order(
            BTC, "market", "sell", 0.01, None, {"stopLossPrice": 66_000, "reduceOnly": True}
        )
        tp = await ex.create_order(
            BTC, "market", "sell", 0.01, None, {"takeProfitPrice": 70_000, "reduceOnly": True}
        )
        assert sl["status"] == tp["status"] == "open"
        assert sl["triggerPrice"] == 66_000
        assert len(await ex.fetch_open_orders(BTC, params={"trigger": True})) == 2
        fake_exchange.set_price("BTC/USDT", "70000")
        assert (await ex.fetch_order(tp["id"], BTC, {"trigger": True}))["status"] == "closed"
        assert await ex.fetch_positions([BTC]) == []
        await ex.cancel_order(sl["id"], BTC, {"trigger": True})
        assert await ex.fetch_open_orders(BTC, params={"trigger": True}) == []
    [tp_record] = fake_exchange.orders(client_order_id=tp["clientOrderId"], account="futures-algo")
    assert tp_record["algoStatus"] == "FINISHED"


async def test_futures_refusals(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(**SWAP) as ex:
        await ex.load_markets()
        # -2019 is InsufficientFunds in ccxt's futures error table, which ccxt picks by the real
        # host name: with a local URL only the global table applies (the executor's endpoint
        # override picks the table by path prefix instead), so plain ccxt sees an ExchangeError.
        with pytest.raises(ccxt.ExchangeError, match="-2019"):
            await ex.create_order(BTC, "market", "buy", 5)  # 340,000 notional at 20x > 10,000
        with pytest.raises(ccxt.ExchangeError, match="-4164"):
            await ex.create_order(BTC, "market", "buy", 0.001)  # 68 < 100 minimum notional
        with pytest.raises(ccxt.ExchangeError, match="-2022"):  # reduce-only, no position
            await ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert fake_exchange.order_count() == 0


def _errors_by_path(ex: ccxt.binance) -> None:
    """Pick ccxt's error table by path prefix, as the executor's endpoint override does."""

    def by_path(url: str, exact_or_broad: str) -> dict[str, type[Exception]]:
        kind = "linear" if "/fapi/" in url else "spot" if "/api/" in url else None
        table: dict[str, type[Exception]] = ex.exceptions.get(kind, {}).get(exact_or_broad, {})
        return table

    ex.get_exceptions_by_url = by_path


async def test_futures_codes_match_ccxt_futures_error_table(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(**SWAP) as ex:
        _errors_by_path(ex)
        await ex.load_markets()
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order(BTC, "market", "buy", 5)
        with pytest.raises(ccxt.InvalidOrder):
            await ex.create_order(BTC, "market", "buy", 0.001)
        with pytest.raises(ccxt.InvalidOrder):
            await ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
