"""Risk rules checked before an order is planned. Pure functions plus one small ledger seam.

- ``allowedSymbols``: compared on *resolved* market symbols, so ``BINANCE:BTCUSDT``,
  ``BTCUSDT`` and ``BTC/USDT`` in the config all allow the same market (the caller resolves
  both sides through the loaded markets; see :func:`check_symbol_allowed`).
- ``dailyLossLimitUSD``: the realised loss since 00:00 UTC from this pipeline's own fills
  (:func:`realised_pnl` over the fills ledger). Once the loss reaches the limit, new entries are
  refused (``risk_limit``); ``close`` is always allowed, since it can only reduce exposure.
- ``maxPositionSizeUSD``: enforced by sizing against the current position
  (:func:`fks_executor.sizing.size_position`), which refuses with ``risk_limit`` when there is
  no room left.

Realised PnL uses average cost per symbol with a signed position (long > 0, short < 0): a fill
in the position's direction re-averages the cost; a fill against it realises
``closed * (price - avg) * sign(position)``; fees (quote) always count as a loss. Fills before
the day start still build the cost basis of what is sold today, so a ledger keeps either all
fills or, once compacted (:func:`compact`), one synthetic opening fill per open position.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from fks_executor.errors import RiskLimit, SymbolNotAllowed
from fks_executor.values import value

__all__ = [
    "Fill",
    "FillsLedger",
    "MemoryFillsLedger",
    "check_daily_loss",
    "check_symbol_allowed",
    "compact",
    "fill_key",
    "realised_pnl",
    "utc_day_start",
]


@value
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


class FillsLedger(Protocol):
    """Where this pipeline's fills are kept, and the protective legs still resting on the
    exchange whose fills are not seen yet (``legs``: client order id -> a JSON-ready
    description the exchange layer writes and reads back).

    Implementations: :class:`MemoryFillsLedger` (one process), ``SqliteFillsLedger`` (next to
    the journal: survives restarts) and ``RedisFillsLedger`` (shared by replicas), in
    ``fks_executor.ledgers``. A fill is keyed by its client order id, so recording the same
    order twice (a resumed signal finding its order) counts it once.
    """

    async def record(self, fill: Fill) -> None: ...

    async def fills(self) -> Sequence[Fill]: ...

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None: ...

    async def forget_leg(self, client_order_id: str) -> None: ...

    async def legs(self) -> dict[str, dict[str, Any]]: ...

    async def close(self) -> None: ...


def fill_key(fill: Fill) -> str:
    """The ledger key of a fill: its client order id (synthetic fills: one per account and
    symbol; a fill without a client id: its own values)."""
    if fill.client_order_id == "compacted":
        return f"compacted:{fill.account}:{fill.symbol}"
    if fill.client_order_id:
        return fill.client_order_id
    return f"{fill.account}:{fill.symbol}:{fill.timestamp!r}:{fill.side}:{fill.amount!r}"


class MemoryFillsLedger:
    """In-process ledger; compacts fills older than the current UTC day on each record."""

    def __init__(self) -> None:
        self._fills: dict[str, Fill] = {}
        self._legs: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()

    async def record(self, fill: Fill) -> None:
        async with self._lock:
            self._fills[fill_key(fill)] = fill
            day = utc_day_start(fill.timestamp)
            if any(f.timestamp < day for f in self._fills.values()):
                kept = compact(list(self._fills.values()), before=day)
                self._fills = {fill_key(f): f for f in kept}

    async def fills(self) -> Sequence[Fill]:
        async with self._lock:
            return tuple(self._fills.values())

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None:
        self._legs[client_order_id] = leg

    async def forget_leg(self, client_order_id: str) -> None:
        self._legs.pop(client_order_id, None)

    async def legs(self) -> dict[str, dict[str, Any]]:
        return dict(self._legs)

    async def close(self) -> None:
        return None


def check_daily_loss(fills: Iterable[Fill], *, limit_usd: float, now: float) -> None:
    """Refuse a new entry (``RiskLimit``) once today's realised loss reaches ``limit_usd``.

    ``limit_usd <= 0`` switches the rule off. Call it for entries only, never for ``close``.
    """
    if limit_usd <= 0:
        return
    loss = -realised_pnl(fills, since=utc_day_start(now))
    if loss >= limit_usd:
        raise RiskLimit(
            f"dailyLossLimitUSD reached: realised loss since 00:00 UTC is {loss:.2f} USD "
            f"(limit {limit_usd:g} USD); new entries are refused until 00:00 UTC, closes are "
            "still allowed"
        )


def check_symbol_allowed(symbol: str, allowed: Iterable[str]) -> None:
    """``symbol`` and ``allowed`` are resolved market symbols; an empty list allows any."""
    allowed_set = set(allowed)
    if allowed_set and symbol not in allowed_set:
        raise SymbolNotAllowed(
            f"symbol {symbol} is not in allowedSymbols ({', '.join(sorted(allowed_set))})"
        )
