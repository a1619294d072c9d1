"""``@value`` records: immutable to the type checker, equal and hashable like frozen dataclasses."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from mypy import api as mypy_api

from fks_executor.domain import Action, Signal


def signal(**changes: object) -> Signal:
    base = Signal(signal_id="s1", symbol="BTCUSDT", action=Action.BUY, timestamp=1.0)
    return dataclasses.replace(base, **changes)


def test_equal_values_are_equal_and_hash_alike() -> None:
    assert signal() == signal()
    assert hash(signal()) == hash(signal())
    assert len({signal(), signal(), signal(price=1.0)}) == 2


def test_replace_makes_a_changed_copy() -> None:
    first = signal()
    second = dataclasses.replace(first, price=68_000.0)
    assert (first.price, second.price) == (None, 68_000.0)


def test_the_type_checker_refuses_assigning_a_field(tmp_path: Path) -> None:
    """What keeps ``@value`` records immutable: mypy strict (``make lint``) refuses this."""
    module = tmp_path / "assign.py"
    module.write_text(
        textwrap.dedent(
            """
            from fks_executor.domain import Action, Signal

            s = Signal(signal_id="s1", symbol="BTCUSDT", action=Action.BUY, timestamp=1.0)
            s.price = 1.0
            """
        )
    )
    out, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(module)]
    )
    assert status == 1, out
    assert 'Property "price" defined in "Signal" is read-only' in out
