"""Symbol forms alerts use. Pure functions.

TradingView and people write the same market many ways: ``BTC/USDT``, ``BTCUSDT``,
``BINANCE:BTCUSDT``, ``BTCUSDT.P`` (a perpetual), ccxt's ``BTC/USDT:USDT``. ``parse_symbol``
takes the form apart (intake refuses what is no symbol at all); ``guess_unified`` is the
markets-free best effort where no markets are loaded. Resolution against an exchange's loaded
markets is the exchange layer's (``fks_executor.exchange.markets.resolve_symbol``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["SymbolForm", "guess_unified", "parse_symbol"]

_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63}$")
_PERP_SUFFIXES = (".P", ".PERP", "PERP")
# Quote currencies tried longest first when a compact form (BTCUSDT) has to be split without
# markets.
_QUOTES = tuple(
    sorted(
        (
            "USDT", "USDC", "FDUSD", "TUSD", "BUSD", "USDP", "DAI", "USD", "EUR", "GBP",
            "TRY", "BRL", "JPY", "AUD", "BTC", "ETH", "BNB", "SOL",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SymbolForm:
    """One alert symbol taken apart. ``compact`` is upper-case without separators."""

    raw: str
    exchange: str | None  # "BINANCE" from "BINANCE:BTCUSDT"
    base: str | None  # known only from a separated form ("BTC/USDT")
    quote: str | None
    settle: str | None  # "USDT" from ccxt's "BTC/USDT:USDT"
    compact: str  # "BTCUSDT"
    perpetual: bool  # ".P" / "PERP" suffix or a settle currency


@functools.lru_cache(maxsize=4096)
def parse_symbol(raw: str) -> SymbolForm:
    """Take an alert's symbol apart; ``ValueError`` for something that is no symbol at all."""
    text = raw.strip()
    if not _VALID.match(text):
        raise ValueError("not a symbol (letters, digits and . _ : / - only, at most 64)")
    exchange: str | None = None
    settle: str | None = None
    upper = text.upper()
    if ":" in upper and "/" not in upper.split(":", 1)[0]:
        # "BINANCE:BTCUSDT" — a TradingView exchange prefix.
        exchange, upper = upper.split(":", 1)
    perpetual = False
    for suffix in _PERP_SUFFIXES:
        if upper.endswith(suffix) and len(upper) > len(suffix):
            upper = upper[: -len(suffix)]
            perpetual = True
            break
    base = quote = None
    if "/" in upper:
        pair, _, settle_part = upper.partition(":")
        base, _, quote = pair.partition("/")
        settle = settle_part.split("-", 1)[0] or None
        if settle:
            perpetual = True
        if not base or not quote:
            raise ValueError("not a symbol (expected BASE/QUOTE)")
    elif "-" in upper or "_" in upper:
        # "BTC-USDT" / "BTC_USDT" (other venues' ids)
        base, _, quote = upper.replace("_", "-").partition("-")
        if not base or not quote:
            raise ValueError("not a symbol (expected BASE-QUOTE)")
    compact = re.sub(r"[^A-Z0-9]", "", f"{base}{quote}" if base and quote else upper)
    if not compact:
        raise ValueError("not a symbol")
    return SymbolForm(
        raw=raw,
        exchange=exchange,
        base=base,
        quote=quote,
        settle=settle,
        compact=compact,
        perpetual=perpetual,
    )


@functools.lru_cache(maxsize=4096)
def guess_unified(raw: str) -> str:
    """``BTCUSDT`` -> ``BTC/USDT`` without markets (longest known quote suffix); else as is."""
    form = parse_symbol(raw)
    if form.base and form.quote:
        unified = f"{form.base}/{form.quote}"
    else:
        unified = form.compact
        for quote in _QUOTES:
            if form.compact.endswith(quote) and len(form.compact) > len(quote):
                unified = f"{form.compact[: -len(quote)]}/{quote}"
                break
    if form.perpetual and "/" in unified:
        unified = f"{unified}:{form.settle or unified.split('/', 1)[1]}"
    return unified
