"""USD-M settings and their refusals, hedge-mode positions, the trailing-stop rule."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from fks_fake_exchange import futures_settings
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures import FuturesEngine
from fks_fake_exchange.futures_records import NewFuturesOrder, Trail
from fks_fake_exchange.markets import Market
from fks_fake_exchange.spot import Ids
from tests.unit.fake_exchange.conftest import NOW, Prices

D = Decimal


@pytest.fixture
def futures(markets: tuple[dict[str, Market], dict[str, Market]], prices: Prices) -> FuturesEngine:
    return FuturesEngine(
        markets[1], prices.of, lambda: NOW, Ids(), D("0.0004"), 20, {"USDT": D(10_000)}
    )


def _market(engine: FuturesEngine, side: str, qty: str, position_side: str = "BOTH") -> None:
    engine.place(
        NewFuturesOrder(
            market=engine.markets["BTCUSDT"],
            side=side,
            type="MARKET",
            quantity=D(qty),
            price=None,
            time_in_force="GTC",
            reduce_only=False,
            client_order_id=None,
            position_side=position_side,
        )
    )


def _code(call: Callable[..., object], *args: object) -> int:
    with pytest.raises(ApiError) as refused:
        call(*args)
    return refused.value.code


def test_settings_apply_then_refuse_under_a_position(futures: FuturesEngine) -> None:
    futures_settings.set_leverage(futures, "BTCUSDT", 10)
    futures_settings.set_margin_type(futures, "BTCUSDT", "ISOLATED")
    assert _code(futures_settings.set_margin_type, futures, "BTCUSDT", "ISOLATED") == -4046
    assert _code(futures_settings.set_leverage, futures, "BTCUSDT", 126) == -4028
    _market(futures, "BUY", "0.1")
    assert _code(futures_settings.set_margin_type, futures, "BTCUSDT", "CROSSED") == -4048
    assert _code(futures_settings.set_dual, futures, True) == -4068
    assert _code(futures_settings.set_leverage, futures, "BTCUSDT", 9) == -4161
    futures_settings.set_leverage(futures, "BTCUSDT", 11)
    assert futures.leverage["BTCUSDT"] == 11
    # the other symbol has no position, but the position mode is the account's
    futures_settings.set_margin_type(futures, "ETHUSDT", "ISOLATED")


def test_hedge_mode_keeps_a_position_per_side(futures: FuturesEngine) -> None:
    futures_settings.set_dual(futures, True)
    assert futures_settings.is_dual(futures)
    assert _code(_market, futures, "BUY", "0.01") == -4061
    _market(futures, "BUY", "0.02", "LONG")
    _market(futures, "SELL", "0.01", "SHORT")
    _market(futures, "SELL", "0.05", "LONG")  # closes the long side only, never flips it
    assert futures.position("BTCUSDT", "LONG").qty == 0
    assert futures.position("BTCUSDT", "SHORT").qty == D("-0.01")
    assert _code(_market, futures, "SELL", "0.01", "LONG") == -2022
    assert futures.position_margin("BTCUSDT") == D("0.01") * 68_000 / 20


@pytest.mark.parametrize(
    ("side", "moves", "triggers_at"),
    [
        ("SELL", ["69000", "70000", "69400", "69300"], 3),  # 1 % under the 70,000 high
        ("BUY", ["67000", "66000", "66600", "66660"], 3),  # 1 % over the 66,000 low
        ("SELL", ["67000", "68500", "69000", "68310"], 3),  # active from 68,500 only
    ],
)
def test_trailing_stop_follows_the_best_price(
    side: str, moves: list[str], triggers_at: int
) -> None:
    activation = D("68500") if moves[1] == "68500" else None
    trail = Trail(rate=D(1), distance=None, activation_price=activation)
    trail.on_price(side, D(68_000))
    fired = [trail.on_price(side, D(m)) for m in moves]
    assert fired.index(True) == triggers_at


def test_trailing_stop_by_distance() -> None:
    trail = Trail(rate=None, distance=D(500), activation_price=None)
    trail.on_price("SELL", D(68_000))
    assert not trail.on_price("SELL", D(69_000))
    assert trail.stop_for("SELL") == 68_500
    assert trail.on_price("SELL", D(68_500))
