"""Symbol resolution, precision and minimums (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from fks_executor.errors import BelowMinimum, InvalidOrder, SymbolNotAllowed
from fks_executor.exchange.markets import (
    amount_to_precision,
    check_limits,
    market_from_ccxt,
    price_to_precision,
)

from .markets_fixture import BTC_PERP, BTC_USDT, spot_index, swap_index


@pytest.mark.parametrize(
    "raw",
    [
        "BTC/USDT",
        "btc/usdt",
        "BTCUSDT",
        "btcusdt",
        "BINANCE:BTCUSDT",
        "BTC-USDT",
        "BTC_USDT",
        " BTCUSDT ",
    ],
)
def test_spot_forms_resolve_to_the_unified_symbol(raw: str) -> None:
    assert spot_index().resolve(raw) == "BTC/USDT"


@pytest.mark.parametrize(
    "raw",
    ["BTCUSDT", "BTCUSDT.P", "BINANCE:BTCUSDT.P", "BTC/USDT:USDT", "BTCUSDTPERP", "BTCUSDT-PERP"],
)
def test_perpetual_forms_resolve_to_the_perpetual_on_a_swap_account(raw: str) -> None:
    assert swap_index().resolve(raw) == "BTC/USDT:USDT"


def test_a_dated_future_is_reached_by_its_own_id() -> None:
    assert swap_index().resolve("BTCUSDT_250328") == "BTC/USDT:USDT-250328"


def test_perpetual_form_on_a_spot_account_is_refused_clearly() -> None:
    with pytest.raises(SymbolNotAllowed, match=r"perpetual contract.*spot"):
        spot_index().resolve("BTCUSDT.P")


@pytest.mark.parametrize("raw", ["DOGEUSDT", "XYZ/ABC", "", "COINBASE:"])
def test_unknown_symbols_are_symbol_not_allowed(raw: str) -> None:
    with pytest.raises(SymbolNotAllowed):
        spot_index().resolve(raw)


def test_an_inactive_market_is_refused() -> None:
    with pytest.raises(SymbolNotAllowed, match="not trading"):
        spot_index().resolve("OLDUSDT")


def test_amount_truncates_and_price_rounds_like_ccxt() -> None:
    assert amount_to_precision(BTC_USDT, 0.0147058823) == 0.01470
    assert amount_to_precision(BTC_USDT, 0.000019999) == 0.00001
    assert amount_to_precision(BTC_USDT, 0.000009) == 0.0
    assert price_to_precision(BTC_USDT, 68000.005) == 68000.01
    assert price_to_precision(BTC_USDT, 68000.0049) == 68000.0
    assert amount_to_precision(BTC_PERP, 1.23456) == 1.234


def test_minimums_are_refused_before_sending() -> None:
    check_limits(BTC_USDT, 0.0001, 68000)  # 6.8 USDT >= 5
    with pytest.raises(BelowMinimum, match=r"cost is below the minimum 5 USDT on BTC/USDT"):
        check_limits(BTC_USDT, 0.00005, 68000)
    with pytest.raises(BelowMinimum, match="rounds to 0"):
        check_limits(BTC_USDT, 0.0, 68000)
    with pytest.raises(BelowMinimum, match="amount is below the minimum 1e-05 BTC"):
        check_limits(dataclasses.replace(BTC_USDT, min_cost=None), 0.000001, 68000)
    with pytest.raises(InvalidOrder, match="above the maximum 9000"):
        check_limits(BTC_USDT, 9001, 1)


def test_market_from_a_ccxt_market_dict() -> None:
    raw = {
        "id": "BTCUSDT",
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "type": "spot",
        "spot": True,
        "active": True,
        "contract": False,
        "linear": None,
        "contractSize": None,
        "precision": {"amount": 1e-05, "price": 0.01},
        "limits": {
            "amount": {"min": 1e-05, "max": 9000.0},
            "cost": {"min": 5.0, "max": None},
            "price": {"min": 0.01, "max": 1000000.0},
        },
        "info": {"symbol": "BTCUSDT", "orderTypes": ["LIMIT", "MARKET", "STOP_LOSS_LIMIT"]},
    }
    m = market_from_ccxt(raw, precision_mode=4, padding_mode=5)
    assert (m.symbol, m.id, m.base, m.quote, m.type) == (
        "BTC/USDT",
        "BTCUSDT",
        "BTC",
        "USDT",
        "spot",
    )
    assert (m.amount_precision, m.price_precision, m.min_amount, m.min_cost) == (
        1e-05,
        0.01,
        1e-05,
        5.0,
    )
    assert m.max_cost is None
    assert m.contract_size == 1.0
    assert m.supports("stop_loss_limit")
    assert not m.supports("STOP_LOSS")


def test_the_fast_tick_rounding_is_ccxts() -> None:
    """markets._to_tick must give exactly what ccxt's decimal_to_precision gives."""
    import random

    from ccxt.base.decimal_to_precision import (
        NO_PADDING,
        ROUND,
        TICK_SIZE,
        TRUNCATE,
        decimal_to_precision,
    )

    from fks_executor.exchange.markets import _to_tick

    rng = random.Random(4)
    ticks = [1e-8, 1e-5, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 0.00025]
    values = [0.0, 1e-9, 0.0147058823529, 68000.005, 2.675, 0.3, 123456.789]
    values += [rng.uniform(0, 10) ** rng.uniform(-6, 6) for _ in range(3000)]
    for tick in ticks:
        for value in values:
            for mode in (ROUND, TRUNCATE):
                want = float(decimal_to_precision(value, mode, tick, TICK_SIZE, NO_PADDING))
                assert _to_tick(value, mode, tick) == want, (value, tick, mode)
