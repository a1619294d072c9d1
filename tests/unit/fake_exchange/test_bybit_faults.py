"""The Bybit venue's fault answers: every reject preset has a Bybit retCode, and ccxt's bybit
driver (its own error table, no network) maps each to the class the Binance preset gives."""

from __future__ import annotations

import typing

import ccxt
import pytest

from fks_fake_exchange.faults import BYBIT_PRESETS, PRESETS, FaultBook, FaultSpec, RejectPreset

# what a client should see for each preset on Bybit (ccxt's class for the retCode)
EXPECTED: dict[str, type[Exception]] = {
    "insufficient_balance": ccxt.InsufficientFunds,
    "lot_size": ccxt.BadRequest,
    "price_filter": ccxt.BadRequest,
    "notional": ccxt.InvalidOrder,
    "duplicate_order": ccxt.InvalidOrder,
    "market_closed": ccxt.ExchangeError,
    "unknown_order": ccxt.OrderNotFound,
    "order_not_found": ccxt.OrderNotFound,
    "invalid_signature": ccxt.AuthenticationError,
    "invalid_api_key": ccxt.AuthenticationError,
    "timestamp": ccxt.InvalidNonce,
    "unknown_error": ccxt.ExchangeError,
    "margin_insufficient": ccxt.InsufficientFunds,
}


def test_every_preset_has_a_bybit_answer() -> None:
    assert set(BYBIT_PRESETS) == set(PRESETS) == set(typing.get_args(RejectPreset))
    assert set(EXPECTED) == set(PRESETS)


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_preset_maps_to_the_ccxt_class(preset: str) -> None:
    fault = FaultBook().add(FaultSpec(kind="reject", preset=preset))  # type: ignore[arg-type]
    error = fault.bybit_error()
    assert error.status == 200  # a refusal is a retCode in HTTP 200
    table = ccxt.bybit().exceptions["exact"]
    assert table[str(error.code)] is EXPECTED[preset]


def test_rate_limit_is_10006_with_bybits_headers() -> None:
    error = FaultBook().add(FaultSpec(kind="rate_limit", retryAfter=3)).bybit_error()
    assert (error.status, error.code) == (200, 10006)
    assert error.headers["X-Bapi-Limit-Status"] == "0"
    assert error.headers["Retry-After"] == "3"
    assert ccxt.bybit().exceptions["exact"]["10006"] is ccxt.RateLimitExceeded
