"""Executing a claimed signal: the deadline and its 202, the order fence, the recorded
outcome, recovery of signals left unfinished, and the drain at shutdown
(docs/executor.md, "Answers" and "Guarantees: at most one order per signal, no accepted signal
lost").

Intake hands over a :class:`Claimed` signal: journaled as ``executing`` by the signal store,
before anything was answered or sent. :meth:`Execution.answer` runs it as a task of its own
and waits up to ``responseDeadlineSeconds``: the caller gets its outcome, or ``202 accepted``
while the task goes on. Either way the outcome is recorded in the store and audited by the
task. Signals left unfinished by a process that is gone (:meth:`Execution.recover`) run the
same way, unwaited. Every such task is tracked: :meth:`Execution.drain` waits for them at
shutdown, then cancels the rest, which stay journaled as ``executing`` for the next process to
resume (looking their orders up first).

The orders themselves are placed by a :class:`SignalExecutor`: the exchange layer's ``Trader``
(``fks_executor.exchange.trader``): dry-run accounts simulate fills at the exchange's ticker
price, testnet/live accounts send real orders through ccxt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fks_executor.audit import AuditLog
from fks_executor.domain import Outcome, Signal
from fks_executor.errors import ExecutorError, InternalError, LeaseLost
from fks_executor.fanout import audit_accounts
from fks_executor.fence import install_fence
from fks_executor.metrics import Metrics
from fks_executor.state.store import SignalStore, is_retryable

__all__ = ["Claimed", "Execution", "SignalExecutor", "accepted", "order_id"]

log = logging.getLogger("fks_executor.execution")


@runtime_checkable
class SignalExecutor(Protocol):
    """What places (or simulates) a signal's orders: ``execute`` returns the ``Outcome`` to
    record and answer, or raises an ``ExecutorError`` (translated to its answer here).

    ``resume=True`` when an earlier attempt of this signal may have sent orders: every order
    is then looked up by client order id before it is sent, and ``attempted_at`` is the latest
    time that attempt may have sent one."""

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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A signal this process won the claim of, as first recorded (a retry executes the
    signal of the first delivery: its client order ids derive from it). ``resume``: an
    earlier attempt may have left an order, sent at the latest at ``attempted_at``."""

    signal: Signal
    resume: bool = False
    attempted_at: float | None = None


def accepted(signal_id: str | None, detail: str) -> Outcome:
    return Outcome(status="accepted", signal_id=signal_id, http_status=202, detail=detail)


def order_id(outcome: Outcome) -> str | None:
    """The main order's exchange id, for the audit trail."""
    order = outcome.order
    value = order.get("id") if order is not None else None
    return str(value) if value is not None else None


class Execution:
    def __init__(
        self,
        executor: SignalExecutor,
        store: SignalStore,
        audit: AuditLog,
        metrics: Metrics,
        *,
        deadline: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.executor = executor
        self.store = store
        self.audit = audit
        self.deadline = deadline
        self.clock = clock
        self._running: dict[str, asyncio.Task[Outcome]] = {}  # by signal id
        metrics.signals_inflight.set_function(lambda: len(self._running))

    async def answer(self, claimed: Claimed) -> Outcome:
        """The signal's outcome when it is in within the deadline, else ``202 accepted``."""
        task = self._start(claimed)
        done, _ = await asyncio.wait((task,), timeout=self.deadline)
        if done:
            return task.result()
        return accepted(
            claimed.signal.signal_id, "still executing; GET /signals/{id} tells the outcome"
        )

    def _start(self, claimed: Claimed) -> asyncio.Task[Outcome]:
        signal_id = claimed.signal.signal_id
        task = asyncio.create_task(self._run(claimed), name=f"fks-signal-{signal_id}")
        self._running[signal_id] = task
        task.add_done_callback(lambda _: self._running.pop(signal_id, None))
        return task

    async def _run(self, claimed: Claimed) -> Outcome:
        """Run one claimed signal to its recorded outcome. Never raises, except when cancelled
        at shutdown: the record then stays ``executing`` for the next process to resume."""
        signal = claimed.signal
        install_fence(self.store.fence)  # this task's context only
        try:
            outcome = await self._execute(claimed)
        except asyncio.CancelledError:
            log.warning(
                "shutting down: signal %s still executing was stopped; it stays journaled "
                "and is resumed by the next executor",
                signal.signal_id,
            )
            raise
        try:
            await self.store.complete(signal.signal_id, outcome)
        except asyncio.CancelledError:
            # The store finishes a write it has started (an order went out): audit it too.
            log.warning(
                "shutting down: signal %s was stopped while its outcome (%s) was being "
                "recorded; the record is finished before the journal closes",
                signal.signal_id,
                outcome.status,
            )
            self._audit(signal, outcome)
            raise
        except LeaseLost as exc:
            log.warning("outcome of signal %s not recorded: %s", signal.signal_id, exc.detail)
        except ExecutorError as exc:  # StateUnavailable: the next take-over resumes it
            log.error("could not record the outcome of signal %s: %s", signal.signal_id, exc)
        self._audit(signal, outcome)
        return outcome

    async def _execute(self, claimed: Claimed) -> Outcome:
        signal = claimed.signal
        try:
            outcome = await self.executor.execute(
                signal, resume=claimed.resume, attempted_at=claimed.attempted_at
            )
        except ExecutorError as exc:
            outcome = Outcome.from_error(exc, signal.signal_id)
        except Exception:
            # A bug below (the trader's own errors are ExecutorErrors): the signal gets a final
            # 500 rather than staying "executing" for good; the traceback goes to the log.
            log.exception("internal error while executing signal %s", signal.signal_id)
            outcome = Outcome.from_error(InternalError(), signal.signal_id)
        if claimed.resume and is_retryable(outcome) and not outcome.unsettled:
            # This attempt was to settle an earlier one's possible order and failed before it
            # could: the question stays open for the next attempt.
            outcome = dataclasses.replace(outcome, unsettled=True)
        return outcome

    def _audit(self, signal: Signal, outcome: Outcome) -> None:
        if outcome.outcomes:  # a fan-out: one line per account
            audit_accounts(self.audit, signal, outcome)
            return
        self.audit.record(
            outcome.status,
            signal_id=signal.signal_id,
            account=signal.account,
            symbol=signal.symbol,
            reason=outcome.reason,
            order_id=order_id(outcome),
            http_status=outcome.http_status,
            detail=outcome.detail,
        )

    async def recover(self) -> int:
        """Resume the unfinished signals the store hands over (at start-up; with Redis also
        periodically: those of dead replicas). Each one's orders are looked up by client order
        id before anything is sent. Returns how many were resumed."""
        resumed = 0
        for record in await self.store.take_over():
            signal = record.signal
            if signal.signal_id in self._running:
                continue
            self.audit.record(
                "accepted",
                signal_id=signal.signal_id,
                account=signal.account,
                symbol=signal.symbol,
                reason="recovered",
                attempt=record.attempts,
            )
            self._start(Claimed(signal, resume=True, attempted_at=self.clock()))
            resumed += 1
        return resumed

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` s for executions still running, then cancel the rest (they
        stay journaled as executing); returns how many were cancelled."""
        pending = set(self._running.values())
        if not pending:
            return 0
        _, still = await asyncio.wait(pending, timeout=grace)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=5.0)
        return len(still)
