"""Target position (pure): (real position, alert, market) -> the steps that close the gap."""

from __future__ import annotations

import dataclasses

import pytest

from fks_executor.domain import Action, OrderType, Position, Signal
from fks_executor.errors import InvalidOrder, InvalidPayload
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.targeting import Step, StepKind, check_close_side, check_fields, gap

from .markets_fixture import BTC_PERP, BTC_USDT

PRICE = 50_000.0
CLOSE, REDUCE, ENTER = StepKind.CLOSE, StepKind.REDUCE, StepKind.ENTER
LONG, SHORT, FLAT = Position.LONG, Position.SHORT, Position.FLAT


def sig(position: Position | None, size: float | None = None, prev: float | None = None) -> Signal:
    return Signal(
        signal_id="s-1",
        symbol="BTCUSDT",
        action=Action.BUY,
        timestamp=0.0,
        position=position,
        position_size=size,
        prev_position_size=prev,
    )


def steps(
    real: float,
    position: Position,
    size: float | None = None,
    prev: float | None = None,
    market: MarketInfo = BTC_PERP,
) -> tuple[Step, ...]:
    return gap(real=real, signal=sig(position, size, prev), market=market, price=PRICE).steps


@pytest.mark.parametrize(
    ("real", "target", "expected"),
    [
        # nothing to do: already there (a repeated alert with a new id lands here)
        (0.0, FLAT, ()),
        (0.01, LONG, ()),
        (-0.01, SHORT, ()),
        # from flat: an entry sized by the pipeline's rules
        (0.0, LONG, (Step(ENTER, "buy"),)),
        (0.0, SHORT, (Step(ENTER, "sell"),)),
        # to flat: the whole position, on the side that reduces it
        (0.01, FLAT, (Step(CLOSE, "sell", 0.01),)),
        (-0.025, FLAT, (Step(CLOSE, "buy", 0.025),)),
        # a flip: the close first, then the entry
        (0.01, SHORT, (Step(CLOSE, "sell", 0.01), Step(ENTER, "sell"))),
        (-0.02, LONG, (Step(CLOSE, "buy", 0.02), Step(ENTER, "buy"))),
        # dust below the market's minimum (0.001 BTC, 100 USDT) is flat
        (0.0009, FLAT, ()),
        (0.0009, LONG, (Step(ENTER, "buy"),)),
        (-0.0019, SHORT, (Step(ENTER, "sell"),)),  # 0.001 x 50,000 = 50 < 100 USDT min cost
        # the amount through the market's step (truncated)
        (0.0123456, FLAT, (Step(CLOSE, "sell", 0.012),)),
    ],
)
def test_gap_on_a_contract_market(
    real: float, target: Position, expected: tuple[Step, ...]
) -> None:
    assert steps(real, target) == expected


@pytest.mark.parametrize(
    ("real", "target", "size", "prev", "expected"),
    [
        # the strategy's size shrank by half: the real position too (through the step)
        (0.02, LONG, 1.0, 2.0, (Step(REDUCE, "sell", 0.01),)),
        (-0.03, SHORT, 2.0, 3.0, (Step(REDUCE, "buy", 0.01),)),
        (0.025, LONG, 0.5, 2.0, (Step(REDUCE, "sell", 0.018),)),  # 0.01875 truncated
        # the same size, a grown size, or no prev: nothing (never added to)
        (0.02, LONG, 2.0, 2.0, ()),
        (0.02, LONG, 3.0, 2.0, ()),
        (0.02, LONG, 1.0, None, ()),
        (0.02, LONG, None, 2.0, ()),
        # the reduce is below the minimum: nothing
        (0.02, LONG, 0.99, 1.0, ()),
        # what would be left is below the minimum (0.003 x 50,000 = 150, 0.001 -> 50): all
        (0.004, LONG, 0.25, 1.0, (Step(CLOSE, "sell", 0.004),)),
        # sizes are ignored for a flip and for flat
        (0.02, SHORT, 1.0, 2.0, (Step(CLOSE, "sell", 0.02), Step(ENTER, "sell"))),
        (0.02, FLAT, 0.0, 2.0, (Step(CLOSE, "sell", 0.02),)),
    ],
)
def test_partial_reduce_by_the_strategys_fraction(
    real: float,
    target: Position,
    size: float | None,
    prev: float | None,
    expected: tuple[Step, ...],
) -> None:
    assert steps(real, target, size, prev) == expected


def test_a_reduced_position_with_the_same_alert_again_is_reduced_again() -> None:
    """Documented limit: the fraction is relative, so the same partial-reduce alert under a
    NEW id reduces again (TradingView resends with the same body, hence the same id:
    answered duplicate). A resumed signal finds its reduce by client order id instead."""
    assert steps(0.02, LONG, 1.0, 2.0) == (Step(REDUCE, "sell", 0.01),)
    assert steps(0.01, LONG, 1.0, 2.0) == (Step(REDUCE, "sell", 0.005),)


@pytest.mark.parametrize(
    ("real", "target", "expected"),
    [
        (0.0, LONG, (Step(ENTER, "buy"),)),
        (0.002, LONG, ()),
        (0.002, FLAT, (Step(CLOSE, "sell", 0.002),)),
        (0.00000999, FLAT, ()),  # a fee's dust: truncated to 0
        (0.00005, FLAT, ()),  # 2.5 USDT < the 5 USDT minimum cost
    ],
)
def test_gap_on_spot(real: float, target: Position, expected: tuple[Step, ...]) -> None:
    assert steps(real, target, market=BTC_USDT) == expected


def test_spot_partial_reduce() -> None:
    assert steps(0.002, LONG, 1.0, 2.0, market=BTC_USDT) == (Step(REDUCE, "sell", 0.001),)


def test_no_short_on_spot() -> None:
    with pytest.raises(InvalidOrder, match="position: short is not possible on spot"):
        steps(0.0, SHORT, market=BTC_USDT)
    with pytest.raises(InvalidOrder, match="short is not possible"):
        steps(0.01, SHORT, market=BTC_USDT)


def test_each_step_has_its_own_client_order_id_leg() -> None:
    assert (CLOSE.leg, REDUCE.leg, ENTER.leg) == (Leg.CLOSE, Leg.CLOSE, Leg.ENTRY)


def test_the_detail_says_what_was_found() -> None:
    found = gap(real=0.01, signal=sig(LONG), market=BTC_PERP, price=PRICE)
    assert found.detail == "already long on BTC/USDT:USDT: nothing to send"
    flip = gap(real=0.01, signal=sig(SHORT), market=BTC_PERP, price=PRICE)
    assert flip.detail.startswith("flipping from long to short")


@pytest.mark.parametrize(
    ("name", "signal"),
    [
        ("position", sig(LONG)),
        ("position_size", sig(None, size=1.0)),
        ("prev_position_size", sig(None, prev=1.0)),
    ],
)
def test_orders_mode_refuses_the_target_position_fields(name: str, signal: Signal) -> None:
    with pytest.raises(InvalidOrder, match=f"^{name}: is for execution.mode target-position"):
        check_fields(signal, "orders")
    check_fields(sig(None), "orders")  # an ordinary alert


def test_target_position_mode_needs_position() -> None:
    with pytest.raises(InvalidPayload, match=r"^position: required in execution.mode"):
        check_fields(sig(None), "target-position")
    check_fields(sig(FLAT), "target-position")


def test_target_position_mode_sends_market_orders_only() -> None:
    limit = dataclasses.replace(sig(LONG), order_type=OrderType.LIMIT, price=PRICE)
    with pytest.raises(InvalidPayload, match=r"^order_type: "):
        check_fields(limit, "target-position")


def test_a_zero_size_with_long_is_refused() -> None:
    with pytest.raises(InvalidPayload, match=r"^position_size: 0 with position long"):
        check_fields(sig(LONG, 0.0, 1.0), "target-position")


@pytest.mark.parametrize(
    ("named", "held", "refused"),
    [
        (Position.LONG, -0.02, True),
        (Position.SHORT, 0.02, True),
        (Position.LONG, 0.02, False),
        (Position.SHORT, -0.02, False),
        (Position.LONG, 0.0, False),  # nothing open: the close says so itself
        (Position.FLAT, -0.02, False),
        (None, 0.02, False),
    ],
)
def test_a_one_way_close_must_name_the_open_side(
    named: Position | None, held: float, refused: bool
) -> None:
    if refused:
        with pytest.raises(InvalidOrder, match="the close names the other side"):
            check_close_side(named, held, "BTC/USDT:USDT")
    else:
        check_close_side(named, held, "BTC/USDT:USDT")
