"""The executor's error tree: every refusal a caller can see, with its answer
(docs/executor.md, "Answers").

::

    ExecutorError                      (status, reason, http_status)
    ├── Rejected                       status "rejected"
    │   ├── InvalidSignature           401 invalid_signature
    │   ├── SourceNotAllowed           403 ip_not_allowed
    │   ├── InvalidJson                400 invalid_json
    │   ├── BodyTooLarge               413 body_too_large
    │   ├── InvalidPayload             422 invalid_payload  (detail names the field)
    │   ├── Stale                      422 stale
    │   ├── SymbolNotAllowed           422 symbol_not_allowed
    │   ├── UnknownAccount             422 unknown_account
    │   ├── RiskLimit                  422 risk_limit
    │   ├── BelowMinimum               422 below_minimum
    │   ├── InsufficientFunds          422 insufficient_funds
    │   ├── InvalidOrder               422 invalid_order
    │   ├── FuturesSettingsConflict    409 futures_settings_conflict
    │   ├── RateLimited                429 rate_limited
    │   └── Suspended                  503 suspended
    └── Failed                         status "failed"
        ├── ExchangeUnavailable        503 exchange_unavailable
        ├── CircuitOpen                503 circuit_open
        ├── StateUnavailable           503 state_unavailable  (Redis/journal unreachable)
        │   └── LeaseLost              (this replica's lease on the signal lapsed)
        └── InternalError              500 internal_error     (a bug; never caused by input)

Exchange (ccxt) errors are translated into this tree in exactly one place, the exchange layer;
the HTTP layer turns any ``ExecutorError`` into its answer in exactly one place too.
``detail`` is shown to the caller; it must never carry a secret.
"""

from __future__ import annotations

from typing import ClassVar


class ExecutorError(Exception):
    status: ClassVar[str] = "failed"
    reason: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    order_may_exist: ClassVar[bool] = False
    """True for failures after which an order of the signal may exist on the exchange (sent,
    fate unknown): a later attempt must look it up before sending anything."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail


class Rejected(ExecutorError):
    status = "rejected"


class Failed(ExecutorError):
    status = "failed"


class InvalidSignature(Rejected):
    reason, http_status = "invalid_signature", 401


class SourceNotAllowed(Rejected):
    reason, http_status = "ip_not_allowed", 403


class InvalidJson(Rejected):
    reason, http_status = "invalid_json", 400


class BodyTooLarge(Rejected):
    reason, http_status = "body_too_large", 413


class InvalidPayload(Rejected):
    reason, http_status = "invalid_payload", 422


class Stale(Rejected):
    reason, http_status = "stale", 422


class SymbolNotAllowed(Rejected):
    reason, http_status = "symbol_not_allowed", 422


class UnknownAccount(Rejected):
    reason, http_status = "unknown_account", 422


class RiskLimit(Rejected):
    reason, http_status = "risk_limit", 422


class BelowMinimum(Rejected):
    reason, http_status = "below_minimum", 422


class InsufficientFunds(Rejected):
    reason, http_status = "insufficient_funds", 422


class InvalidOrder(Rejected):
    reason, http_status = "invalid_order", 422


class FuturesSettingsConflict(Rejected):
    """The symbol's leverage, margin mode or position mode differs from the account's
    ``spec.futures`` and cannot be changed now (an open position, or the venue refused): the
    entry is not sent rather than traded at settings nobody chose
    (docs/trading.md#futures-settings)."""

    reason, http_status = "futures_settings_conflict", 409


class RateLimited(Rejected):
    reason, http_status = "rate_limited", 429


class Suspended(Rejected):
    reason, http_status = "suspended", 503


class ExchangeUnavailable(Failed):
    reason, http_status = "exchange_unavailable", 503


class CircuitOpen(Failed):
    reason, http_status = "circuit_open", 503


class StateUnavailable(Failed):
    """The shared state (Redis) or the journal cannot be reached: nothing was executed."""

    reason, http_status = "state_unavailable", 503


class LeaseLost(StateUnavailable):
    """This replica can no longer prove it owns the signal (its lease in Redis lapsed), so it
    sends nothing more for it; another replica takes the signal over."""


class InternalError(Failed):
    """An unexpected exception; the caller sees only this, the traceback goes to the log."""

    reason, http_status = "internal_error", 500
