"""Decimal helpers: Binance sends and expects numbers as decimal strings, never floats."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
EIGHT_PLACES = Decimal("0.00000001")

# Binance's rule for decimal parameters ("Illegal characters found in parameter ...").
DECIMAL_PATTERN = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)


def parse_decimal(text: str) -> Decimal | None:
    """The value of a Binance decimal parameter, or None if it is not one (no sign, no exponent)."""
    if not _DECIMAL_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        return None


def to_decimal(value: object) -> Decimal:
    """A Decimal from a config or control-API value (str, int, float via its str form)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return result
    raise ValueError(f"not a number: {value!r}")


def fmt8(value: Decimal) -> str:
    """Spot style: always eight decimals ("0.00100000")."""
    return format(value.quantize(EIGHT_PLACES, rounding=ROUND_HALF_UP), "f")


def fmt_plain(value: Decimal) -> str:
    """Futures style: the shortest plain form ("0.001", "68000")."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def fmt_places(value: Decimal, places: int) -> str:
    """A fixed number of decimals (futures prices and quantities use the symbol's precision)."""
    quantum = Decimal(1).scaleb(-places)
    return format(value.quantize(quantum, rounding=ROUND_HALF_UP), "f")


def decimals_of(step: Decimal) -> int:
    """How many decimals a step or tick size has (0.001 -> 3, 1 -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def on_grid(value: Decimal, base: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is ``base`` plus a whole number of ``step`` (step 0: no check)."""
    if step == 0:
        return True
    return (value - base) % step == 0


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` not above ``value`` (a step of 0 leaves it unchanged)."""
    if step == 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def round_commission(value: Decimal) -> Decimal:
    return value.quantize(EIGHT_PLACES, rounding=ROUND_HALF_UP)
