"""USD-M account settings as Binance applies them: leverage per symbol, margin type per symbol,
position mode (one-way / hedge) for the whole USD-M account, each refused as Binance refuses it.

- leverage (``POST /fapi/v1/leverage``): 1..the symbol's bracket maximum (125), else -4028;
  with a position: lowered under isolated margin -4161, a notional above the new leverage's cap
  -2027, a margin the account cannot hold at the new leverage -2028;
- margin type (``POST /fapi/v1/marginType``): unchanged -4046 (ccxt raises
  ``MarginModeAlreadySet`` unless ``options.setMarginMode.throwMarginModeAlreadySet`` is
  False), with a position -4048, with open orders -4047;
- position mode (``POST /fapi/v1/positionSide/dual``): unchanged -4059, with a position on any
  symbol -4068, with open orders on any symbol -4067.
"""

from __future__ import annotations

from fks_fake_exchange.decimals import ZERO
from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.futures import FuturesEngine
from fks_fake_exchange.futures_records import max_notional

MAX_LEVERAGE = 125
MARGIN_TYPES = ("ISOLATED", "CROSSED")


def set_leverage(engine: FuturesEngine, symbol: str, leverage: int) -> None:
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise ApiError(-4028, f"Leverage {leverage} is not valid")
    current = engine.leverage[symbol]
    positions = [p for p in engine.symbol_positions(symbol) if p.qty != 0]
    if positions:
        if symbol in engine.isolated and leverage < current:
            raise ApiError(
                -4161,
                "Leverage reduction is not supported in Isolated Margin Mode with open positions",
            )
        price = engine.price_of(symbol)
        if any(abs(p.qty) * price > max_notional(leverage) for p in positions):
            raise ApiError(-2027, "Exceeded the maximum allowable position at current leverage.")
        held = engine.position_margin(symbol)
        needed = sum((abs(p.qty) * price for p in positions), ZERO) / leverage
        if needed - held > engine.available(engine.markets[symbol].quote):
            raise ApiError(-2028, "Leverage is smaller than permitted: insufficient margin balance")
    engine.leverage[symbol] = leverage


def set_margin_type(engine: FuturesEngine, symbol: str, margin_type: str) -> None:
    if margin_type not in MARGIN_TYPES:
        raise ApiError(-1130, "Data sent for parameter 'marginType' is not valid.")
    if (margin_type == "ISOLATED") == (symbol in engine.isolated):
        raise ApiError(-4046, "No need to change margin type.")
    if engine.has_position(symbol):
        raise ApiError(-4048, "Margin type cannot be changed if there exists position.")
    if engine.has_open_orders(symbol):
        raise ApiError(-4047, "Margin type cannot be changed if there exists open orders.")
    if margin_type == "ISOLATED":
        engine.isolated.add(symbol)
    else:
        engine.isolated.discard(symbol)


def is_dual(engine: FuturesEngine) -> bool:
    """Binance's position mode is one setting for every USD-M symbol."""
    return bool(engine.markets) and engine.hedged == set(engine.markets)


def set_dual(engine: FuturesEngine, dual: bool) -> None:
    if dual == is_dual(engine):
        raise ApiError(-4059, "No need to change position side.")
    if engine.has_position():
        raise ApiError(-4068, "Position side cannot be changed if there exists position.")
    if engine.has_open_orders():
        raise ApiError(-4067, "Position side cannot be changed if there exists open orders.")
    engine.hedged = set(engine.markets) if dual else set()
