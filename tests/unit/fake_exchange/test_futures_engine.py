"""USD-M futures: positions, PnL, margin, reduce-only, algo triggers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures import FuturesEngine
from fks_fake_exchange.futures_records import NewAlgoOrder, NewFuturesOrder
from fks_fake_exchange.markets import Market
from fks_fake_exchange.spot import Ids
from tests.unit.fake_exchange.conftest import NOW, Prices

D = Decimal


@pytest.fixture
def futures(markets: tuple[dict[str, Market], dict[str, Market]], prices: Prices) -> FuturesEngine:
    return FuturesEngine(
        markets[1], prices.of, lambda: NOW, Ids(), D("0.0004"), 20, {"USDT": D(10_000)}
    )


def _order(engine: FuturesEngine, side: str, qty: str, *, price: str | None = None,
           reduce_only: bool = False, client_id: str | None = None) -> object:  # fmt: skip
    return engine.place(
        NewFuturesOrder(
            market=engine.markets["BTCUSDT"],
            side=side,
            type="LIMIT" if price else "MARKET",
            quantity=D(qty),
            price=D(price) if price else None,
            time_in_force="GTC",
            reduce_only=reduce_only,
            client_order_id=client_id,
        )
    )


def _algo(engine: FuturesEngine, order_type: str, side: str, trigger: str, qty: str | None = "0.01",
          close_position: bool = False) -> object:  # fmt: skip
    return engine.place_algo(
        NewAlgoOrder(
            market=engine.markets["BTCUSDT"],
            side=side,
            type=order_type,
            quantity=D(qty) if qty else None,
            trigger_price=D(trigger),
            price=None,
            time_in_force="GTC",
            reduce_only=True,
            close_position=close_position,
            client_algo_id=None,
            working_type="CONTRACT_PRICE",
        )
    )


def test_long_then_partial_close_realises_pnl(futures: FuturesEngine, prices: Prices) -> None:
    _order(futures, "BUY", "0.1")
    pos = futures.positions["BTCUSDT"]
    assert (pos.qty, pos.entry_price) == (D("0.1"), 68_000)
    prices["BTCUSDT"] = D(69_000)
    assert futures.unrealized("BTCUSDT") == 100
    _order(futures, "SELL", "0.04", reduce_only=True)
    assert pos.qty == D("0.06")
    assert pos.entry_price == 68_000
    fees = D("0.1") * 68_000 * D("0.0004") + D("0.04") * 69_000 * D("0.0004")
    assert futures.wallet["USDT"] == 10_000 + 40 - fees


def test_adding_averages_entry_and_flipping_resets_it(
    futures: FuturesEngine, prices: Prices
) -> None:
    _order(futures, "BUY", "0.01")
    prices["BTCUSDT"] = D(70_000)
    _order(futures, "BUY", "0.01")
    assert futures.positions["BTCUSDT"].entry_price == 69_000
    _order(futures, "SELL", "0.03")
    pos = futures.positions["BTCUSDT"]
    assert (pos.qty, pos.entry_price) == (D("-0.01"), 70_000)


def test_margin_and_reduce_only_refusals(futures: FuturesEngine) -> None:
    with pytest.raises(ApiError, match="-2019"):
        _order(futures, "BUY", "3")  # 204,000 / 20 = 10,200 > 10,000
    with pytest.raises(ApiError, match="-2022"):
        _order(futures, "SELL", "0.01", reduce_only=True)
    _order(futures, "BUY", "0.01")
    closing = _order(futures, "SELL", "0.05", reduce_only=True)  # capped at the position
    assert closing.orig_qty == D("0.01")  # type: ignore[attr-defined]
    assert futures.positions["BTCUSDT"].qty == 0


def test_resting_limit_reserves_margin_then_fills(futures: FuturesEngine, prices: Prices) -> None:
    order = _order(futures, "BUY", "1", price="67000")
    assert futures.order_margin() == D(3_350)
    assert futures.available() == D(10_000) - D(3_350)
    prices["BTCUSDT"] = D(66_000)
    futures.on_price("BTCUSDT")
    assert order.status == "FILLED"  # type: ignore[attr-defined]
    assert futures.positions["BTCUSDT"].entry_price == 67_000
    assert futures.order_margin() == 0


def test_duplicate_client_id(futures: FuturesEngine) -> None:
    _order(futures, "BUY", "0.01", price="60000", client_id="x")
    with pytest.raises(ApiError, match="-4116"):
        _order(futures, "BUY", "0.01", price="60000", client_id="x")


def test_algo_stop_and_take_profit(futures: FuturesEngine, prices: Prices) -> None:
    _order(futures, "BUY", "0.01")
    stop = _algo(futures, "STOP_MARKET", "SELL", "67000", qty=None, close_position=True)
    take = _algo(futures, "TAKE_PROFIT_MARKET", "SELL", "70000")
    with pytest.raises(ApiError, match="-2021"):
        _algo(futures, "STOP_MARKET", "SELL", "68500")  # a sell stop above the price fires at once
    prices["BTCUSDT"] = D(66_900)
    futures.on_price("BTCUSDT")
    assert stop.status == "FINISHED"  # type: ignore[attr-defined]
    assert futures.positions["BTCUSDT"].qty == 0
    actual = futures.orders[stop.actual_order_id]  # type: ignore[attr-defined]
    assert (actual.orig_type, actual.stop_price, actual.avg_price) == (
        "STOP_MARKET",
        67_000,
        66_900,
    )
    prices["BTCUSDT"] = D(70_000)
    futures.on_price("BTCUSDT")  # the take-profit triggers but has nothing left to reduce
    assert take.status == "EXPIRED"  # type: ignore[attr-defined]
    assert futures.positions["BTCUSDT"].qty == 0
