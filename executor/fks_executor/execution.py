"""The execution seam: what happens to a signal once intake has accepted and journaled it.

Intake calls ``SignalExecutor.execute(signal, resume=..., attempted_at=...)`` once per winning
claim of a signal (under the response deadline; past it, the call runs on in the background
and the caller gets 202). ``resume=True`` when an earlier attempt of this signal started
executing (a redelivery retrying a retryable 503 failure; later, a journaled signal found
unfinished after a restart): it may have sent orders, so every order is looked up by client
order id before it is sent; ``attempted_at`` is when that earlier attempt started.
``execute`` returns the ``Outcome`` to record and answer, or raises an ``ExecutorError``
(translated to its answer by intake; a real order engine raises ``InsufficientFunds``,
``CircuitOpen``...). It never needs to catch other exceptions: intake turns them into
``500 internal_error`` and logs the traceback.

``DryRunExecutor`` is this build's executor: a simulated fill at the alert's ``price``. The
exchange layer (issue 4) replaces it with ticker prices, sizing, risk and real orders; plug it
in through ``build_executor``.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from fks_executor.audit import AuditLog
from fks_executor.config import ConfigError, ExecutorConfig, ResolvedSecrets
from fks_executor.domain import Action, OrderResult, Outcome, Signal
from fks_executor.errors import InvalidPayload
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.metrics import Metrics
from fks_executor.symbols import guess_unified

__all__ = ["DryRunExecutor", "SignalExecutor", "build_executor"]


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


class DryRunExecutor:
    """Simulated fills at the alert's price (no exchange is contacted).

    Amount: ``amount`` as sent, else ``size_usd / price``, else ``risk.sizing.notionalUSD /
    price``; the notional is capped at ``min(maxOrderSizeUSD, maxPositionSizeUSD)``.
    ``close`` is simulated as a sell. Alerts without ``price`` are refused
    ``invalid_payload`` (this build has no ticker prices).
    """

    def __init__(self, config: ExecutorConfig, metrics: Metrics, audit: AuditLog) -> None:
        self.config = config
        self.metrics = metrics
        self.audit = audit
        risk = config.risk
        self._cap_usd = min(risk.max_order_size_usd, risk.max_position_size_usd)
        self._exchanges = {a.name: a.exchange for a in config.accounts}
        self._executions: dict[str, Any] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def ready(self) -> dict[str, bool]:
        return {}

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        del resume, attempted_at  # a simulation has nothing to resume
        started = time.perf_counter()
        price = signal.price
        if price is None:
            raise InvalidPayload(
                "price: required in dry-run (simulated fills use the alert's price)"
            )
        if signal.amount is not None:
            amount = signal.amount
        elif signal.size_usd is not None:
            amount = signal.size_usd / price
        else:
            amount = self.config.risk.sizing.notional_usd / price
        amount = round(min(amount, self._cap_usd / price), 8)
        account = signal.account or self.config.default_account.name
        exchange = self._exchanges.get(account, "")
        coid = client_order_id(self.config.pipeline, account, signal.signal_id, Leg.ENTRY)
        order = OrderResult(
            id=f"dry-{coid}",
            client_order_id=coid,
            account=account,
            exchange=exchange,
            symbol=guess_unified(signal.symbol),
            side="buy" if signal.action is Action.BUY else "sell",
            type=signal.order_type.value,
            amount=amount,
            price=price,
            status="simulated",
            filled=amount,
            cost=round(amount * price, 8),
            dry_run=True,
        )
        counter = self._executions.get(account)
        if counter is None:
            counter = self.metrics.order_executions.labels(account, exchange, "dry_run")
            self._executions[account] = counter
        counter.inc()
        self.metrics.order_duration.observe(time.perf_counter() - started)
        return Outcome(
            status="dry_run", signal_id=signal.signal_id, http_status=200, order=order.as_dict()
        )


def build_executor(
    config: ExecutorConfig, secrets: ResolvedSecrets, metrics: Metrics, audit: AuditLog
) -> SignalExecutor:
    """The executor for this config; ``ConfigError`` when this build cannot execute it.

    The exchange layer's ``fks_executor.exchange.trader.build_trader(config, secrets,
    metrics, audit)`` returns a ``SignalExecutor`` too; wiring it here (for dry-run at ticker
    prices and for live/testnet) is issue 4's switch-over.
    """
    del secrets  # the exchange layer's: account credentials
    if not config.dry_run:
        raise ConfigError(
            "dryRun: false needs the exchange layer, which this build does not include yet "
            "(set dryRun: true)"
        )
    return DryRunExecutor(config, metrics, audit)
