"""Several exits: take-profit targets and a trailing stop, planned without I/O.

docs/trading.md#several-exits. :func:`with_exits` turns an entry plan whose alert carries
``take_profits`` and/or ``trailing_stop`` (with or without ``stop_loss``) into the plan's
protective legs, all placed as separate orders after the entry fills (never attached, never
an OCO list); :func:`size_legs` sizes them again on what actually filled.

Targets (``take_profits: [{price, percent}]``):

- ordered by distance from the entry (nearest first: ``t0``, ``t1``...), each a take-profit for
  ``percent`` of the position, truncated to the market's amount step;
- a target whose amount is below the market's minimum amount or cost merges into the next
  (further) target: its percent is added to the next one's; a too-small tail (the last
  targets) merges into the last target that stands on its own; when even all of them
  together are too small, the alert is refused ``below_minimum`` before anything is sent;
- the amounts add up exactly to the position share (``sum(percent)`` of the position,
  truncated to the step): the last target takes the rounding remainder.

The trailing stop follows ccxt's ``features`` of the account's market type
(:attr:`Capabilities.trailing`): ``percent`` venues (Binance USD-M, ``callbackRate``) take
``trailing_stop.percent`` (an ``amount`` is refused: no conversion is guessed); ``amount``
venues (Bybit contracts, a price distance) take ``trailing_stop.amount``, and a ``percent``
is converted to a distance at the entry's price (the limit price, else the ticker price the
alert was planned with), rounded to the tick. Elsewhere (spot) the alert is refused
``invalid_order`` before anything is sent.

Spot locks the balance of every resting sell order: targets that add up to at most the
position fit, but not together with a stop-loss or a trailing stop (refused there).
Contracts: every exit is reduce-only and, in hedge position mode, carries its position side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from fks_executor.domain import Signal, TakeProfit, TrailingStop
from fks_executor.errors import BelowMinimum, InvalidOrder, InvalidPayload
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.exchange.markets import (
    MarketInfo,
    amount_to_precision,
    check_limits,
    price_to_precision,
)
from fks_executor.exchange.plan import (
    DEFAULT_STOP_LIMIT_SLIPPAGE,
    OrderLeg,
    OrderPlan,
    _protective_leg,
)
from fks_executor.exchange.quirks import Capabilities

__all__ = ["has_several_exits", "size_legs", "split_targets", "with_exits"]


def has_several_exits(signal: Signal) -> bool:
    return bool(signal.take_profits) or signal.trailing_stop is not None


def split_targets(
    market: MarketInfo, total: float, targets: list[tuple[float, float]]
) -> list[tuple[int, float, float]]:
    """``targets``: (price, percent) nearest the entry first. Returns (index, amount, percent)
    of the targets that stand, after merging the too-small ones (module docstring); the amounts
    add up to ``sum(percent)`` of ``total`` truncated to the step. ``BelowMinimum`` when no
    target can stand, even with all the others merged into it."""
    percent_sum = sum(p for _, p in targets)
    kept: list[list[float]] = []  # [index, percent]
    pending = 0.0
    for index, (price, percent) in enumerate(targets):
        percent += pending
        if _fits(market, _part(market, total, percent), price):
            kept.append([index, percent])
            pending = 0.0
        else:
            pending = percent
    if pending:
        if not kept:
            what = "the take_profits targets together" if len(targets) > 1 else "take_profits"
            raise BelowMinimum(
                f"{what}: below the minimum amount or cost of {market.symbol} "
                "(the targets are refused before the entry is sent)"
            )
        kept[-1][1] += pending
    share = Decimal(str(_part(market, total, percent_sum)))
    out: list[tuple[int, float, float]] = []
    placed = Decimal(0)
    for n, (position, percent) in enumerate(kept):
        if n < len(kept) - 1:
            part = _part(market, total, percent)
            placed += Decimal(str(part))
        else:
            part = float(share - placed)  # the rounding remainder goes to the last target
        out.append((int(position), part, percent))
    return out


def _part(market: MarketInfo, total: float, percent: float) -> float:
    if percent >= 100 - 1e-9:
        return amount_to_precision(market, total)
    return amount_to_precision(market, total * percent / 100)


def _fits(market: MarketInfo, amount: float, price: float) -> bool:
    try:
        check_limits(market, amount, price)
    except BelowMinimum:
        return False
    return True


class VenueLike(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...
    @property
    def exchange_id(self) -> str: ...


def with_exits(
    plan: OrderPlan,
    signal: Signal,
    market: MarketInfo,
    venue: VenueLike,
    *,
    hedged: bool = False,
    slippage: float = DEFAULT_STOP_LIMIT_SLIPPAGE,
) -> OrderPlan:
    """``plan`` (from ``plan_entry``) with the alert's several exits as its protective legs.
    A plan without ``take_profits``/``trailing_stop`` comes back unchanged, except that in
    hedge mode its separate legs carry the position side."""
    caps, exchange = venue.capabilities, venue.exchange_id
    if not has_several_exits(signal):
        if hedged and plan.protective and not plan.attached:
            sided = tuple(dataclasses.replace(leg, hedged=True) for leg in plan.protective)
            return dataclasses.replace(plan, protective=sided)
        return plan
    entry = plan.entry
    assert entry.amount is not None
    side = "sell" if entry.side == "buy" else "buy"
    price = plan.reference_price
    if (
        not market.contract
        and signal.take_profits
        and (signal.stop_loss is not None or signal.trailing_stop is not None)
    ):
        raise InvalidOrder(
            f"take_profits: on spot every resting sell locks its coins, so targets cannot rest "
            f"together with a stop_loss or trailing_stop on {market.symbol}; send one or the other"
        )

    def cid(leg: Leg) -> str:
        return client_order_id(plan.pipeline, plan.account, plan.signal_id, leg)

    def protective(leg: Leg, trigger: float) -> OrderLeg:
        return _protective_leg(
            leg,
            trigger,
            side=side,
            amount=entry.amount or 0.0,
            market=market,
            attach=False,
            caps=caps,
            exchange=exchange,
            cid=cid(leg),
            slippage=slippage,
        )

    legs: list[OrderLeg] = []
    if signal.stop_loss is not None:
        legs.append(protective(Leg.STOP_LOSS, signal.stop_loss))
    if signal.take_profit is not None:
        legs.append(protective(Leg.TAKE_PROFIT, signal.take_profit))
    if signal.take_profits:
        template = protective(Leg.TAKE_PROFIT, signal.take_profits[0].price)
        legs.extend(_targets(signal.take_profits, template, market, entry.amount, price, cid))
    if signal.trailing_stop is not None:
        trail = signal.trailing_stop
        legs.append(_trailing(trail, side, price, market, caps, exchange, entry.amount, cid))
    notes = plan.notes
    if entry.type == "limit" and not notes:
        notes = ("protective legs are placed only once the limit entry has filled",)
    return dataclasses.replace(
        plan,
        # ``hedged``: the venue's mode the entry was planned with (FuturesState.hedged), never
        # the config's; a leg already sided stays sided
        protective=tuple(dataclasses.replace(leg, hedged=hedged or leg.hedged) for leg in legs),
        attached=False,
        oco_list_id=None,
        notes=notes,
    )


def _targets(
    targets: tuple[TakeProfit, ...],
    template: OrderLeg,
    market: MarketInfo,
    amount: float,
    price: float,
    cid: Callable[[Leg], str],
) -> list[OrderLeg]:
    above = template.side == "sell"  # the exits of a long sell above the entry
    for target in targets:
        if target.price <= price if above else target.price >= price:
            where = "above" if above else "below"
            raise InvalidPayload(f"take_profits: every price must be {where} the entry price")
    ordered = sorted(targets, key=lambda t: abs(t.price - price))
    prices = [price_to_precision(market, t.price) for t in ordered]
    if any(p <= 0 for p in prices):
        raise InvalidPayload(f"take_profits: a price rounds to 0 on {market.symbol}")
    pairs = [(p, t.percent) for p, t in zip(prices, ordered, strict=True)]
    split = split_targets(market, amount, pairs)
    legs: list[OrderLeg] = []
    for index, part, percent in split:
        trigger = prices[index]
        limit = trigger if template.type == "limit" else None
        leg = Leg.target_leg(len(legs))
        legs.append(
            dataclasses.replace(
                template,
                leg=leg,
                client_order_id=cid(leg),
                amount=part,
                price=limit,
                trigger_price=trigger,
                share=percent,
            )
        )
    return legs


def _trailing(
    trail: TrailingStop,
    side: str,
    price: float,
    market: MarketInfo,
    caps: Capabilities,
    exchange: str,
    amount: float,
    cid: Callable[[Leg], str],
) -> OrderLeg:
    if caps.trailing is None or not market.contract:
        raise InvalidOrder(
            f"trailing_stop: {exchange} has no trailing stop on {market.symbol} "
            f"({'spot' if not market.contract else market.type} markets); nothing was sent"
        )
    activation = trail.activation_price
    if activation is not None:
        activation = price_to_precision(market, activation)
        if activation <= price if side == "sell" else activation >= price:
            where = "above" if side == "sell" else "below"
            raise InvalidPayload(f"trailing_stop.activation_price: must be {where} the entry price")
    percent, distance = trail.percent, trail.amount
    if caps.trailing == "percent":
        if percent is None:
            raise InvalidOrder(
                f"trailing_stop.amount: {exchange} trails by a percent of the price on "
                f"{market.symbol}; give trailing_stop.percent"
            )
        bounds = caps.trailing_percent_range
        if bounds is not None and not bounds[0] <= percent <= bounds[1]:
            raise InvalidOrder(
                f"trailing_stop.percent: {exchange} takes {bounds[0]:g} to {bounds[1]:g} "
                f"on {market.symbol}"
            )
    else:
        if distance is None:
            assert percent is not None
            distance = price * percent / 100  # a percent of the entry's price
        distance = price_to_precision(market, distance)
        if distance <= 0:
            raise InvalidPayload(f"trailing_stop: the distance rounds to 0 on {market.symbol}")
        percent = None
    return OrderLeg(
        Leg.TRAILING_STOP,
        cid(Leg.TRAILING_STOP),
        side,
        "market",
        amount,
        trigger_price=activation if activation is not None else price,
        reduce_only=True,
        trail_percent=percent,
        trail_amount=distance,
        activation_price=activation,
    )


def size_legs(
    market: MarketInfo, legs: tuple[OrderLeg, ...], amount: float
) -> tuple[list[OrderLeg], list[tuple[OrderLeg, BelowMinimum]]]:
    """The protective ``legs`` sized on the ``amount`` that filled: a stop-loss, a single
    take-profit and a trailing stop cover it all; the targets split it again by their
    shares (merging as planned). Returns the sized legs and the targets that cannot stand."""
    targets = [leg for leg in legs if leg.leg.target]
    sized = [dataclasses.replace(leg, amount=amount) for leg in legs if not leg.leg.target]
    if not targets:
        return sized, []
    pairs = [(leg.trigger_price or 0.0, leg.share or 0.0) for leg in targets]
    try:
        split = split_targets(market, amount, pairs)
    except BelowMinimum as exc:
        return sized, [(leg, exc) for leg in targets]
    sized.extend(
        dataclasses.replace(targets[index], amount=part, share=percent)
        for index, part, percent in split
    )
    return sized, []
