"""Target position: (real position, alert, market) -> the orders that close the gap. Pure.

In ``execution.mode: target-position`` an alert states where the position should be
(``position``: long, short or flat; TradingView's ``{{strategy.market_position}}``), and
:func:`gap` compares it with the real position (read by the caller: the contract position at
the venue, or on spot what this pipeline bought and has not sold). The answer is a short list
of :class:`Step` s, in the order they are sent (docs/trading.md#target-position):

==========================  =====================================================
real -> target              steps
==========================  =====================================================
flat -> flat                none ("already flat")
long -> long                none, or a partial reduce (below)
flat -> long                ENTER buy, sized by the pipeline's rules
long -> flat                CLOSE (reduce-only, the whole position)
long -> short               CLOSE, then ENTER sell (only once the close filled)
==========================  =====================================================

(and the mirror images). A position too small to be traded (below the market's amount step,
minimum amount or minimum cost: dust left by fees) counts as flat.

Partial reduce: when ``position_size`` is below ``prev_position_size`` on the same side, the
real position is reduced by the same fraction, ``(prev - size) / prev`` of it, through the
market's amount step. A reduce that truncates below the market's minimum sends nothing; one
that would leave less than the minimum closes the whole position instead (a rest that can no
longer be traded would be stranded). A strategy size that grows is not followed: the position
was sized once, by the pipeline's rules, and a repeated alert must never add to it.

Sizing an entry needs the balance and prices (I/O): an ``ENTER`` step carries only its side,
and the caller plans it like any entry (``plan.plan_entry``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fks_executor.domain import Action, OrderType, Position, Signal
from fks_executor.errors import InvalidOrder, InvalidPayload
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.markets import MarketInfo, amount_to_precision

__all__ = [
    "TARGET_POSITION",
    "Gap",
    "Step",
    "StepKind",
    "check_close_side",
    "check_fields",
    "gap",
    "tradable",
]

TARGET_POSITION = "target-position"


class StepKind(enum.StrEnum):
    CLOSE = "close"
    """The whole position, reduce-only (spot: a sell of what this pipeline holds)."""
    REDUCE = "reduce"
    """Part of the position, reduce-only."""
    ENTER = "enter"
    """A new position, sized by the pipeline's rules."""

    @property
    def leg(self) -> Leg:
        """The client order id leg: ``cl`` for what reduces, ``en`` for what opens. A signal
        has at most one of each, so a resumed signal finds each of its orders by its id."""
        return Leg.ENTRY if self is StepKind.ENTER else Leg.CLOSE


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    side: str  # buy | sell
    amount: float | None = None
    """CLOSE / REDUCE: in the market's amount unit (contracts on contract markets), after
    precision. ENTER: None (sized when it is planned)."""


@dataclass(frozen=True, slots=True)
class Gap:
    steps: tuple[Step, ...]
    detail: str
    """What was found and what is done about it (for the answer's ``detail``)."""


def check_fields(signal: Signal, mode: str) -> None:
    """Refuse the target-position fields outside that mode, and an alert of that mode that
    lacks ``position`` or asks for what it cannot do."""
    if mode != TARGET_POSITION:
        for name in ("position", "position_size", "prev_position_size"):
            # a close's position names the side it closes in hedge mode (futures.py)
            side = name == "position" and signal.action is Action.CLOSE
            if getattr(signal, name) is not None and not side:
                raise InvalidOrder(
                    f"{name}: is for execution.mode target-position (this pipeline's mode "
                    "is orders: each alert is an order)"
                )
        return
    if signal.position is None:
        raise InvalidPayload(
            "position: required in execution.mode target-position (long, short or flat)"
        )
    if signal.order_type is OrderType.LIMIT:
        raise InvalidPayload(
            "order_type: execution.mode target-position sends market orders only (a close "
            "must fill before the entry that follows it)"
        )
    size, prev = signal.position_size, signal.prev_position_size
    if signal.position is not Position.FLAT and size == 0 and prev is not None:
        raise InvalidPayload(
            "position_size: 0 with position long or short; send position flat to close"
        )


def check_close_side(position: Position | None, held: float, symbol: str) -> None:
    """A ``close`` in one-way mode whose ``position`` names a side (orders mode): the open
    position (signed, ``held``) must be on that side, else nothing is sent. Flat: the close
    answers "nothing to close" on its own (docs/trading.md#futures-settings)."""
    if position not in (Position.LONG, Position.SHORT) or held == 0:
        return
    if (held > 0) != (position is Position.LONG):
        actual = "long" if held > 0 else "short"
        raise InvalidOrder(
            f"position: the close names the other side; the open position on {symbol} is "
            f"{actual} (one-way mode, nothing was sent)"
        )


def tradable(market: MarketInfo, amount: float, price: float) -> bool:
    """``amount`` (market units, after precision) is above 0 and the market's minimums."""
    if amount <= 0:
        return False
    if market.min_amount is not None and amount < market.min_amount:
        return False
    cost = amount * price * (market.contract_size if market.contract else 1.0)
    return market.min_cost is None or cost >= market.min_cost


def _side(position: Position) -> str:
    return "buy" if position is Position.LONG else "sell"


def _shrink(signal: Signal) -> float | None:
    """The fraction of the position to reduce (None: no reduce asked)."""
    size, prev = signal.position_size, signal.prev_position_size
    if size is None or prev is None or prev <= 0 or size >= prev:
        return None
    return (prev - size) / prev


def gap(*, real: float, signal: Signal, market: MarketInfo, price: float) -> Gap:
    """The steps from ``real`` (the signed position in base units: long > 0, short < 0) to
    where ``signal.position`` says it should be; ``price`` judges the market's minimum cost."""
    target = signal.position
    if target is None:
        raise InvalidPayload("position: required in execution.mode target-position")
    where = market.symbol
    if not market.contract and target is Position.SHORT:
        raise InvalidOrder(
            f"position: short is not possible on spot ({where} has no short selling); "
            "use a contract account (marketType swap or future)"
        )
    size = market.contract_size if market.contract else 1.0
    held = amount_to_precision(market, abs(real) / size)
    if not tradable(market, held, price):
        current = Position.FLAT
    else:
        current = Position.LONG if real > 0 else Position.SHORT
    closing = "sell" if current is Position.LONG else "buy"
    if target is current:
        if target is Position.FLAT:
            return Gap((), f"already flat on {where}: nothing to send")
        return _same_side(signal, market, held, price, closing)
    if target is Position.FLAT:
        return Gap((Step(StepKind.CLOSE, closing, held),), f"closing the {current} position")
    enter = Step(StepKind.ENTER, _side(target))
    if current is Position.FLAT:
        return Gap((enter,), f"opening a {target} position")
    return Gap(
        (Step(StepKind.CLOSE, closing, held), enter),
        f"flipping from {current} to {target}: the close first, the entry once it filled",
    )


def _same_side(signal: Signal, market: MarketInfo, held: float, price: float, closing: str) -> Gap:
    target = signal.position
    fraction = _shrink(signal)
    if fraction is None:
        return Gap((), f"already {target} on {market.symbol}: nothing to send")
    # 12 significant digits first: 0.03 x (1/3) is 0.00999.. in floats, 0.01 to the trader
    amount = amount_to_precision(market, float(f"{held * fraction:.12g}"))
    rest = amount_to_precision(market, held - amount)
    if not tradable(market, rest, price):
        return Gap(
            (Step(StepKind.CLOSE, closing, held),),
            f"reducing the {target} position as the strategy did: what would be left is below "
            f"the minimum of {market.symbol}, so all of it is closed",
        )
    if not tradable(market, amount, price):
        return Gap(
            (),
            f"reducing the {target} position as the strategy did is below the minimum of "
            f"{market.symbol}: nothing to send",
        )
    return Gap(
        (Step(StepKind.REDUCE, closing, amount),),
        f"reducing the {target} position by the fraction the strategy's size shrank",
    )
