"""The execution seam: what happens to a signal once intake has accepted and journaled it.

Intake calls ``SignalExecutor.execute(signal, resume=..., attempted_at=...)`` once per winning
claim of a signal (under the response deadline; past it, the call runs on in the background
and the caller gets 202). ``resume=True`` when an earlier attempt of this signal may have sent
orders (a journaled signal found unfinished after a restart or left by a dead replica; a
redelivery retrying a 503 that left an order unsettled): every order is then looked up by
client order id before it is sent, and ``attempted_at`` is the latest time that earlier
attempt may have sent one (an order not found is looked up again once a request sent then
can no longer land).
``execute`` returns the ``Outcome`` to record and answer, or raises an ``ExecutorError``
(translated to its answer by intake; a real order engine raises ``InsufficientFunds``,
``CircuitOpen``...). It never needs to catch other exceptions: intake turns them into
``500 internal_error`` and logs the traceback.

The executor is the exchange layer's ``Trader`` (``fks_executor.exchange.trader``): dry-run
accounts simulate fills at the exchange's ticker price (public data only), testnet/live
accounts send real orders through ccxt. ``build_executor`` wires it from the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from fks_executor.domain import Outcome, Signal

if TYPE_CHECKING:
    from fks_executor.audit import AuditLog
    from fks_executor.config import ExecutorConfig, ResolvedSecrets
    from fks_executor.metrics import Metrics
    from fks_executor.risk import FillsLedger

__all__ = ["SignalExecutor", "build_executor"]


@runtime_checkable
class SignalExecutor(Protocol):
    async def start(self) -> None:
        """Connect, load markets... Called once before the first request is served."""
        ...

    async def close(self) -> None:
        """Release connections; called once at shutdown after in-flight signals finished."""
        ...

    def ready(self) -> dict[str, bool]:
        """Named readiness checks for ``/ready`` (e.g. markets loaded per account)."""
        ...

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        """Place (or simulate) the orders of one signal; ``signal.account`` is resolved."""
        ...


def build_executor(
    config: ExecutorConfig,
    secrets: ResolvedSecrets,
    metrics: Metrics,
    audit: AuditLog,
    *,
    ledger: FillsLedger | None = None,
) -> SignalExecutor:
    """The exchange layer's ``Trader`` for this config (``ConfigError`` for a bad account,
    e.g. a trading account without credentials). ccxt is imported here, not before."""
    from fks_executor.exchange.wiring import build_trader

    return build_trader(config, secrets, metrics, audit, ledger=ledger)
