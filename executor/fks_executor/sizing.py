"""Position sizing: how much to buy or sell for one signal. Pure: no I/O, no clock.

The four methods (``risk.sizing.method``) and the two explicit overrides::

    risk            amount = balance * riskPerTrade / |entry - stop_loss|
    volatility      amount = balance * riskPerTrade / (atr * atrMultiplier)
    fixed-percent   notional = balance * percent
    fixed-notional  notional = notionalUSD
    amount          (payload) the base amount as sent
    size_usd        (payload) the notional as sent

Whatever the method, the result is then capped, in this order, by ``maxOrderSizeUSD`` (one
order) and ``maxPositionSizeUSD`` (the position after the order). The worked example from the
docs: balance 10,000, riskPerTrade 2 %, entry 68,000, stop 67,000 -> 200 USD at risk over a
1,000 USD stop distance -> 0.2 BTC = 13,600 USD, capped by maxPositionSizeUSD 1,000 to
1,000 USD (0.0147 BTC).

``risk`` without a ``stop_loss`` is refused (``invalid_payload`` naming ``stop_loss``) rather than
silently sized another way: the method is defined by the stop distance, and guessing one would
risk an amount the trader never chose. ``volatility`` needs an ATR: the payload's ``atr`` or one
computed from candles by :func:`atr` (the caller fetches them).

Balances and notionals are in the market's quote currency, which the docs and the config call
USD (USDT/USDC/BUSD/USD markets); no FX conversion is made for other quotes.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from fks_executor.errors import InvalidPayload, RiskLimit

__all__ = [
    "Candle",
    "SizeDecision",
    "SizingMethod",
    "SizingRules",
    "atr",
    "size_position",
]


class SizingMethod(enum.StrEnum):
    RISK = "risk"
    FIXED_PERCENT = "fixed-percent"
    FIXED_NOTIONAL = "fixed-notional"
    VOLATILITY = "volatility"


@dataclass(frozen=True, slots=True)
class SizingRules:
    """The sizing part of ``risk:`` in the executor config (validated there)."""

    method: SizingMethod = SizingMethod.RISK
    risk_per_trade: float = 0.02
    """risk / volatility: fraction of the balance lost if the stop is hit."""
    percent: float = 0.05
    """fixed-percent: fraction of the balance per order."""
    notional_usd: float = 100.0
    """fixed-notional: quote amount per order."""
    atr_multiplier: float = 2.0
    """volatility: the stop distance is ``atr * atr_multiplier``."""
    max_position_size_usd: float = 1000.0
    """Cap on the position (in the order's direction) after the order."""
    max_order_size_usd: float = 10000.0
    """Cap on one order's notional."""


@dataclass(frozen=True, slots=True)
class SizeDecision:
    """The size of one order, and how it was reached (for the audit trail)."""

    amount: float
    """Base amount, before the market's precision (the order plan applies it)."""
    notional_usd: float
    """``amount * price``."""
    price: float
    """The reference price the notional was computed at."""
    method: str
    """A :class:`SizingMethod` value, or ``amount`` / ``size_usd`` for explicit overrides."""
    uncapped_notional_usd: float
    capped_by: str | None = None
    """``maxOrderSizeUSD`` or ``maxPositionSizeUSD`` when a cap reduced the size."""


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar (``timestamp`` in ms, as ccxt reports it)."""

    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


def atr(candles: Sequence[Candle], period: int = 14) -> float:
    """Average True Range with Wilder's smoothing over ``candles`` (oldest first).

    TR = max(high - low, |high - prev_close|, |low - prev_close|); the first ATR is the mean of
    the first ``period`` true ranges (starting at the second candle), then
    ``ATR = (ATR_prev * (period - 1) + TR) / period``. Needs ``period + 1`` candles.
    """
    if period < 1:
        raise ValueError("period must be >= 1")
    if len(candles) < period + 1:
        raise ValueError(f"ATR({period}) needs {period + 1} candles, got {len(candles)}")
    trs: list[float] = []
    for prev, cur in itertools.pairwise(candles):
        trs.append(max(cur.high - cur.low, abs(cur.high - prev.close), abs(cur.low - prev.close)))
    value = sum(trs[:period]) / period
    for tr in trs[period:]:
        value = (value * (period - 1) + tr) / period
    return value


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise InvalidPayload(f"{name}: must be a number > 0")
    return value


def size_position(
    *,
    rules: SizingRules,
    side: str,
    price: float,
    balance_usd: float,
    position_base: float = 0.0,
    stop_loss: float | None = None,
    atr_value: float | None = None,
    amount: float | None = None,
    size_usd: float | None = None,
) -> SizeDecision:
    """Size one entry order.

    ``side`` is ``buy`` or ``sell``; ``price`` the entry (limit) or reference (ticker) price;
    ``balance_usd`` the free quote balance (``paperBalanceUSD`` in dry-run);
    ``position_base`` the current signed position in base units (long > 0), which the
    ``maxPositionSizeUSD`` cap is measured against: a buy may take the position up to
    ``+max``, a sell down to ``-max`` (so reducing orders are never limited by it).

    Raises ``InvalidPayload`` (the field is named) when the method lacks an input it needs,
    and ``RiskLimit`` when the position cap leaves no room at all.
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be buy or sell, not {side!r}")
    if not math.isfinite(price) or price <= 0:
        raise InvalidPayload("price: no usable reference price (must be > 0)")
    stop_loss = _positive("stop_loss", stop_loss)
    atr_value = _positive("atr", atr_value)
    amount = _positive("amount", amount)
    size_usd = _positive("size_usd", size_usd)

    method: str
    if amount is not None:
        method, base = "amount", amount
    elif size_usd is not None:
        method, base = "size_usd", size_usd / price
    else:
        method = rules.method.value
        base = _size_by_method(rules, side, price, balance_usd, stop_loss, atr_value)

    uncapped = base * price
    notional = uncapped
    capped_by: str | None = None
    if notional > rules.max_order_size_usd:
        notional, capped_by = rules.max_order_size_usd, "maxOrderSizeUSD"
    signed_position_usd = position_base * price
    room = (
        rules.max_position_size_usd - signed_position_usd
        if side == "buy"
        else rules.max_position_size_usd + signed_position_usd
    )
    if room <= 0:
        raise RiskLimit(
            f"maxPositionSizeUSD reached: the position on this side is at the limit "
            f"({rules.max_position_size_usd:g} USD)"
        )
    if notional > room:
        notional, capped_by = room, "maxPositionSizeUSD"
    return SizeDecision(
        amount=notional / price,
        notional_usd=notional,
        price=price,
        method=method,
        uncapped_notional_usd=uncapped,
        capped_by=capped_by,
    )


def _size_by_method(
    rules: SizingRules,
    side: str,
    price: float,
    balance_usd: float,
    stop_loss: float | None,
    atr_value: float | None,
) -> float:
    needs_balance = rules.method is not SizingMethod.FIXED_NOTIONAL
    if needs_balance and (not math.isfinite(balance_usd) or balance_usd <= 0):
        raise RiskLimit(f"no free balance to size from ({balance_usd:g})")
    if rules.method is SizingMethod.RISK:
        if stop_loss is None:
            raise InvalidPayload(
                "stop_loss: required by sizing method 'risk' (the stop distance defines the "
                "size); send stop_loss, or amount/size_usd, or use another method"
            )
        if side == "buy" and stop_loss >= price:
            raise InvalidPayload("stop_loss: must be below the entry price for a buy")
        if side == "sell" and stop_loss <= price:
            raise InvalidPayload("stop_loss: must be above the entry price for a sell")
        return balance_usd * rules.risk_per_trade / abs(price - stop_loss)
    if rules.method is SizingMethod.VOLATILITY:
        if atr_value is None:
            raise InvalidPayload("atr: required by sizing method 'volatility' and not computable")
        return balance_usd * rules.risk_per_trade / (atr_value * rules.atr_multiplier)
    if rules.method is SizingMethod.FIXED_PERCENT:
        return balance_usd * rules.percent / price
    return rules.notional_usd / price
