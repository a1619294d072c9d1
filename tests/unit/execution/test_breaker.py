"""Circuit breaker state machine with an injected clock (no sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from fks_executor.breaker import BreakerState, CircuitBreaker
from fks_executor.errors import CircuitOpen, ExchangeUnavailable, InsufficientFunds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def ok() -> str:
    return "ok"


async def down() -> str:
    raise ExchangeUnavailable("down")


async def refused() -> str:
    raise InsufficientFunds("no money")


def breaker(clock: Clock, changes: list[tuple[str, BreakerState]] | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        "acct",
        failure_threshold=3,
        reset_timeout=60,
        clock=clock,
        on_change=(lambda n, s: changes.append((n, s))) if changes is not None else None,
    )


async def test_opens_after_threshold_consecutive_failures_and_fails_fast() -> None:
    clock, changes = Clock(), []
    b = breaker(clock, changes)
    calls = 0

    async def counted_down() -> str:
        nonlocal calls
        calls += 1
        raise ExchangeUnavailable("down")

    for _ in range(2):
        with pytest.raises(ExchangeUnavailable):
            await b.call(counted_down)
    assert b.state() is BreakerState.CLOSED
    assert b.gauge() == 0
    with pytest.raises(ExchangeUnavailable):
        await b.call(counted_down)
    assert b.state() is BreakerState.OPEN
    assert b.gauge() == 2
    with pytest.raises(CircuitOpen, match="next trial in 60s"):
        await b.call(counted_down)
    assert calls == 3  # the open circuit did not call through
    assert changes == [("acct", BreakerState.OPEN)]


async def test_a_success_resets_the_consecutive_count() -> None:
    b = breaker(Clock())
    for _ in range(2):
        with pytest.raises(ExchangeUnavailable):
            await b.call(down)
    assert await b.call(ok) == "ok"
    for _ in range(2):
        with pytest.raises(ExchangeUnavailable):
            await b.call(down)
    assert b.state() is BreakerState.CLOSED


async def test_refusals_prove_the_exchange_is_up_and_do_not_count() -> None:
    b = breaker(Clock())
    for _ in range(10):
        with pytest.raises(InsufficientFunds):
            await b.call(refused)
    assert b.state() is BreakerState.CLOSED


async def _open(b: CircuitBreaker) -> None:
    for _ in range(3):
        with pytest.raises(ExchangeUnavailable):
            await b.call(down)


async def test_half_open_after_timeout_then_a_good_trial_closes() -> None:
    clock, changes = Clock(), []
    b = breaker(clock, changes)
    await _open(b)
    clock.now += 59.9
    assert b.state() is BreakerState.OPEN
    clock.now += 0.1
    assert b.state() is BreakerState.HALF_OPEN
    assert b.gauge() == 1
    assert await b.call(ok) == "ok"
    assert b.state() is BreakerState.CLOSED
    assert [s for _, s in changes] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


async def test_a_failed_trial_reopens_with_a_fresh_timer() -> None:
    clock = Clock()
    b = breaker(clock)
    await _open(b)
    clock.now += 60
    with pytest.raises(ExchangeUnavailable):
        await b.call(down)
    assert b.state() is BreakerState.OPEN
    clock.now += 59
    assert b.state() is BreakerState.OPEN
    assert b.retry_after() == pytest.approx(1)
    clock.now += 1
    assert b.state() is BreakerState.HALF_OPEN


async def test_half_open_admits_exactly_one_trial_at_a_time() -> None:
    clock = Clock()
    b = breaker(clock)
    await _open(b)
    clock.now += 60
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "trial"

    trial = asyncio.create_task(b.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpen, match="trial call is in progress"):
        await b.call(ok)
    gate.set()
    assert await trial == "trial"
    assert b.state() is BreakerState.CLOSED
    assert await b.call(ok) == "ok"


async def test_a_cancelled_trial_frees_the_slot_without_changing_state() -> None:
    clock = Clock()
    b = breaker(clock)
    await _open(b)
    clock.now += 60

    async def hang() -> str:
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(b.call(hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert b.state() is BreakerState.HALF_OPEN
    assert await b.call(ok) == "ok"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("a", failure_threshold=0)
    with pytest.raises(ValueError, match="reset_timeout"):
        CircuitBreaker("a", reset_timeout=0)
