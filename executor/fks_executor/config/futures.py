"""``spec.futures`` of an ExchangeAccount: the leverage, margin mode and position mode the
executor applies per symbol before the symbol's first order (docs/trading.md#futures-settings).
A setting left unset is not touched: the venue's current value stays."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from fks_executor.config.types import ContractModel, CrdSchema

__all__ = ["FUTURES_RULE", "FuturesSettings", "Leverage"]

Leverage = Annotated[int, Field(ge=1, le=125)]

#: The CEL rule (and its Python twin on ``Venue``): futures settings need a contract market.
FUTURES_RULE = {
    "rule": "!has(self.futures) || (has(self.marketType) && "
    "(self.marketType == 'future' || self.marketType == 'swap'))",
    "message": "futures settings need marketType future or swap",
    "fieldPath": ".futures",
}


class FuturesSettings(ContractModel):
    """Leverage, margin mode and position mode of a futures account (marketType future or
    swap only). Each is applied per symbol before the symbol's first order and verified; the
    executor never changes one under an open position (it reports the conflict instead)."""

    leverage: Leverage | None = None
    """Leverage for every symbol (1..125). Unset: the venue's current leverage stays."""
    leverage_by_symbol: dict[str, Leverage] = Field(default_factory=dict, max_length=256)
    """Leverage for given unified symbols (e.g. ``BTC/USDT:USDT``), over ``leverage``."""
    margin_mode: Annotated[Literal["isolated", "cross"], CrdSchema(maxLength=8)] | None = None
    """isolated or cross. Unset: the venue's current margin mode stays."""
    position_mode: Annotated[Literal["oneway", "hedge"], CrdSchema(maxLength=8)] | None = None
    """oneway (one position per symbol) or hedge (a long and a short position per symbol;
    orders carry the position side, and ``close`` closes the side the alert names). Unset:
    the venue's current position mode stays."""

    @field_validator("leverage_by_symbol")
    @classmethod
    def _symbols(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 < len(symbol) <= 64 for symbol in value):
            raise ValueError("holds a symbol that is empty or longer than 64 characters")
        return value

    def leverage_for(self, symbol: str) -> int | None:
        """The leverage to apply for ``symbol`` (unified), or None to leave it."""
        return self.leverage_by_symbol.get(symbol, self.leverage)
