"""The exchange layer against the fake Binance process, through real ccxt: the happy paths."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from fks_executor.domain import Action, OrderType
from fks_executor.errors import BelowMinimum, InsufficientFunds, InvalidOrder, SymbolNotAllowed
from fks_executor.exchange.live import LiveExchange
from tests.harness.fake_exchange import FakeExchange

from .conftest import MakeClient, close_plan, entry_plan, signal


async def test_markets_load_with_one_spot_request(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    client = await make_client()
    assert client.ready
    paths = [r["path"] for r in fake_exchange.requests()]
    assert paths == ["/api/v3/exchangeInfo"]  # no sapi, fapi, dapi or currencies calls
    assert set(client.index.by_symbol) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
    for raw in ("BTC/USDT", "BTCUSDT", "BINANCE:BTCUSDT", "btc-usdt"):
        assert client.resolve_symbol(raw) == "BTC/USDT"
    with pytest.raises(SymbolNotAllowed):
        client.resolve_symbol("BTCUSDT.P")  # a perpetual on a spot account
    market = client.market("BTC/USDT")
    assert (market.amount_precision, market.price_precision, market.min_cost) == (
        0.00001,
        0.01,
        5.0,
    )


async def test_reads(fake_exchange: FakeExchange, client: LiveExchange) -> None:
    fake_exchange.set_price("BTC/USDT", "67123.45")
    assert await client.fetch_price("BTC/USDT") == pytest.approx(67123.45)
    assert await client.fetch_free_balance("USDT") == pytest.approx(10_000)
    assert await client.fetch_account_state("BTC/USDT") == (10_000.0, 0.1)
    candles = await client.fetch_candles("BTC/USDT", "1h", 30)
    assert len(candles) == 30
    assert all(c.high >= c.low > 0 for c in candles)


async def test_market_buy_is_filled_on_the_exchange(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    plan = entry_plan(client, signal(price=68_000.0, stop_loss=67_000.0))
    report = await client.execute(plan)
    # The worked example: 13,600 USD capped to 1,000 USD -> 0.0147 BTC.
    assert report.entry.amount == pytest.approx(0.0147)
    assert report.entry.status == "closed"
    assert report.entry.filled == pytest.approx(0.0147)
    assert not report.recovered
    (on_exchange,) = fake_exchange.orders(client_order_id=plan.entry.client_order_id)
    assert on_exchange["status"] == "FILLED"
    assert on_exchange["type"] == "MARKET"
    assert Decimal(on_exchange["origQty"]) == Decimal("0.0147")
    assert report.entry.id == str(on_exchange["orderId"])
    (fill,) = report.fills
    assert fill.amount == pytest.approx(0.0147)
    assert fill.fee_quote > 0  # the fee taken in BTC, valued in USDT


async def test_limit_buy_rests_on_the_book_at_the_rounded_price(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    plan = entry_plan(client, signal(order_type=OrderType.LIMIT, price=60_000.004, size_usd=600.0))
    report = await client.execute(plan)
    assert report.entry.status == "open"
    (on_exchange,) = fake_exchange.orders(client_order_id=plan.entry.client_order_id)
    assert on_exchange["status"] == "NEW"
    assert Decimal(on_exchange["price"]) == Decimal("60000")
    assert Decimal(on_exchange["origQty"]) == Decimal("0.01")


async def test_stop_loss_and_take_profit_are_separate_orders_on_spot(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    # The account holds 0.1 BTC besides what the entry buys, so both sell legs can lock it.
    plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0))
    report = await client.execute(plan)
    assert report.leg_failures == ()
    sl, tp = report.legs
    assert (sl.type, sl.side, sl.status) == ("stop_loss", "sell", "open")
    assert (tp.type, tp.side, tp.status) == ("take_profit", "sell", "open")
    orders = {o["clientOrderId"]: o for o in fake_exchange.orders()}
    assert len(orders) == 3
    sl_o = orders[plan.protective[0].client_order_id]
    tp_o = orders[plan.protective[1].client_order_id]
    assert (sl_o["type"], sl_o["side"], Decimal(sl_o["stopPrice"])) == (
        "STOP_LOSS",
        "SELL",
        Decimal(66_000),
    )
    assert (tp_o["type"], tp_o["side"], Decimal(tp_o["stopPrice"])) == (
        "TAKE_PROFIT",
        "SELL",
        Decimal(70_000),
    )
    # The entry paid its fee in BTC, so the legs cover what is actually held (0.00999).
    assert Decimal(sl_o["origQty"]) == Decimal("0.00999")


async def test_spot_stop_loss_and_take_profit_rest_together_as_one_oco_list(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.set_balances({"BTC": 0})
    plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0))
    assert plan.oco  # Binance spot, ocoAllowed
    report = await client.execute(plan)
    assert report.entry.status == "closed"
    assert report.leg_failures == ()
    assert [(o.type, o.status) for o in report.legs] == [
        ("stop_loss", "open"),
        ("take_profit", "open"),
    ]
    sl, tp = (fake_exchange.orders(client_order_id=leg.client_order_id) for leg in plan.protective)
    assert len(sl) == len(tp) == 1
    assert (sl[0]["type"], Decimal(sl[0]["stopPrice"]), sl[0]["side"]) == (
        "STOP_LOSS",
        66_000,
        "SELL",
    )
    assert (tp[0]["type"], Decimal(tp[0]["stopPrice"]), tp[0]["side"]) == (
        "TAKE_PROFIT",
        70_000,
        "SELL",
    )
    assert sl[0]["orderListId"] == tp[0]["orderListId"] != -1
    assert fake_exchange.stats()["byEndpoint"]["POST /api/v3/orderList/oco"] == 1
    _, locked = fake_exchange.spot_balance("BTC")
    assert float(locked) == pytest.approx(report.legs[0].amount)  # one lock for both legs
    fake_exchange.set_price("BTC/USDT", 70_500)  # take-profit executes, the stop expires
    assert fake_exchange.orders(client_order_id=tp[0]["clientOrderId"])[0]["status"] == "FILLED"
    assert fake_exchange.orders(client_order_id=sl[0]["clientOrderId"])[0]["status"] == "EXPIRED"


async def test_without_oco_the_second_separate_leg_is_refused_and_reported(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    """The fallback (an exchange without spot OCO lists): separate legs, and Binance's
    balance lock refuses the second one; the entry stands, the failure is reported."""
    fake_exchange.set_balances({"BTC": 0})
    plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0))
    plan = dataclasses.replace(plan, oco_list_id=None)
    report = await client.execute(plan)
    assert report.entry.status == "closed"
    placed = {o.type for o in report.legs}
    failed = {(f.leg, f.reason) for f in report.leg_failures}
    assert placed == {"stop_loss"}  # protection first
    assert failed == {("tp", "insufficient_funds")}


async def test_a_stop_is_triggered_by_the_price(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0))
    await client.execute(plan)
    fake_exchange.set_price("BTC/USDT", 65_000)
    (sl,) = fake_exchange.orders(client_order_id=plan.protective[0].client_order_id)
    assert sl["status"] == "FILLED"


async def test_limit_entry_legs_wait_for_the_fill(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    plan = entry_plan(
        client,
        signal(order_type=OrderType.LIMIT, price=60_000.0, amount=0.01, stop_loss=59_000.0),
    )
    report = await client.execute(plan)
    assert report.legs == ()
    assert [(f.leg, f.reason) for f in report.leg_failures] == [("sl", "entry_not_filled")]
    assert fake_exchange.order_count() == 1


async def test_close_cancels_own_orders_and_sells_the_free_base(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.set_balances({"BTC": "0.005"})
    entry = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0))
    await client.execute(entry)
    foreign = await client.api.create_order(  # someone else's order on the account
        "BTC/USDT", "limit", "buy", 0.001, 50_000, {"clientOrderId": "manual-1"}
    )
    report = await client.execute(close_plan(client, signal("sig-close", action=Action.CLOSE)))
    assert [o.client_order_id for o in report.cancelled] == [entry.protective[0].client_order_id]
    assert report.entry.side == "sell"
    assert report.entry.status == "closed"
    # 0.005 held before + 0.01 bought - 0.00001 fee = 0.01499 free once the stop is cancelled
    assert report.entry.amount == pytest.approx(0.01499)
    free, locked = fake_exchange.spot_balance("BTC")
    assert free == 0
    assert locked == 0
    (manual,) = fake_exchange.orders(client_order_id="manual-1")
    assert manual["status"] == "NEW"  # not this pipeline's: left alone
    assert str(foreign["id"]) == str(manual["orderId"])


async def test_close_with_nothing_to_sell(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.set_balances({"BTC": 0})
    with pytest.raises(InvalidOrder, match="nothing to close"):
        await client.execute(close_plan(client, signal(action=Action.CLOSE)))
    fake_exchange.set_balances({"BTC": "0.00002"})  # dust: 1.36 USDT < 5
    with pytest.raises(BelowMinimum):
        await client.execute(close_plan(client, signal(action=Action.CLOSE)))
    assert fake_exchange.order_count() == 0


async def test_below_minimum_never_reaches_the_exchange(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    before = fake_exchange.stats()["orderRequests"]
    with pytest.raises(BelowMinimum, match="below the minimum 5"):
        entry_plan(client, signal(amount=0.00005))  # 3.4 USDT
    assert fake_exchange.stats()["orderRequests"] == before
    assert fake_exchange.order_count() == 0


async def test_insufficient_funds_is_mapped(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.set_balances({"USDT": 10})
    plan = entry_plan(client, signal(amount=0.01))
    with pytest.raises(InsufficientFunds, match="insufficient balance"):
        await client.execute(plan)
    assert fake_exchange.stats()["orderRequests"] == 1  # refused, never retried


async def test_exchange_filter_refusals_are_invalid_order(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("reject", path="/api/v3/order", method="POST", preset="lot_size")
    with pytest.raises(InvalidOrder, match="LOT_SIZE"):
        await client.execute(entry_plan(client, signal(amount=0.01)))
    fake_exchange.add_fault("reject", path="/api/v3/order", method="POST", preset="notional")
    with pytest.raises(InvalidOrder, match="NOTIONAL"):
        await client.execute(entry_plan(client, signal("sig-2", amount=0.01)))
    assert fake_exchange.stats()["orderRequests"] == 2
    assert fake_exchange.order_count() == 0
