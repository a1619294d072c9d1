"""ccxt errors -> the executor's error tree, in this one place.

::

    ccxt error (class tree of ccxt 4.5)          executor error (reason)         retried?
    ---------------------------------------------------------------------------------------
    InsufficientFunds                             InsufficientFunds               never
    BadSymbol                                     SymbolNotAllowed                never
    InvalidOrder (OrderNotFound, DuplicateOrderId,
      OrderImmediatelyFillable, ...)              InvalidOrder                    never
    BadRequest (e.g. "Filter failure: NOTIONAL"),
      ArgumentsRequired, NotSupported,
      OperationRejected (MarketClosed, ...)       InvalidOrder                    never
    AuthenticationError (PermissionDenied,
      AccountSuspended, AccountNotEnabled)        ExchangeAuthenticationFailed    never
                                                  (exchange_unavailable, 503)
    OperationFailed: NetworkError (RequestTimeout,
      ExchangeNotAvailable, OnMaintenance,
      DDoSProtection, RateLimitExceeded,
      InvalidNonce), BadResponse, CancelPending   ExchangeUnavailable             reads and
                                                                                  lookups; an
                                                                                  order only
                                                                                  once proven
                                                                                  absent
    any other ExchangeError                       InvalidOrder for orders,        never
                                                  ExchangeUnavailable for reads
    anything else (a bug, an unexpected reply)    ExchangeUnavailable             never

Rejected credentials are a permanent failure, yet no SPEC reason fits them better than
``exchange_unavailable`` (the account cannot trade until someone fixes the key): they are the
:class:`ExchangeAuthenticationFailed` subclass, so the answer keeps the contract's reason while
logs, audit and the caller can tell them apart, and they are never retried. They count towards
the circuit breaker, which stops the executor from hammering an exchange (and risking an IP
ban) with a bad key.

:class:`OrderOutcomeUnknown` (also ``exchange_unavailable``) is raised when an order request
failed in a way that leaves its fate unknown and the lookups by client order id could not settle
it before the execution deadline: the caller must look the order up again before sending
anything for that signal. :class:`OrderLost` (also ``exchange_unavailable``): the order is
proven absent and the deadline passed; nothing was placed and nothing more will be sent.

``detail`` is built from the exchange's ``code``/``msg`` when the reply is JSON, is truncated,
and has known secrets and request signatures removed.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable

import ccxt.async_support as ccxt

from fks_executor.errors import (
    ExchangeUnavailable,
    ExecutorError,
    InsufficientFunds,
    InvalidOrder,
    SymbolNotAllowed,
)

__all__ = [
    "ExchangeAuthenticationFailed",
    "Operation",
    "OrderLost",
    "OrderOutcomeUnknown",
    "is_temporary",
    "sanitize",
    "translate",
]

_MAX_DETAIL = 300
_SIGNATURE = re.compile(r"(signature=)[0-9a-fA-F]+")


class ExchangeAuthenticationFailed(ExchangeUnavailable):
    """The exchange refused the account's credentials or their permissions (permanent)."""


class OrderOutcomeUnknown(ExchangeUnavailable):
    """An order may or may not exist; look it up by ``client_order_id`` before any resend."""

    order_may_exist = True

    def __init__(self, detail: str, *, client_order_id: str, symbol: str) -> None:
        super().__init__(detail)
        self.client_order_id = client_order_id
        self.symbol = symbol


class OrderLost(ExchangeUnavailable):
    """An order proven absent that will not be sent again: every request for it failed before
    the venue took it, and the signal's execution deadline passed. Its signal is a lost trade
    (counted in ``fks_lost_trades_total`` and audited ``lost_trade``)."""

    def __init__(self, detail: str, *, requests: int) -> None:
        super().__init__(detail)
        self.requests = requests


class Operation(enum.StrEnum):
    READ = "read"  # markets, ticker, balance, OHLCV, positions
    LOOKUP = "lookup"  # fetch an order by client id, list open orders
    ORDER = "order"  # create or cancel an order


def is_temporary(exc: BaseException) -> bool:
    """Network-class failures: worth retrying for idempotent requests."""
    return isinstance(exc, ccxt.OperationFailed)


def sanitize(text: str, secrets: Iterable[str] = ()) -> str:
    """Shorten an exchange message and strip secrets and request signatures from it."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SIGNATURE.sub(r"\1***", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _message(exc: BaseException, exchange: str) -> str:
    text = str(exc)
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, dict) and ("msg" in body or "message" in body):
            msg = body.get("msg", body.get("message"))
            code = body.get("code")
            return f"{msg} (code {code})" if code is not None else str(msg)
    if text.startswith(exchange + " "):
        text = text[len(exchange) + 1 :]
    return text or type(exc).__name__


def translate(
    exc: BaseException,
    *,
    exchange: str,
    operation: Operation,
    secrets: Iterable[str] = (),
) -> ExecutorError:
    """The executor error for a failed exchange call (returned, for the caller to raise)."""
    if isinstance(exc, ExecutorError):
        return exc
    msg = sanitize(_message(exc, exchange), secrets)
    where = f"{exchange}: {msg}"
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFunds(where)
    if isinstance(exc, ccxt.BadSymbol):
        return SymbolNotAllowed(where)
    if isinstance(exc, ccxt.AuthenticationError):
        return ExchangeAuthenticationFailed(
            f"{exchange} refused the account's credentials or permissions ({msg}); "
            "check the API key, secret, its trading permission and IP allow-list"
        )
    if isinstance(
        exc,
        ccxt.InvalidOrder
        | ccxt.BadRequest
        | ccxt.ArgumentsRequired
        | ccxt.NotSupported
        | ccxt.OperationRejected
        | ccxt.InvalidAddress,
    ):
        return InvalidOrder(where)
    if isinstance(exc, ccxt.OperationFailed):
        return ExchangeUnavailable(f"{where} ({type(exc).__name__})")
    if isinstance(exc, ccxt.ExchangeError) and operation is Operation.ORDER:
        return InvalidOrder(f"{exchange} refused the order: {msg}")
    if isinstance(exc, ccxt.BaseError):
        return ExchangeUnavailable(f"{where} ({type(exc).__name__})")
    return ExchangeUnavailable(
        f"{exchange}: unexpected {type(exc).__name__} during {operation.value}: {msg}"
    )
