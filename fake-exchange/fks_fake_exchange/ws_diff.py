"""Which orders may have changed since the last publication, without walking them all.

An order that has left the book never changes again, and the engines' order dicts only grow (in
creation order). So the candidates are the orders open at the last publication plus the ones
recorded since: O(open + new) per request, however many orders a long benchmark has made.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
S = TypeVar("S")


def candidates(orders: Mapping[K, T], open_before: Iterable[K], count_before: int) -> list[T]:
    """The orders open at the last publication, then those recorded since (oldest first)."""
    return [orders[key] for key in open_before] + list(
        itertools.islice(orders.values(), count_before, None)
    )


def open_states(
    orders: Iterable[T],
    key: Callable[[T], K],
    state: Callable[[T], S],
    is_open: Callable[[T], bool],
) -> dict[K, S]:
    """The state of each still-open order: what the next publication compares with."""
    return {key(o): state(o) for o in orders if is_open(o)}
