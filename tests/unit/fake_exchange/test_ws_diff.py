"""Which orders a publication looks at: those open last time and those recorded since."""

from __future__ import annotations

from fks_fake_exchange import ws_diff


def test_candidates_are_the_open_ones_then_the_new_ones_in_order() -> None:
    orders = {1: "filled", 2: "open", 3: "canceled", 4: "open", 5: "new", 6: "newer"}
    assert ws_diff.candidates(orders, [2, 4], count_before=4) == ["open", "open", "new", "newer"]


def test_open_states_keep_only_the_open_orders() -> None:
    orders = [(1, "NEW"), (2, "FILLED"), (3, "PARTIALLY_FILLED")]
    states = ws_diff.open_states(orders, lambda o: o[0], lambda o: o[1], lambda o: o[1] != "FILLED")
    assert states == {1: "NEW", 3: "PARTIALLY_FILLED"}
