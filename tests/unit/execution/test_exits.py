"""Several exits (pure): take-profit targets split, merged and rounded; trailing stops per
venue capability; refusals before anything is sent (docs/trading.md#several-exits)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from fks_executor.domain import Action, OrderType, Signal, TakeProfit, TrailingStop
from fks_executor.errors import BelowMinimum, InvalidOrder, InvalidPayload
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.exits import size_legs, split_targets, with_exits
from fks_executor.exchange.plan import Capabilities, OrderPlan, plan_entry
from fks_executor.sizing import SizingRules

from .markets_fixture import BTC_PERP, BTC_USDT

RULES = SizingRules(max_position_size_usd=100_000, max_order_size_usd=100_000)
PERCENT = Capabilities(trailing="percent", trailing_percent_range=(0.1, 10.0))  # Binance USD-M
DISTANCE = Capabilities(trailing="amount")  # Bybit linear
SPOT = Capabilities()


@dataclasses.dataclass
class _Venue:
    capabilities: Capabilities
    exchange_id: str = "binance"


def _plan(
    market=BTC_PERP,  # type: ignore[no-untyped-def]
    caps: Capabilities = PERCENT,
    hedged: bool = False,
    **kw: object,
) -> OrderPlan:
    values: dict[str, object] = {
        "signal_id": "sig-1",
        "symbol": "BTCUSDT",
        "action": Action.BUY,
        "timestamp": 0.0,
        "amount": 0.03,
    }
    values.update(kw)
    signal = Signal(**values)  # type: ignore[arg-type]
    plan = plan_entry(
        signal,
        pipeline="p",
        account="a",
        exchange="binance",
        market=market,
        caps=caps,
        rules=RULES,
        reference_price=68_000.0,
        balance_usd=100_000.0,
    )
    return with_exits(plan, signal, market, _Venue(caps), hedged=hedged)


def _total(amounts: list[float]) -> Decimal:
    return sum((Decimal(str(a)) for a in amounts), Decimal(0))


def test_three_targets_nearest_first_reduce_only_summing_to_the_position() -> None:
    tps = (TakeProfit(71_000, 40), TakeProfit(69_000, 30), TakeProfit(70_000, 30))
    p = _plan(take_profits=tps)
    assert not p.attached
    assert p.oco_list_id is None
    legs = [(leg.leg, leg.trigger_price, leg.amount, leg.reduce_only) for leg in p.protective]
    assert legs == [
        (Leg.TARGET_0, 69_000, 0.009, True),
        (Leg.TARGET_1, 70_000, 0.009, True),
        (Leg.TARGET_2, 71_000, 0.012, True),  # the remainder of 0.03
    ]
    params = p.protective[0].ccxt_params()
    assert params == {
        "clientOrderId": p.protective[0].client_order_id,
        "takeProfitPrice": 69_000,
        "reduceOnly": True,
    }
    assert p.protective[0].client_order_id.endswith("-t0")
    assert {leg.kind for leg in p.protective} == {"take_profit"}


def test_the_rounding_remainder_goes_to_the_last_target() -> None:
    # 0.007 in thirds: 0.002, 0.002, then 0.003 (the step is 0.001)
    out = split_targets(dataclasses.replace(BTC_PERP, min_cost=None), 0.007, [(1, 33.4)] * 3)
    # 33.4 % of 0.007 = 0.002338 -> 0.002; the share is 100.2 % -> the whole 0.007
    assert [a for _, a, _ in out] == [0.002, 0.002, 0.003]


def test_a_partial_share_is_truncated_and_fully_distributed() -> None:
    out = split_targets(BTC_USDT, 0.01473, [(70_000, 25), (71_000, 25)])
    amounts = [a for _, a, _ in out]
    assert amounts == [0.00368, 0.00368]  # 50 % of 0.01473 = 0.007365 -> 0.00736
    assert _total(amounts) == Decimal("0.00736")


def test_a_too_small_target_merges_into_the_next_one() -> None:
    # min cost 100 USDT on the perp: 0.001 BTC at 69,000 is 69 USDT, too small
    out = split_targets(BTC_PERP, 0.01, [(69_000, 10), (70_000, 45), (71_000, 45)])
    assert [(i, a, pct) for i, a, pct in out] == [(1, 0.005, 55), (2, 0.005, 45)]


def test_a_too_small_last_target_merges_into_the_previous_one() -> None:
    out = split_targets(BTC_PERP, 0.01, [(69_000, 45), (70_000, 45), (71_000, 10)])
    assert [(i, a, pct) for i, a, pct in out] == [(0, 0.004, 45), (1, 0.006, 55)]
    assert _total([a for _, a, _ in out]) == Decimal("0.01")


def test_targets_too_small_even_together_are_refused() -> None:
    with pytest.raises(BelowMinimum, match="together"):
        split_targets(BTC_PERP, 0.001, [(69_000, 50), (70_000, 50)])  # 70 USDT < 100
    with pytest.raises(BelowMinimum, match="take_profits targets together"):
        _plan(amount=0.002, take_profits=(TakeProfit(69_000, 30), TakeProfit(70_000, 30)))


def test_a_target_on_the_wrong_side_of_the_entry_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="above the entry price"):
        _plan(take_profits=(TakeProfit(67_000, 50),))
    with pytest.raises(InvalidPayload, match="below the entry price"):
        _plan(action=Action.SELL, take_profits=(TakeProfit(69_000, 50),))


def test_size_legs_splits_what_actually_filled() -> None:
    p = _plan(take_profits=(TakeProfit(69_000, 50), TakeProfit(70_000, 50)), stop_loss=66_000)
    sized, failed = size_legs(BTC_PERP, p.protective, 0.02)  # a partial fill
    assert failed == []
    assert [(leg.leg, leg.amount) for leg in sized] == [
        (Leg.STOP_LOSS, 0.02),
        (Leg.TARGET_0, 0.01),
        (Leg.TARGET_1, 0.01),
    ]
    sized, failed = size_legs(BTC_PERP, p.protective, 0.001)  # 70 USDT together < 100
    assert [(leg.leg, leg.amount) for leg in sized] == [(Leg.STOP_LOSS, 0.001)]
    assert [(leg.leg, exc.reason) for leg, exc in failed] == [
        (Leg.TARGET_0, "below_minimum"),
        (Leg.TARGET_1, "below_minimum"),
    ]


def test_trailing_by_percent_on_a_percent_venue() -> None:
    p = _plan(trailing_stop=TrailingStop(percent=1.5, activation_price=69_000), stop_loss=66_000)
    sl, trail = p.protective
    assert sl.leg is Leg.STOP_LOSS
    assert sl.reduce_only
    assert (trail.leg, trail.kind, trail.amount, trail.side) == (
        Leg.TRAILING_STOP,
        "trailing_stop",
        0.03,
        "sell",
    )
    assert trail.ccxt_params() == {
        "clientOrderId": trail.client_order_id,
        "trailingPercent": 1.5,
        "trailingTriggerPrice": 69_000,
        "reduceOnly": True,
    }
    with pytest.raises(InvalidOrder, match=r"give trailing_stop\.percent"):
        _plan(trailing_stop=TrailingStop(amount=500))
    for outside in (0.05, 11):
        with pytest.raises(InvalidOrder, match=r"takes 0\.1 to 10"):
            _plan(trailing_stop=TrailingStop(percent=outside))


def test_trailing_percent_becomes_a_distance_at_the_entry_price() -> None:
    (trail,) = _plan(caps=DISTANCE, trailing_stop=TrailingStop(percent=0.75)).protective
    # 0.75 % of 68,000 = 510 (on the 0.1 tick)
    assert trail.ccxt_params() == {
        "clientOrderId": trail.client_order_id,
        "trailingAmount": 510.0,
        "reduceOnly": True,
    }
    (trail,) = _plan(caps=DISTANCE, trailing_stop=TrailingStop(amount=333.33)).protective
    assert trail.trail_amount == 333.3


def test_trailing_where_the_venue_has_none_is_refused() -> None:
    with pytest.raises(InvalidOrder, match="no trailing stop on BTC/USDT"):
        _plan(market=BTC_USDT, caps=SPOT, amount=0.01, trailing_stop=TrailingStop(percent=1))
    with pytest.raises(InvalidOrder, match="no trailing stop"):
        _plan(caps=Capabilities(trailing=None), trailing_stop=TrailingStop(percent=1))


def test_activation_price_on_the_wrong_side_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="activation_price: must be above"):
        _plan(trailing_stop=TrailingStop(percent=1, activation_price=67_000))


def test_spot_targets_alone_fit_but_not_with_a_stop_loss() -> None:
    p = _plan(market=BTC_USDT, caps=SPOT, amount=0.01, take_profits=(TakeProfit(70_000, 60),))
    (tp,) = p.protective
    assert (tp.amount, tp.reduce_only, tp.type) == (0.006, False, "market")
    with pytest.raises(InvalidOrder, match="spot"):
        _plan(
            market=BTC_USDT,
            caps=SPOT,
            amount=0.01,
            take_profits=(TakeProfit(70_000, 60),),
            stop_loss=60_000,
        )


def test_hedge_mode_exits_carry_the_position_side() -> None:
    p = _plan(hedged=True, take_profits=(TakeProfit(70_000, 100),), stop_loss=66_000)
    assert all(leg.ccxt_params()["hedged"] is True for leg in p.protective)
    single = _plan(hedged=True, stop_loss=66_000)
    assert [leg.hedged for leg in single.protective] == [True]
    assert not any(leg.hedged for leg in _plan(stop_loss=66_000).protective)


def test_without_several_exits_the_plan_is_unchanged() -> None:
    p = _plan(stop_loss=66_000, take_profit=70_000)
    signal = Signal("sig-1", "BTCUSDT", Action.BUY, 0.0, amount=0.03, stop_loss=66_000)
    assert with_exits(p, signal, BTC_PERP, _Venue(PERCENT)) is p


def test_limit_entry_notes_the_legs_wait_for_the_fill() -> None:
    p = _plan(order_type=OrderType.LIMIT, price=68_000, take_profits=(TakeProfit(70_000, 100),))
    assert p.notes == ("protective legs are placed only once the limit entry has filled",)
