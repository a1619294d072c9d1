"""The alert fields of the second round (docs/executor.md#alerts): several take-profit targets,
a trailing stop, a target position and the fan-out account. Parsing only; what each does is
tested where it is done."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fks_executor.domain import Action, Position, Signal, TakeProfit, TrailingStop
from fks_executor.errors import InvalidPayload
from fks_executor.signals import build_signal

NOW = 1_763_000_000.0


def signal_of(obj: dict[str, Any], *, action: bool = True) -> Signal:
    base: dict[str, Any] = {"symbol": "BTCUSDT", "timestamp": NOW}
    if action:
        base["action"] = "buy"
    base.update(obj)
    return build_signal(base, json.dumps(base).encode())


def detail_of(obj: dict[str, Any]) -> str:
    with pytest.raises(InvalidPayload) as info:
        signal_of(obj)
    return info.value.detail


def test_take_profits_and_trailing_stop_are_parsed() -> None:
    signal = signal_of(
        {
            "take_profits": [{"price": "110", "percent": 50}, {"price": 120, "percent": 50}],
            "trailing_stop": {"percent": "1.5", "activation_price": 105},
        }
    )
    assert signal.take_profits == (TakeProfit(110.0, 50.0), TakeProfit(120.0, 50.0))
    assert signal.trailing_stop == TrailingStop(percent=1.5, activation_price=105.0)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {"take_profits": [{"price": 1, "percent": 60}, {"price": 2, "percent": 41}]},
            "more than 100",
        ),
        ({"take_profits": [{"price": 1, "percent": 0}]}, "take_profits"),
        ({"take_profits": []}, "take_profits"),
        ({"take_profits": [{"price": 1, "percent": 10}], "take_profit": 2}, "one or the other"),
        ({"trailing_stop": {"percent": 1, "amount": 5}}, "exactly one of percent and amount"),
        ({"trailing_stop": {}}, "exactly one of percent and amount"),
        ({"trailing_stop": {"percent": 100}}, "trailing_stop.percent"),
        ({"position": "sideways"}, "position"),
        ({"position": "long", "position_size": -1}, "negative only for a short position"),
        ({"prev_position_size": -1}, "prev_position_size"),
    ],
)
def test_bad_exits_and_positions_are_refused_naming_the_field(
    obj: dict[str, Any], expected: str
) -> None:
    assert expected in detail_of(obj)


def test_a_target_position_alert_needs_no_action() -> None:
    signal = signal_of(
        {"position": "Short", "position_size": -0.5, "prev_position_size": 1}, action=False
    )
    assert (signal.action, signal.position) == (Action.SELL, Position.SHORT)
    assert (signal.position_size, signal.prev_position_size) == (0.5, 1.0)
    assert signal_of({"position": "flat"}, action=False).action is Action.CLOSE


def test_every_account_is_an_account_value() -> None:
    assert signal_of({"account": "*"}).account == "*"


def test_the_new_fields_survive_the_journal_and_the_memory_store_forms() -> None:
    signal = signal_of(
        {
            "take_profits": [{"price": 110, "percent": 30}],
            "trailing_stop": {"amount": 25},
            "position": "long",
            "position_size": 2,
        }
    )
    assert Signal.from_dict(json.loads(json.dumps(signal.as_dict()))) == signal
    assert Signal.from_tuple(signal.as_tuple()) == signal


def test_a_journal_written_before_the_fields_existed_still_reads() -> None:
    old = {"signal_id": "s", "symbol": "BTCUSDT", "action": "buy", "timestamp": NOW}
    signal = Signal.from_dict(old)
    assert (signal.take_profits, signal.trailing_stop, signal.position) == ((), None, None)
