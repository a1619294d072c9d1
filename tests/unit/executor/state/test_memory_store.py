"""The memory signal store's bound (docs/executor.md#footprint): a cap on records, past which
only the oldest settled records go; what it costs per record."""

from __future__ import annotations

import logging
import time
import tracemalloc

import pytest

from fks_executor.domain import Action, Outcome, Signal
from fks_executor.state.store import MemorySignalStore


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sig(signal_id: str) -> Signal:
    return Signal(signal_id=signal_id, symbol="BTCUSDT", action=Action.BUY, timestamp=1.0)


async def done(store: MemorySignalStore, signal_id: str, outcome: Outcome | None = None) -> None:
    await store.claim(sig(signal_id))
    await store.complete(signal_id, outcome or Outcome("dry_run", signal_id, 200))


async def test_past_the_cap_only_settled_records_go_oldest_first() -> None:
    clock = Clock()
    store = MemorySignalStore(max_records=4, clock=clock)
    await store.claim(sig("executing"))  # never finished
    unsettled = Outcome("failed", "u", 503, "exchange_unavailable", unsettled=True)
    await done(store, "unsettled", unsettled)  # an order may be out there
    await done(store, "retryable", Outcome("failed", "r", 503, "circuit_open"))  # nothing sent
    await done(store, "final-1")
    for i in range(2, 5):
        clock.now += 1
        await done(store, f"final-{i}")
    kept = [s for s in ("executing", "unsettled", "retryable", *(f"final-{i}" for i in range(1, 5)))
            if await store.get(s) is not None]  # fmt: skip
    assert kept == ["executing", "unsettled", "final-3", "final-4"]
    assert len(store) == 4
    # a dropped id is forgotten: its redelivery is claimed again (the window the docs state)
    assert (await store.claim(sig("final-1"))).won
    # the kept ones still answer as before
    assert not (await store.claim(sig("executing"))).won
    again = await store.claim(sig("unsettled"))
    assert (again.won, again.record.unsettled_since) == (True, 1000.0)  # looks its order up


async def test_expired_records_go_but_never_an_executing_one() -> None:
    clock = Clock()
    store = MemorySignalStore(retention=60, clock=clock)
    await store.claim(sig("executing"))
    await done(store, "finished")
    clock.now += 61
    await store.claim(sig("new"))
    assert len(store) == 2
    assert [r.signal_id for r in await store.unfinished()] == ["executing", "new"]


async def test_dropping_young_records_is_logged_not_silent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    store = MemorySignalStore(max_records=2, clock=clock)
    with caplog.at_level(logging.WARNING, logger="fks_executor.state.store"):
        for i in range(5):
            clock.now += 10
            await done(store, f"s{i}")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # at most every WARN_EVERY seconds
    assert "memory signal store full (2 records): dropped 1 settled records" in warnings[0]
    assert "the oldest kept was received 10 s ago" in warnings[0]
    clock.now += MemorySignalStore.WARN_EVERY
    with caplog.at_level(logging.WARNING, logger="fks_executor.state.store"):
        await done(store, "later")
    assert len(caplog.records) == 2


async def test_a_record_costs_under_a_kibibyte() -> None:
    """What the cap's memory figure rests on: a dry-run record with its order is ~0.8 KiB
    (orjson's bytes kept a 4 KiB buffer each: records were 4.5 KiB)."""
    store = MemorySignalStore(max_records=10_000)
    signals = [
        Signal(signal_id=f"tv-{i:07d}-{'x' * 16}", symbol="BTC/USDT", action=Action.BUY,
               timestamp=time.time(), amount=0.0002, price=68_000.0)
        for i in range(2_000)
    ]  # fmt: skip
    order = {"id": "dry-1", "symbol": "BTC/USDT", "side": "buy", "type": "market",
             "amount": 0.0002, "price": 68_000.0, "status": "closed", "filled": 0.0002,
             "cost": 13.6, "clientOrderId": "fks-0123456789abcdef"}  # fmt: skip
    outcomes = [Outcome("dry_run", s.signal_id, 200, order=order) for s in signals]
    tracemalloc.start()
    try:
        for signal, outcome in zip(signals, outcomes, strict=True):
            await store.claim(signal)
            await store.complete(signal.signal_id, outcome)
        per_record = tracemalloc.get_traced_memory()[0] / len(signals)
    finally:
        tracemalloc.stop()
    assert per_record < 1024, per_record
