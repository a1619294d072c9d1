"""The spot matching engine: fills, balances, locks, triggers, lookups."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market
from fks_fake_exchange.orders import SpotOrder, parse_new_order, parse_oco
from fks_fake_exchange.params import Params
from fks_fake_exchange.spot import SpotEngine
from tests.unit.fake_exchange.conftest import Prices

D = Decimal


def _place(engine: SpotEngine, markets: dict[str, Market], **params: str) -> SpotOrder:
    params.setdefault("symbol", "BTCUSDT")
    if params.get("type", "LIMIT") in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
        params.setdefault("timeInForce", "GTC")
    params.setdefault("type", "LIMIT")
    return engine.place(parse_new_order(Params(params), markets))


def _refused(engine: SpotEngine, markets: dict[str, Market], msg: str, **params: str) -> None:
    with pytest.raises(ApiError) as info:
        _place(engine, markets, **params)
    assert info.value.msg == msg


def _free_locked(engine: SpotEngine, asset: str) -> tuple[Decimal, Decimal]:
    bal = engine.balance(asset)
    return bal.free, bal.locked


def test_market_buy_fills_at_the_price_with_fee_in_base(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    order = _place(engine, spot_markets, side="BUY", type="MARKET", quantity="0.01")
    assert order.status == "FILLED"
    [fill] = order.fills
    assert (fill.price, fill.qty, fill.commission, fill.commission_asset) == (
        68_000,
        D("0.01"),
        D("0.00001"),
        "BTC",
    )
    assert _free_locked(engine, "USDT") == (D(9_320), 0)
    assert _free_locked(engine, "BTC") == (D("0.10999"), 0)


def test_market_sell_fee_in_quote(engine: SpotEngine, spot_markets: dict[str, Market]) -> None:
    _place(engine, spot_markets, side="SELL", type="MARKET", quantity="0.1")
    assert _free_locked(engine, "BTC") == (0, 0)
    assert _free_locked(engine, "USDT") == (D(10_000) + D(6_800) - D("6.8"), 0)


def test_quote_order_qty_buys_whole_steps(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    order = _place(engine, spot_markets, side="BUY", type="MARKET", quoteOrderQty="100")
    assert order.orig_qty == D("0.00147")  # floor(100/68000, 1e-5)
    assert order.cumm_quote_qty == D("99.96")
    assert order.orig_quote_qty == 100
    assert _free_locked(engine, "USDT") == (D("9900.04"), 0)


def test_limit_locks_cancel_unlocks(engine: SpotEngine, spot_markets: dict[str, Market]) -> None:
    order = _place(engine, spot_markets, side="BUY", quantity="0.01", price="60000")
    assert order.status == "NEW"
    assert _free_locked(engine, "USDT") == (D(9_400), D(600))
    engine.cancel("BTCUSDT", order.order_id, None)
    assert order.status == "CANCELED"
    assert _free_locked(engine, "USDT") == (D(10_000), 0)
    with pytest.raises(ApiError, match="-2011"):
        engine.cancel("BTCUSDT", order.order_id, None)


def test_limit_sell_locks_base(engine: SpotEngine, spot_markets: dict[str, Market]) -> None:
    _place(engine, spot_markets, side="SELL", quantity="0.04", price="70000")
    assert _free_locked(engine, "BTC") == (D("0.06"), D("0.04"))
    _refused(
        engine, spot_markets, "Account has insufficient balance for requested action.",
        side="SELL", quantity="0.07", price="70000",
    )  # fmt: skip


def test_marketable_limit_fills_at_the_better_current_price(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    order = _place(engine, spot_markets, side="BUY", quantity="0.01", price="69000")
    assert order.status == "FILLED"
    assert order.fills[0].price == 68_000
    assert order.fills[0].is_maker is False
    assert _free_locked(engine, "USDT") == (D(9_320), 0)


def test_resting_limit_fills_at_its_price_when_crossed(
    engine: SpotEngine, spot_markets: dict[str, Market], prices: Prices
) -> None:
    buy = _place(engine, spot_markets, side="BUY", quantity="0.01", price="67000")
    sell = _place(engine, spot_markets, side="SELL", quantity="0.01", price="70000")
    prices["BTCUSDT"] = D("67500")
    assert engine.on_price("BTCUSDT") == []
    prices["BTCUSDT"] = D("66000")
    assert engine.on_price("BTCUSDT") == [buy]
    assert buy.fills[0].price == 67_000
    assert buy.fills[0].is_maker is True
    assert sell.status == "NEW"
    assert _free_locked(engine, "USDT") == (D(9_330), 0)
    assert _free_locked(engine, "BTC") == (D("0.09999"), D("0.01"))


def test_ioc_that_does_not_match_expires(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    order = _place(
        engine, spot_markets, side="BUY", quantity="0.01", price="60000", timeInForce="IOC"
    )
    assert order.status == "EXPIRED"
    assert _free_locked(engine, "USDT") == (D(10_000), 0)


def test_limit_maker_that_would_take_is_refused(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    _refused(
        engine, spot_markets, "Order would immediately match and take.",
        side="BUY", type="LIMIT_MAKER", quantity="0.01", price="69000",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("order_type", "side", "stop", "move_to", "triggers"),
    [
        ("STOP_LOSS", "SELL", "67000", "66999.99", True),
        ("STOP_LOSS", "SELL", "67000", "67000.01", False),
        ("TAKE_PROFIT", "SELL", "69000", "69000", True),
        ("STOP_LOSS", "BUY", "69000", "69500", True),
        ("TAKE_PROFIT", "BUY", "67000", "67500", False),
    ],
)
def test_stop_orders_trigger_as_market_fills(
    engine: SpotEngine,
    spot_markets: dict[str, Market],
    prices: Prices,
    order_type: str,
    side: str,
    stop: str,
    move_to: str,
    triggers: bool,
) -> None:
    order = _place(
        engine, spot_markets, side=side, type=order_type, quantity="0.01", stopPrice=stop
    )
    assert order.status == "NEW"
    assert order.working_time == -1
    prices["BTCUSDT"] = D(move_to)
    engine.on_price("BTCUSDT")
    assert order.status == ("FILLED" if triggers else "NEW")
    if triggers:
        assert order.fills[0].price == D(move_to)


def test_stop_limit_becomes_a_working_limit(
    engine: SpotEngine, spot_markets: dict[str, Market], prices: Prices
) -> None:
    order = _place(
        engine, spot_markets, side="SELL", type="STOP_LOSS_LIMIT", quantity="0.01",
        stopPrice="67000", price="66500",
    )  # fmt: skip
    prices["BTCUSDT"] = D("66900")  # triggers; the 66,500 limit sell is marketable at 66,900
    engine.on_price("BTCUSDT")
    assert order.status == "FILLED"
    assert order.fills[0].price == D("66900")


def test_stop_that_would_trigger_at_once_is_refused(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    _refused(
        engine, spot_markets, "Stop price would trigger immediately.",
        side="SELL", type="STOP_LOSS", quantity="0.01", stopPrice="68000",
    )  # fmt: skip


def test_duplicate_client_id_only_among_open_orders(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    first = _place(
        engine, spot_markets, side="BUY", quantity="0.01", price="60000", newClientOrderId="c"
    )
    _refused(
        engine, spot_markets, "Duplicate order sent.",
        side="BUY", quantity="0.01", price="60000", newClientOrderId="c",
    )  # fmt: skip
    engine.cancel("BTCUSDT", None, "c")
    second = _place(
        engine, spot_markets, side="BUY", quantity="0.01", price="60000", newClientOrderId="c"
    )
    assert engine.find("BTCUSDT", None, "c") is second
    assert engine.find("BTCUSDT", first.order_id, None) is first
    with pytest.raises(ApiError, match="-2013"):
        engine.find("ETHUSDT", first.order_id, None)
    with pytest.raises(ApiError, match="-2013"):
        engine.find("BTCUSDT", None, "unknown")


def test_filters_are_checked_before_balance(
    engine: SpotEngine, spot_markets: dict[str, Market]
) -> None:
    engine.set_free("USDT", D(0))
    _refused(
        engine,
        spot_markets,
        "Filter failure: NOTIONAL",
        side="BUY",
        quantity="0.00005",
        price="60000",
    )
    _refused(
        engine,
        spot_markets,
        "Filter failure: PRICE_FILTER",
        side="BUY",
        quantity="0.01",
        price="60000.001",
    )
    _refused(
        engine, spot_markets, "Account has insufficient balance for requested action.",
        side="BUY", quantity="0.01", price="60000",
    )  # fmt: skip


def test_max_num_algo_orders(engine: SpotEngine, spot_markets: dict[str, Market]) -> None:
    for _ in range(5):
        _place(
            engine, spot_markets, side="SELL", type="STOP_LOSS", quantity="0.001", stopPrice="60000"
        )
    _refused(
        engine, spot_markets, "Filter failure: MAX_NUM_ALGO_ORDERS",
        side="SELL", type="STOP_LOSS", quantity="0.001", stopPrice="60000",
    )  # fmt: skip


def _oco(engine: SpotEngine, markets: dict[str, Market], **params: str) -> list[SpotOrder]:
    new = parse_oco(
        Params({"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.05", **params}), markets
    )
    return engine.list_orders(engine.place_oco(new.above, new.below, new.list_client_order_id))


def test_oco_lock_moves_to_the_triggered_leg(
    engine: SpotEngine, spot_markets: dict[str, Market], prices: Prices
) -> None:
    above, below = _oco(
        engine, spot_markets,
        aboveType="LIMIT_MAKER", abovePrice="70000",
        belowType="STOP_LOSS_LIMIT", belowStopPrice="66000", belowPrice="66500",
        belowTimeInForce="GTC",
    )  # fmt: skip
    assert _free_locked(engine, "BTC") == (D("0.05"), D("0.05"))  # one lock for both legs
    prices["BTCUSDT"] = D(65_900)  # the stop triggers; its 66,500 limit rests
    engine.on_price("BTCUSDT")
    assert (above.status, below.status) == ("EXPIRED", "NEW")
    assert below.is_working
    assert _free_locked(engine, "BTC") == (D("0.05"), D("0.05"))  # still locked, by the stop leg
    prices["BTCUSDT"] = D(66_500)
    engine.on_price("BTCUSDT")
    assert below.status == "FILLED"
    assert _free_locked(engine, "BTC") == (D("0.05"), 0)


def test_oco_refusals(engine: SpotEngine, spot_markets: dict[str, Market]) -> None:
    with pytest.raises(ApiError, match="relationship of the prices"):
        _oco(engine, spot_markets, aboveType="LIMIT_MAKER", abovePrice="65000",
             belowType="STOP_LOSS", belowStopPrice="66000")  # fmt: skip
    with pytest.raises(ApiError, match="insufficient balance"):
        _oco(engine, spot_markets, quantity="0.2", aboveType="LIMIT_MAKER", abovePrice="70000",
             belowType="STOP_LOSS", belowStopPrice="66000")  # fmt: skip
    with pytest.raises(ApiError, match="Invalid orderType"):
        _oco(engine, spot_markets, aboveType="LIMIT", abovePrice="70000",
             belowType="STOP_LOSS", belowStopPrice="66000")  # fmt: skip
    assert engine.orders == {}
