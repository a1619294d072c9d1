"""Circuit breaker per exchange account: stop calling an exchange that keeps failing.

::

    CLOSED --(failureThreshold consecutive failures)--> OPEN
    OPEN   --(resetTimeoutSeconds elapsed)------------> HALF_OPEN (one trial call admitted)
    HALF_OPEN --trial succeeds--> CLOSED ; --trial fails--> OPEN (timer restarts)

Only *availability* failures count: :class:`~fks_executor.errors.ExchangeUnavailable` (network
errors after retries, 5xx, rate limiting, an unknown order outcome, rejected credentials). An
exchange that answers "insufficient funds" or "invalid order" is up, so such an answer counts as
a success. While OPEN (and for everyone but the trial caller while HALF_OPEN) calls fail fast
with :class:`~fks_executor.errors.CircuitOpen` without touching the exchange.

Why not a library: pybreaker (the well-known one) is built around synchronous calls and
thread locks, its async support needs Tornado, and it lets every concurrent caller through in
half-open; aiobreaker/purgatory are thinly maintained. The state machine is ~80 lines, typed,
with an injectable clock so tests need no sleeps.

The state is exported as ``fks_circuit_breaker_state{account}``: :meth:`CircuitBreaker.gauge`
gives 0 closed, 1 half-open, 2 open (suitable for ``Gauge.labels(account).set_function``), and
``on_change`` is called on every transition.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fks_executor.errors import CircuitOpen, ExchangeUnavailable, Rejected

__all__ = ["BreakerState", "CircuitBreaker"]

T = TypeVar("T")


class BreakerState(enum.IntEnum):
    """Values are the gauge values of ``fks_circuit_breaker_state``."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if reset_timeout <= 0:
            raise ValueError("reset_timeout must be > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def failures(self) -> int:
        """Consecutive availability failures counted while closed."""
        return self._failures

    def state(self) -> BreakerState:
        """The current state (an expired OPEN reads as HALF_OPEN)."""
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def gauge(self) -> float:
        return float(self.state().value)

    def retry_after(self) -> float:
        """Seconds until a trial call is admitted (0 when calls go through)."""
        if self.state() is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` through the breaker; raises ``CircuitOpen`` without calling it when open."""
        trial = self._admit()
        try:
            result = await fn()
        except ExchangeUnavailable:
            self._failure(trial)
            raise
        except Rejected:
            # The exchange answered (funds, invalid order...): it is available. Callers make
            # their local checks before the breaker, so a refusal here came from the exchange.
            self._success()
            raise
        except BaseException:
            # A bug or a cancellation says nothing about availability: just free the trial slot.
            if trial:
                self._trial_running = False
            raise
        self._success()
        return result

    def _admit(self) -> bool:
        state = self.state()
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        wait = self.retry_after()
        raise CircuitOpen(
            f"circuit breaker for account {self.name} is {state.name.lower().replace('_', '-')}"
            + (f"; next trial in {wait:.0f}s" if wait else "; a trial call is in progress")
        )

    def _success(self) -> None:
        self._failures = 0
        self._trial_running = False
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def _failure(self, trial: bool) -> None:
        if self._state is BreakerState.OPEN:
            return  # admitted before another call opened the circuit; the timer stands
        if trial or self._state is BreakerState.HALF_OPEN:
            self._trial_running = False
            self._open()
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is self._state:
            return
        self._state = state
        if self._on_change is not None:
            self._on_change(self.name, state)
