"""Fills, and the realised PnL they add up to (pure functions; ``dailyLossLimitUSD``).

Realised PnL uses average cost per symbol with a signed position (long > 0, short < 0): a fill
in the position's direction re-averages the cost; a fill against it realises
``closed * (price - avg) * sign(position)``; fees (quote) always count as a loss. Fills before
the day start still build the cost basis of what is sold today, so a ledger
(``fks_executor.state.ledgers``) keeps either all fills or, once compacted (:func:`compact`),
one synthetic opening fill per open position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Fill", "compact", "fill_key", "realised_pnl", "utc_day_start"]


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of this pipeline's order (filled part only)."""

    timestamp: float  # unix seconds
    account: str
    symbol: str  # resolved market symbol
    side: str  # "buy" | "sell"
    amount: float  # base, > 0
    price: float  # average fill price, quote per base
    fee_quote: float = 0.0  # fees converted to quote, >= 0
    client_order_id: str = ""
    fee_base: float = 0.0  # the part of the fees paid in the base coin (spot holdings shrink)


def utc_day_start(now: float) -> float:
    """Unix time of the last 00:00 UTC at or before ``now``."""
    day = datetime.fromtimestamp(now, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def _apply(position: float, avg: float, fill: Fill) -> tuple[float, float, float]:
    """Apply one fill to (position, avg cost); return (position, avg, realised pnl)."""
    signed = fill.amount if fill.side == "buy" else -fill.amount
    if position == 0 or (position > 0) == (signed > 0):
        total = abs(position) + abs(signed)
        avg = (abs(position) * avg + abs(signed) * fill.price) / total
        return position + signed, avg, 0.0
    closed = min(abs(signed), abs(position))
    pnl = closed * (fill.price - avg) * (1.0 if position > 0 else -1.0)
    new_position = position + signed
    if math.isclose(new_position, 0.0, abs_tol=1e-12):
        return 0.0, 0.0, pnl
    if (new_position > 0) != (position > 0):  # flipped: the rest opens at this price
        return new_position, fill.price, pnl
    return new_position, avg, pnl


def realised_pnl(fills: Iterable[Fill], *, since: float) -> float:
    """Realised PnL (quote) of fills at or after ``since``, cost basis from all earlier fills.

    Fills are processed in time order; a loss is negative. Fees of fills since ``since`` are
    subtracted.
    """
    books: dict[tuple[str, str], tuple[float, float]] = {}
    total = 0.0
    for fill in sorted(fills, key=lambda f: f.timestamp):
        key = (fill.account, fill.symbol)
        position, avg = books.get(key, (0.0, 0.0))
        position, avg, pnl = _apply(position, avg, fill)
        books[key] = (position, avg)
        if fill.timestamp >= since:
            total += pnl - fill.fee_quote
    return total


def compact(fills: Sequence[Fill], *, before: float) -> list[Fill]:
    """Replace fills older than ``before`` by one synthetic fill per still-open position.

    ``realised_pnl(compact(f, before=t), since=s) == realised_pnl(f, since=s)`` for ``s >= t``:
    old fills matter only through the position and average cost they leave behind.
    """
    books: dict[tuple[str, str], tuple[float, float]] = {}
    old = sorted((f for f in fills if f.timestamp < before), key=lambda f: f.timestamp)
    for fill in old:
        key = (fill.account, fill.symbol)
        position, avg = books.get(key, (0.0, 0.0))
        position, avg, _ = _apply(position, avg, fill)
        books[key] = (position, avg)
    synthetic = [
        Fill(
            timestamp=before - 1e-3,
            account=account,
            symbol=symbol,
            side="buy" if position > 0 else "sell",
            amount=abs(position),
            price=avg,
            client_order_id="compacted",
        )
        for (account, symbol), (position, avg) in sorted(books.items())
        if position != 0
    ]
    return synthetic + [f for f in fills if f.timestamp >= before]


def fill_key(fill: Fill) -> str:
    """The ledger key of a fill: its client order id (synthetic fills: one per account and
    symbol; a fill without a client id: its own values)."""
    if fill.client_order_id == "compacted":
        return f"compacted:{fill.account}:{fill.symbol}"
    if fill.client_order_id:
        return fill.client_order_id
    return f"{fill.account}:{fill.symbol}:{fill.timestamp!r}:{fill.side}:{fill.amount!r}"
