"""The records built for every alert are frozen dataclasses: immutable at run time as the type
checker is told, equal and hashable by value."""

from __future__ import annotations

import dataclasses

import pytest

from fks_executor.domain import Action, Signal


def signal(price: float | None = None) -> Signal:
    return Signal(signal_id="s1", symbol="BTCUSDT", action=Action.BUY, timestamp=1.0, price=price)


def test_equal_values_are_equal_and_hash_alike() -> None:
    assert signal() == signal()
    assert hash(signal()) == hash(signal())
    assert len({signal(), signal(), signal(price=1.0)}) == 2


def test_replace_makes_a_changed_copy() -> None:
    first = signal()
    second = dataclasses.replace(first, price=68_000.0)
    assert (first.price, second.price) == (None, 68_000.0)


def test_a_field_cannot_be_assigned_at_run_time() -> None:
    record = signal()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.price = 1.0  # type: ignore[misc]
    assert record.price is None
