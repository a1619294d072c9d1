"""Risk rules checked before an order is planned (pure functions).

- ``allowedSymbols``: compared on *resolved* market symbols, so ``BINANCE:BTCUSDT``,
  ``BTCUSDT`` and ``BTC/USDT`` in the config all allow the same market (the caller resolves
  both sides through the loaded markets; see :func:`check_symbol_allowed`).
- ``dailyLossLimitUSD``: the realised loss since 00:00 UTC from this pipeline's own fills
  (:func:`fks_executor.fills.realised_pnl` over the fills ledger, ``fks_executor.state``).
  Once the loss reaches the limit, new entries are refused (``risk_limit``); ``close`` is
  always allowed, since it can only reduce exposure.
- ``maxPositionSizeUSD``: enforced by sizing against the current position
  (:func:`fks_executor.sizing.size_position`), which refuses with ``risk_limit`` when there is
  no room left.
"""

from __future__ import annotations

from collections.abc import Iterable

from fks_executor.errors import RiskLimit, SymbolNotAllowed

# The fills and their ledgers, under the names the exchange layer imports them by.
from fks_executor.fills import Fill, realised_pnl, utc_day_start
from fks_executor.state.ledgers import FillsLedger, MemoryFillsLedger

__all__ = [
    "Fill",
    "FillsLedger",
    "MemoryFillsLedger",
    "check_daily_loss",
    "check_symbol_allowed",
]


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
        raise SymbolNotAllowed("symbol: not in allowedSymbols")
