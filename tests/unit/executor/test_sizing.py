"""Position sizing and ATR (pure)."""

from __future__ import annotations

import math

import pytest

from fks_executor.errors import InvalidPayload, RiskLimit
from fks_executor.sizing import Candle, SizingMethod, SizingRules, atr, size_position

RULES = SizingRules(max_position_size_usd=1000, max_order_size_usd=10000)


def test_worked_example_risk_sizing_is_capped_to_max_position() -> None:
    # The docs' example: balance 10,000, risk 2 %, entry 68,000, stop 67,000.
    uncapped = size_position(
        rules=SizingRules(max_position_size_usd=1e9, max_order_size_usd=1e9),
        side="buy",
        price=68_000,
        balance_usd=10_000,
        stop_loss=67_000,
    )
    assert uncapped.notional_usd == pytest.approx(13_600)
    assert uncapped.amount == pytest.approx(0.2)
    assert uncapped.capped_by is None

    capped = size_position(
        rules=RULES, side="buy", price=68_000, balance_usd=10_000, stop_loss=67_000
    )
    assert capped.uncapped_notional_usd == pytest.approx(13_600)
    assert capped.notional_usd == pytest.approx(1_000)
    assert capped.amount == pytest.approx(1_000 / 68_000)
    assert capped.capped_by == "maxPositionSizeUSD"
    assert capped.method == "risk"


def test_risk_sizing_for_a_sell_uses_a_stop_above() -> None:
    d = size_position(
        rules=SizingRules(max_position_size_usd=1e9, max_order_size_usd=1e9),
        side="sell",
        price=100.0,
        balance_usd=1000,
        stop_loss=110.0,
    )
    assert d.amount == pytest.approx(1000 * 0.02 / 10)


def test_risk_sizing_without_stop_loss_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidPayload) as err:
        size_position(rules=RULES, side="buy", price=100.0, balance_usd=1000)
    assert err.value.detail.startswith("stop_loss:")


@pytest.mark.parametrize(("side", "stop"), [("buy", 101.0), ("buy", 100.0), ("sell", 99.0)])
def test_risk_sizing_refuses_a_stop_on_the_wrong_side(side: str, stop: float) -> None:
    with pytest.raises(InvalidPayload, match="stop_loss"):
        size_position(rules=RULES, side=side, price=100.0, balance_usd=1000, stop_loss=stop)


def test_fixed_percent_and_fixed_notional() -> None:
    big = {"max_position_size_usd": 1e9, "max_order_size_usd": 1e9}
    pct = size_position(
        rules=SizingRules(method=SizingMethod.FIXED_PERCENT, percent=0.05, **big),
        side="buy",
        price=50.0,
        balance_usd=10_000,
    )
    assert pct.notional_usd == pytest.approx(500)
    assert pct.amount == pytest.approx(10)
    fixed = size_position(
        rules=SizingRules(method=SizingMethod.FIXED_NOTIONAL, notional_usd=100, **big),
        side="buy",
        price=50.0,
        balance_usd=0.0,  # fixed-notional does not need a balance
    )
    assert fixed.notional_usd == pytest.approx(100)


def test_volatility_sizing_uses_atr_times_multiplier_as_stop_distance() -> None:
    d = size_position(
        rules=SizingRules(
            method=SizingMethod.VOLATILITY,
            atr_multiplier=2.0,
            max_position_size_usd=1e9,
            max_order_size_usd=1e9,
        ),
        side="buy",
        price=68_000,
        balance_usd=10_000,
        atr_value=500.0,
    )
    # 200 USD at risk over a 1,000 USD stop distance: same as the risk example.
    assert d.amount == pytest.approx(0.2)
    with pytest.raises(InvalidPayload, match=r"^atr:"):
        size_position(
            rules=SizingRules(method=SizingMethod.VOLATILITY),
            side="buy",
            price=1.0,
            balance_usd=10,
        )


def test_explicit_amount_and_size_usd_skip_sizing_but_are_capped() -> None:
    # No stop_loss needed with an explicit size, even under method "risk".
    d = size_position(rules=RULES, side="buy", price=100.0, balance_usd=0, amount=2.0)
    assert (d.method, d.amount, d.capped_by) == ("amount", 2.0, None)
    d = size_position(rules=RULES, side="buy", price=100.0, balance_usd=0, amount=50.0)
    assert d.notional_usd == pytest.approx(1000)
    assert d.capped_by == "maxPositionSizeUSD"
    d = size_position(
        rules=SizingRules(max_order_size_usd=300, max_position_size_usd=1000),
        side="buy",
        price=100.0,
        balance_usd=0,
        size_usd=500,
    )
    assert d.notional_usd == pytest.approx(300)
    assert d.capped_by == "maxOrderSizeUSD"
    assert d.uncapped_notional_usd == pytest.approx(500)


def test_position_cap_counts_the_current_position_in_the_order_direction() -> None:
    # Long 6 units at 100 = 600 USD: a buy may add 400, a sell may go to -1000 (1600).
    buy = size_position(
        rules=RULES, side="buy", price=100.0, balance_usd=0, size_usd=5000, position_base=6
    )
    assert buy.notional_usd == pytest.approx(400)
    sell = size_position(
        rules=SizingRules(max_position_size_usd=1000, max_order_size_usd=1e9),
        side="sell",
        price=100.0,
        balance_usd=0,
        size_usd=5000,
        position_base=6,
    )
    assert sell.notional_usd == pytest.approx(1600)


def test_full_position_is_a_risk_limit() -> None:
    with pytest.raises(RiskLimit, match="maxPositionSizeUSD"):
        size_position(
            rules=RULES, side="buy", price=100.0, balance_usd=0, amount=1, position_base=10
        )


def test_no_balance_is_a_risk_limit_and_bad_numbers_are_invalid_payload() -> None:
    with pytest.raises(RiskLimit, match="balance"):
        size_position(rules=RULES, side="buy", price=100.0, balance_usd=0.0, stop_loss=90.0)
    with pytest.raises(InvalidPayload, match=r"^amount:"):
        size_position(rules=RULES, side="buy", price=100.0, balance_usd=1, amount=-1)
    with pytest.raises(InvalidPayload, match=r"^price:"):
        size_position(rules=RULES, side="buy", price=math.nan, balance_usd=1, amount=1)


def _candles(rows: list[tuple[float, float, float]]) -> list[Candle]:
    return [Candle(i, c, h, low, c) for i, (h, low, c) in enumerate(rows)]


def test_atr_matches_a_hand_computed_wilder_average() -> None:
    rows = [(10, 8, 9), (11, 9, 10), (12, 9, 11), (11, 10, 10.5), (13, 10, 12)]
    # TRs from the 2nd bar: max(2,2,0)=2; max(3,2,1)=3; max(1,0,1)=1; max(3,2.5,0.5)=3
    # ATR(2): seed (2+3)/2 = 2.5; then (2.5*1+1)/2 = 1.75; then (1.75*1+3)/2 = 2.375
    assert atr(_candles(rows), period=2) == pytest.approx(2.375)
    # period = all TRs -> the plain mean
    assert atr(_candles(rows), period=4) == pytest.approx(9 / 4)


def test_atr_gap_counts_through_the_previous_close() -> None:
    rows = [(10, 9, 10), (21, 20, 20.5)]  # gap up: TR = 21 - 10 = 11
    assert atr(_candles(rows), period=1) == pytest.approx(11)


def test_atr_needs_period_plus_one_candles() -> None:
    with pytest.raises(ValueError, match="needs 15 candles"):
        atr(_candles([(1, 1, 1)] * 14), period=14)
