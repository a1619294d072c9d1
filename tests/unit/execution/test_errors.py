"""ccxt errors -> executor errors (real ccxt exception classes, no I/O)."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from fks_executor.errors import (
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    SymbolNotAllowed,
)
from fks_executor.exchange.errors import (
    ExchangeAuthenticationFailed,
    Operation,
    is_temporary,
    sanitize,
    translate,
)

BODY = 'binance {"code":-2010,"msg":"Account has insufficient balance for requested action."}'


def tr(exc: BaseException, op: Operation = Operation.ORDER) -> object:
    return translate(exc, exchange="binance", operation=op)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt.InsufficientFunds(BODY), InsufficientFunds),
        (
            ccxt.InvalidOrder('binance {"code":-1013,"msg":"Filter failure: LOT_SIZE"}'),
            InvalidOrder,
        ),
        (ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'), InvalidOrder),
        (ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), InvalidOrder),
        (ccxt.DuplicateOrderId("binance duplicate"), InvalidOrder),
        (ccxt.NotSupported("binance no"), InvalidOrder),
        (ccxt.MarketClosed("binance closed"), InvalidOrder),
        (ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}'), SymbolNotAllowed),
        (
            ccxt.AuthenticationError('binance {"code":-1022,"msg":"Signature invalid"}'),
            ExchangeAuthenticationFailed,
        ),
        (ccxt.PermissionDenied("binance no trading permission"), ExchangeAuthenticationFailed),
        (ccxt.AccountSuspended("binance suspended"), ExchangeAuthenticationFailed),
        (ccxt.RequestTimeout("binance timed out"), ExchangeUnavailable),
        (ccxt.ExchangeNotAvailable("binance 503"), ExchangeUnavailable),
        (ccxt.OnMaintenance("binance maintenance"), ExchangeUnavailable),
        (ccxt.DDoSProtection("binance 429"), ExchangeUnavailable),
        (ccxt.RateLimitExceeded("binance slow down"), ExchangeUnavailable),
        (
            ccxt.InvalidNonce('binance {"code":-1021,"msg":"Timestamp outside recvWindow"}'),
            ExchangeUnavailable,
        ),
        (ccxt.BadResponse("binance garbage"), ExchangeUnavailable),
        (KeyError("surprise"), ExchangeUnavailable),
    ],
)
def test_translation_table(exc: BaseException, expected: type) -> None:
    assert type(tr(exc)) is expected


def test_generic_exchange_error_is_a_refusal_for_orders_and_unavailable_for_reads() -> None:
    exc = ccxt.ExchangeError('binance {"code":-2019,"msg":"Margin is insufficient."}')
    assert type(tr(exc, Operation.ORDER)) is InvalidOrder
    assert type(tr(exc, Operation.READ)) is ExchangeUnavailable


def test_detail_keeps_the_exchange_message_and_code() -> None:
    err = tr(ccxt.InsufficientFunds(BODY))
    assert isinstance(err, InsufficientFunds)
    assert err.detail == (
        "binance: Account has insufficient balance for requested action. (code -2010)"
    )
    assert err.reason == "insufficient_funds"
    assert err.http_status == 422


def test_auth_failures_keep_the_contract_reason_and_say_what_to_check() -> None:
    err = tr(ccxt.AuthenticationError('binance {"code":-2015,"msg":"Invalid API-key."}'))
    assert isinstance(err, ExchangeUnavailable)
    assert err.reason == "exchange_unavailable"
    assert "API key" in err.detail


def test_secrets_and_signatures_never_reach_the_detail() -> None:
    exc = ccxt.ExchangeError(
        "binance GET http://x/api/v3/account?timestamp=1&signature=ab12cd34ef "
        "key=MYAPIKEY123 secret MYSECRET456"
    )
    err = translate(
        exc, exchange="binance", operation=Operation.READ, secrets=("MYAPIKEY123", "MYSECRET456")
    )
    assert "MYAPIKEY123" not in err.detail
    assert "MYSECRET456" not in err.detail
    assert "ab12cd34ef" not in err.detail
    assert "signature=***" in err.detail


def test_long_messages_are_shortened() -> None:
    assert len(sanitize("x" * 5000)) == 300


def test_only_operation_failures_are_temporary() -> None:
    assert is_temporary(ccxt.RequestTimeout("t"))
    assert is_temporary(ccxt.DDoSProtection("t"))
    assert is_temporary(ccxt.RateLimitExceeded("t"))
    assert is_temporary(ccxt.ExchangeNotAvailable("t"))
    assert not is_temporary(ccxt.InsufficientFunds("t"))
    assert not is_temporary(ccxt.AuthenticationError("t"))
    assert not is_temporary(ccxt.InvalidOrder("t"))
    assert not is_temporary(TimeoutError())
