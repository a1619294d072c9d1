"""The pure part of an account's futures settings (docs/trading.md#futures-settings), used by
``plan.py``: the margin check of an entry, and the per-side orders of a ``close`` in hedge mode.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from fks_executor.domain import Position, Signal
from fks_executor.errors import InsufficientFunds
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.exchange.markets import MarketInfo
from fks_executor.values import value

if TYPE_CHECKING:
    from fks_executor.exchange.plan import OrderLeg

__all__ = ["NO_FUTURES", "FuturesState", "check_margin", "hedge_closes"]


@value
class FuturesState:
    """What an entry on the symbol is planned with: the venue's leverage (margin check) and
    whether orders carry a position side (hedge mode)."""

    leverage: int | None = None
    hedged: bool = False


NO_FUTURES = FuturesState()
"""An account without ``spec.futures`` (or spot): no margin check, one-way."""


def check_margin(
    market: MarketInfo,
    side: str,
    base: float,
    price: float,
    leverage: int,
    *,
    free: float,
    position_base: float,
) -> None:
    """An entry whose margin (notional / leverage) exceeds the free collateral is refused
    before anything is sent. One-way mode: the part that only reduces an opposite position
    opens no margin (``position_base`` signed; 0 in hedge mode)."""
    opposite = max(0.0, -position_base if side == "buy" else position_base)
    margin = max(0.0, base - opposite) * price / leverage
    if margin > free:
        raise InsufficientFunds(
            f"the entry needs {margin:.2f} {market.quote} of margin at {leverage}x leverage, "
            f"more than the {free:.2f} {market.quote} free (nothing was sent)"
        )


def hedge_closes(
    entry: OrderLeg, signal: Signal, *, pipeline: str, account: str
) -> tuple[OrderLeg, ...]:
    """A ``close`` in hedge mode: one reduce-only order per side, for the side the alert's
    ``position`` names (long / short), else both; ``cl`` closes the long side (a sell), ``cs``
    the short side (a buy)."""
    named = {Position.LONG: ("long",), Position.SHORT: ("short",)}
    sides = named.get(signal.position, ("long", "short")) if signal.position else ("long", "short")
    return tuple(
        dataclasses.replace(
            entry,
            client_order_id=client_order_id(
                pipeline,
                account,
                signal.signal_id,
                Leg.CLOSE if side == "long" else Leg.CLOSE_SHORT,
            ),
            side="sell" if side == "long" else "buy",
            hedged=True,
        )
        for side in sides
    )
