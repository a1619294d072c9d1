"""Real ccxt ``binance`` (USD-M) against the fake exchange: leverage, margin mode and position
mode applied, read back through ccxt's getters, and refused under an open position or order with
the exception ccxt raises for Binance's code; hedge-mode orders per side; margin refusals."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from tests.harness.fake_exchange import FakeExchange

VENUE = "binance-usdm"
BTC = "BTC/USDT:USDT"


def linear_errors(ex: Any) -> None:
    """Pick ccxt's error table by path, as it does by host name on the real venue (and the
    executor's endpoint override does): /fapi is the linear table."""

    def by_path(url: str, exact_or_broad: str) -> dict[str, type[Exception]]:
        tables = ex.exceptions["linear"] if "/fapi/" in url else {}
        table: dict[str, type[Exception]] = tables.get(exact_or_broad, {})
        return table

    ex.get_exceptions_by_url = by_path


def _sent(fake: FakeExchange, path: str) -> list[dict[str, str]]:
    return [r["params"] for r in fake.requests(method="POST", path=path) if r["status"] == 200]


async def test_each_setting_is_applied_and_read_back(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        assert (await ex.fetch_leverage(BTC))["longLeverage"] == 20  # the venue's default
        await ex.set_leverage(7, BTC)
        leverage = await ex.fetch_leverage(BTC)
        assert (leverage["longLeverage"], leverage["shortLeverage"]) == (7, 7)
        assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "cross"
        await ex.set_margin_mode("isolated", BTC)
        assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "isolated"
        assert (await ex.fetch_leverage(BTC))["marginMode"] == "isolated"
        # unchanged: -4046, which ccxt raises as MarginModeAlreadySet (its binance default;
        # options.setMarginMode.throwMarginModeAlreadySet False turns it into an answer)
        with pytest.raises(ccxt.MarginModeAlreadySet, match="-4046"):
            await ex.set_margin_mode("isolated", BTC)
        assert (await ex.fetch_position_mode(BTC))["hedged"] is False
        await ex.set_position_mode(True)
        assert (await ex.fetch_position_mode(BTC))["hedged"] is True
        with pytest.raises(ccxt.OperationRejected, match="-4059"):  # unchanged
            await ex.set_position_mode(True)
        with pytest.raises(ccxt.BadRequest, match="-4028"):
            await ex.fapiprivate_post_leverage({"symbol": "BTCUSDT", "leverage": 126})
    assert _sent(fake_exchange, "/fapi/v1/leverage")[0]["leverage"] == "7"
    assert _sent(fake_exchange, "/fapi/v1/marginType")[0]["marginType"] == "ISOLATED"
    assert _sent(fake_exchange, "/fapi/v1/positionSide/dual")[0]["dualSidePosition"] == "true"


async def test_settings_refused_under_an_open_position(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        await ex.set_margin_mode("isolated", BTC)
        await ex.set_leverage(10, BTC)
        await ex.create_order(BTC, "market", "buy", 0.8)  # 54,400 notional, 5,440 margin
        with pytest.raises(ccxt.OperationRejected, match="-4048"):
            await ex.set_margin_mode("cross", BTC)
        with pytest.raises(ccxt.OperationRejected, match="-4068"):
            await ex.set_position_mode(True)
        # a lower leverage under isolated margin with a position: -4161 (in no table of
        # ccxt's but portfolio margin's, so ExchangeError)
        with pytest.raises(ccxt.ExchangeError, match="-4161"):
            await ex.set_leverage(5, BTC)
        with pytest.raises(ccxt.OperationRejected, match="-2027"):  # 54,400 > 50,000 above 100x
            await ex.set_leverage(110, BTC)
        await ex.set_leverage(12, BTC)  # raising it is allowed
        [position] = await ex.fetch_positions([BTC])
        assert (position["marginMode"], position["contracts"]) == ("isolated", 0.8)
        assert position["collateral"] == pytest.approx(54_400 / 12)
        assert (await ex.fetch_leverage(BTC))["longLeverage"] == 12
        assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "isolated"
        assert (await ex.fetch_position_mode(BTC))["hedged"] is False


async def test_settings_refused_with_an_open_order(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        order = await ex.create_order(BTC, "limit", "buy", 0.01, 60_000)
        with pytest.raises(ccxt.OperationRejected, match="-4047"):
            await ex.set_margin_mode("isolated", BTC)
        with pytest.raises(ccxt.OperationRejected, match="-4067"):
            await ex.set_position_mode(True)
        await ex.cancel_order(order["id"], BTC)
        await ex.set_position_mode(True)
        await ex.set_margin_mode("isolated", BTC)


async def test_cross_leverage_change_needs_the_margin(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        await ex.create_order(BTC, "market", "buy", 1)  # 68,000 at 20x: 3,400 margin
        with pytest.raises(ccxt.OperationRejected, match="-2028"):
            await ex.set_leverage(5, BTC)  # 13,600 > the 10,000 wallet
        await ex.set_leverage(10, BTC)  # 6,800: fits
        assert (await ex.fetch_leverage(BTC))["longLeverage"] == 10


async def test_margin_refusal_follows_the_leverage(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        await ex.set_leverage(2, BTC)
        with pytest.raises(ccxt.InsufficientFunds, match="-2019"):
            await ex.create_order(BTC, "market", "buy", 0.3)  # 20,400 / 2 > 10,000
        await ex.create_order(BTC, "market", "buy", 0.2)  # 13,600 / 2 = 6,800
        with pytest.raises(ccxt.InsufficientFunds, match="-2019"):  # 3,400 more > ~3,194 left
            await ex.create_order(BTC, "market", "buy", 0.1)
        assert (await ex.fetch_balance())["USDT"]["free"] == pytest.approx(10_000 - 6_800 - 5.44)
    assert fake_exchange.order_count(account="futures") == 1


async def test_hedge_mode_orders_carry_their_position_side(fake_exchange: FakeExchange) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        with pytest.raises(ccxt.OperationRejected, match="-4061"):  # one-way mode
            await ex.create_order(BTC, "market", "buy", 0.01, None, {"positionSide": "LONG"})
        await ex.set_position_mode(True)
        with pytest.raises(ccxt.OperationRejected, match="-4061"):  # hedge mode, no side
            await ex.create_order(BTC, "market", "buy", 0.01)
        with pytest.raises(ccxt.BadRequest, match="-1106"):  # no reduceOnly in hedge mode
            await ex.create_order(
                BTC, "market", "sell", 0.01, None, {"positionSide": "LONG", "reduceOnly": True}
            )
        await ex.create_order(BTC, "market", "buy", 0.03, None, {"positionSide": "LONG"})
        await ex.create_order(BTC, "market", "sell", 0.02, None, {"hedged": True})  # SHORT
        positions = {p["side"]: p for p in await ex.fetch_positions([BTC])}
        assert {s: (p["contracts"], p["hedged"]) for s, p in positions.items()} == {
            "long": (0.03, True),
            "short": (0.02, True),
        }
        # ccxt's hedged close: reduceOnly becomes the position side it closes
        closing = await ex.create_order(
            BTC, "market", "sell", 0.01, None, {"hedged": True, "reduceOnly": True}
        )
        assert closing["info"]["positionSide"] == "LONG"
        # closing needs no minimum notional (0.001 = 68 USDT < 100), as reduce-only orders
        await ex.create_order(BTC, "market", "buy", 0.001, None, {"positionSide": "SHORT"})
        fake_exchange.set_price(BTC, "67000")
        positions = {p["side"]: p for p in await ex.fetch_positions([BTC])}
        assert (positions["long"]["contracts"], positions["short"]["contracts"]) == (0.02, 0.019)
        assert positions["long"]["unrealizedPnl"] == pytest.approx(-20)
        assert positions["short"]["unrealizedPnl"] == pytest.approx(19)
        # closing more than the side holds closes what there is, never opens the other way
        await ex.create_order(BTC, "market", "buy", 0.05, None, {"positionSide": "SHORT"})
        [left] = await ex.fetch_positions([BTC])
        assert (left["side"], left["contracts"]) == ("long", 0.02)
    sent = _sent(fake_exchange, "/fapi/v1/order")
    assert [(p["side"], p["positionSide"], "reduceOnly" in p) for p in sent] == [
        ("BUY", "LONG", False),
        ("SELL", "SHORT", False),
        ("SELL", "LONG", False),
        ("BUY", "SHORT", False),
        ("BUY", "SHORT", False),
    ]


def test_the_sync_ccxt_class_applies_and_reads_settings(fake_exchange: FakeExchange) -> None:
    ex = ccxt.binance(fake_exchange.ccxt_config(VENUE))
    fake_exchange.point(ex)
    linear_errors(ex)
    ex.load_markets()
    ex.set_leverage(3, BTC)
    ex.set_margin_mode("isolated", BTC)
    ex.set_position_mode(True)
    assert ex.fetch_leverage(BTC)["longLeverage"] == 3
    assert ex.fetch_margin_mode(BTC)["marginMode"] == "isolated"
    assert ex.fetch_position_mode(BTC)["hedged"] is True
    ex.create_order(BTC, "market", "sell", 0.01, None, {"positionSide": "SHORT"})
    with pytest.raises(ccxt.OperationRejected, match="-4068"):
        ex.set_position_mode(False)


async def test_a_position_side_outside_long_short_both_is_a_parameter_error(
    fake_exchange: FakeExchange,
) -> None:
    async with fake_exchange.ccxt(VENUE) as ex:
        linear_errors(ex)
        await ex.load_markets()
        with pytest.raises(ccxt.BadRequest, match="-1130"):
            await ex.create_order(BTC, "market", "buy", 0.01, None, {"positionSide": "MIDDLE"})
    assert not fake_exchange.orders(symbol="BTCUSDT")
