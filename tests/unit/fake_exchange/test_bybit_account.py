"""The Bybit unified account over the shared engines, without a server: one wallet for spot and
linear, orderLinkId uniqueness, position take-profit / stop-loss, amend, translated refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange import bybit_place
from fks_fake_exchange.bybit_errors import BybitError
from fks_fake_exchange.bybit_orders import parse_new_order
from fks_fake_exchange.bybit_params import BybitParams
from fks_fake_exchange.config import ExchangeConfig
from fks_fake_exchange.state import Clock, Exchange


@pytest.fixture
def ex() -> Exchange:
    return Exchange(ExchangeConfig(), Clock(), venue="bybit")


def _place(ex: Exchange, category: str, **fields: str) -> str:
    assert ex.bybit is not None
    markets = ex.spot_markets if category == "spot" else ex.futures_markets
    params = BybitParams({"symbol": "BTCUSDT", **fields})
    new = parse_new_order(params, markets["BTCUSDT"], "spot" if category == "spot" else "linear")
    return bybit_place.place(ex.bybit, new).order_id


def _code(ex: Exchange, category: str, **fields: str) -> int:
    with pytest.raises(BybitError) as refused:
        _place(ex, category, **fields)
    return refused.value.code


def test_linear_pnl_and_fees_land_in_the_spot_wallet(ex: Exchange) -> None:
    _place(ex, "linear", side="Buy", orderType="Market", qty="0.1")
    ex.set_price("BTCUSDT", Decimal(69_000))
    _place(ex, "linear", side="Sell", orderType="Market", qty="0.1", reduceOnly="true")
    fees = Decimal("0.1") * (68_000 + 69_000) * Decimal("0.0004")
    assert ex.spot.balance("USDT").free == 10_000 + 100 - fees


def test_linear_margin_holds_spot_buying_power(ex: Exchange) -> None:
    _place(ex, "linear", side="Buy", orderType="Market", qty="2")  # 136,000 / 20 = 6,800 margin
    assert _code(ex, "spot", side="Buy", orderType="Limit", qty="0.05", price="68000") == 170131
    _place(ex, "spot", side="Buy", orderType="Limit", qty="0.04", price="68000")  # 2,720 fits


def test_order_link_id_is_unique_across_categories_and_closed_orders(ex: Exchange) -> None:
    _place(
        ex,
        "spot",
        side="Buy",
        orderType="Market",
        qty="0.001",
        marketUnit="baseCoin",
        orderLinkId="x",
    )
    assert _code(ex, "linear", side="Buy", orderType="Market", qty="0.01", orderLinkId="x") == (
        110072
    )


def test_attached_stop_loss_triggers_on_a_resting_order_filled_later(ex: Exchange) -> None:
    assert ex.bybit is not None
    _place(
        ex,
        "linear",
        side="Buy",
        orderType="Limit",
        qty="0.01",
        price="67000",
        takeProfit="70000",
        stopLoss="66000",
    )
    assert ex.bybit.protection == {}
    ex.set_price("BTCUSDT", Decimal(67_000))  # fills; TP/SL move to the position
    assert ex.futures.positions["BTCUSDT"].qty == Decimal("0.01")
    assert ex.bybit.protection[("BTCUSDT", "BOTH")].stop_loss == 66_000
    ex.set_price("BTCUSDT", Decimal(65_900))
    assert ex.futures.positions["BTCUSDT"].qty == 0
    assert ("BTCUSDT", "BOTH") not in ex.bybit.protection
    [closing] = [o for o in ex.bybit.orders.values() if o.create_type == "CreateByStopLoss"]
    assert closing.trigger_price == 66_000


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"side": "Buy", "takeProfit": "67000"}, 10001),  # a long's TP below the price
        ({"side": "Sell", "stopLoss": "67000"}, 10001),  # a short's SL below the price
        ({"side": "Buy", "qty": "0.0015"}, 10001),  # off qtyStep
        ({"side": "Buy", "qty": "0.001"}, 110094),  # 68 < 100 minNotionalValue
        ({"side": "Buy", "positionIdx": "1"}, 10001),  # one-way mode takes positionIdx 0
        ({"side": "Buy", "tpslMode": "Partial", "takeProfit": "70000"}, 10001),  # not served
    ],
)
def test_linear_refusals(ex: Exchange, fields: dict[str, str], code: int) -> None:
    assert _code(ex, "linear", **{"orderType": "Market", "qty": "0.01", **fields}) == code
    assert ex.futures.orders == {}


def test_amend_keeps_ids_and_relocks(ex: Exchange) -> None:
    assert ex.bybit is not None
    order_id = _place(
        ex, "spot", side="Buy", orderType="Limit", qty="0.01", price="60000", orderLinkId="a-1"
    )
    order = ex.bybit.find("spot", "BTCUSDT", order_id, None)
    bybit_place.amend(ex.bybit, order, Decimal("0.02"), None, None, None)
    assert ex.bybit.find("spot", None, None, "a-1").order_id == order_id
    assert ex.spot.balance("USDT").locked == 1200
    with pytest.raises(BybitError) as refused:  # too much: the old order stays
        bybit_place.amend(ex.bybit, order, Decimal("1"), None, None, None)
    assert refused.value.code == 170131
    assert ex.bybit.is_open(order)
    assert ex.spot.balance("USDT").locked == 1200


def test_spot_market_buy_in_quote_and_base_units(ex: Exchange) -> None:
    _place(ex, "spot", side="Buy", orderType="Market", qty="680")  # default: quoteCoin
    _place(ex, "spot", side="Buy", orderType="Market", qty="0.01", marketUnit="baseCoin")
    assert ex.spot.balance("USDT").free == 10_000 - 1360
    assert ex.spot.balance("BTC").free == Decimal("0.1") + Decimal("0.02") * Decimal("0.999")
