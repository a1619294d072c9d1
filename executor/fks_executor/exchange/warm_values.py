"""The values the warm state keeps (exchange/streams.py) and the parsing of ccxt's balance and
ticker shapes into them. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fks_executor.exchange.orders import num

__all__ = ["Balance", "Pending", "Positions", "StreamSettings", "numbers", "ticker_price"]


@dataclass(frozen=True, slots=True)
class StreamSettings:
    max_age: float = 10.0
    """Seconds after its last confirmation a warm value is still used (0: streams off)."""
    own_order_grace: float = 0.5
    """Seconds the stream has to confirm the balance after an own order before a REST
    snapshot is taken."""


@dataclass(slots=True)
class Balance:
    free: dict[str, float] = field(default_factory=dict)
    total: dict[str, float] = field(default_factory=dict)
    at: float | None = None  # local monotonic time of the last confirmation
    venue_ts: int = 0  # venue timestamp (ms) of the last stream message applied
    stream_at: float | None = None  # when the last stream message was applied


@dataclass(slots=True)
class Positions:
    by_key: dict[tuple[str, str], float] = field(default_factory=dict)  # (symbol, leg) -> signed
    at: float | None = None
    venue_ts: int = 0
    stream_at: float | None = None


@dataclass(slots=True)
class Pending:
    """An own order answered at ``at`` (local) with venue time ``venue_ts`` (None: unknown)."""

    at: float
    venue_ts: int | None


def numbers(raw: Any) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, float] = {}
    for key, value in raw.items():
        n = num(value)
        if n is not None:
            out[str(key)] = n
    return out


def ticker_price(raw: Mapping[str, Any]) -> float | None:
    price = num(raw.get("last")) or num(raw.get("close"))
    if price is None:
        bid, ask = num(raw.get("bid")), num(raw.get("ask"))
        price = (bid + ask) / 2 if bid and ask else None
    return price if price and price > 0 else None
