"""The memory signal store: claims, the record's lifecycle, retention and the bound. (The Redis
store runs against a real redis-server in tests/integration/executor/state/test_redis_state.py.)
"""

from __future__ import annotations

import asyncio

import pytest

from fks_executor.domain import Action, Outcome, Signal
from fks_executor.state.store import MemorySignalStore, SignalRecord, SignalState


def sig(signal_id: str = "s1") -> Signal:
    return Signal(signal_id=signal_id, symbol="BTCUSDT", action=Action.BUY, timestamp=1.0)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_first_claim_wins_and_repeats_get_the_record() -> None:
    store = MemorySignalStore()
    first = await store.claim(sig())
    assert first.won
    assert (first.record.state, first.record.attempts) == (SignalState.EXECUTING, 1)
    assert first.record.unsettled_since is None
    again = await store.claim(sig())
    assert not again.won
    assert again.record.state is SignalState.EXECUTING
    assert again.record.outcome is None


async def test_record_lifecycle_executing_done() -> None:
    clock = Clock()
    store = MemorySignalStore(clock=clock)
    await store.claim(sig())
    assert [r.signal_id for r in await store.unfinished()] == ["s1"]
    assert [r.signal_id for r in await store.take_over()] == ["s1"]
    record = await store.get("s1")
    assert record is not None
    assert record.state is SignalState.EXECUTING
    assert record.updated_at == 1000.0
    clock.now += 1
    outcome = Outcome(status="dry_run", signal_id="s1", order={"id": "o1"})
    await store.complete("s1", outcome)
    record = await store.get("s1")
    assert record is not None
    assert record.state is SignalState.DONE
    assert record.outcome == outcome
    assert record.updated_at == 1001.0
    assert await store.unfinished() == []
    dup = await store.claim(sig())
    assert not dup.won
    assert dup.record.outcome == outcome


async def test_concurrent_claims_of_one_signal_have_one_winner() -> None:
    store = MemorySignalStore()
    results = await asyncio.gather(*(store.claim(sig()) for _ in range(50)))
    assert sum(r.won for r in results) == 1


async def test_records_expire_after_retention() -> None:
    clock = Clock()
    store = MemorySignalStore(retention=60, clock=clock)
    await store.claim(sig("old"))
    await store.complete("old", Outcome(status="dry_run", signal_id="old"))
    clock.now += 61
    assert await store.get("old") is None
    await store.claim(sig("new"))  # evicts the expired one
    assert len(store) == 1
    assert (await store.claim(sig("old"))).won


async def test_bounded_store_evicts_oldest_finished_never_unfinished() -> None:
    store = MemorySignalStore(max_records=3)
    await store.claim(sig("pending"))
    for i in range(5):
        await store.claim(sig(f"done{i}"))
        await store.complete(f"done{i}", Outcome(status="dry_run", signal_id=f"done{i}"))
    assert await store.get("pending") is not None  # unfinished: kept
    assert len(store) == 3
    assert await store.get("done0") is None  # oldest finished: gone
    assert await store.get("done4") is not None


@pytest.mark.parametrize(
    ("outcome", "retried"),
    [
        (Outcome("failed", "s1", 503, "exchange_unavailable"), True),
        (Outcome("failed", "s1", 503, "circuit_open"), True),
        (Outcome("failed", "s1", 500, "internal_error"), False),
        (Outcome("rejected", "s1", 503, "suspended"), False),
        (Outcome("rejected", "s1", 422, "insufficient_funds"), False),
        (Outcome("executed", "s1", 200), False),
    ],
)
async def test_only_a_retryable_failure_is_claimed_again(outcome: Outcome, retried: bool) -> None:
    clock = Clock()
    store = MemorySignalStore(clock=clock)
    await store.claim(sig())
    await store.complete("s1", outcome)
    clock.now += 5
    again = await store.claim(sig())
    assert again.won is retried
    if retried:
        assert (again.record.attempts, again.record.state) == (2, SignalState.EXECUTING)
        assert again.record.outcome is None
        assert again.record.unsettled_since is None  # the failure left nothing behind
        assert not (await store.claim(sig())).won  # the retry is itself claimed once
    else:
        assert again.record.outcome == outcome


async def test_an_unsettled_failure_is_remembered_until_a_final_outcome() -> None:
    """An attempt that may have left an order makes every later attempt look it up first,
    even when a later attempt fails before reaching the exchange."""
    clock = Clock()
    store = MemorySignalStore(clock=clock)
    await store.claim(sig())
    await store.complete("s1", Outcome("failed", "s1", 503, "exchange_unavailable", unsettled=True))
    clock.now = 1010.0
    retry = await store.claim(sig())
    assert (retry.won, retry.record.unsettled_since) == (True, 1000.0)
    await store.complete("s1", Outcome("failed", "s1", 503, "circuit_open"))
    clock.now = 1020.0
    again = await store.claim(sig())
    assert (again.won, again.record.attempts, again.record.unsettled_since) == (True, 3, 1000.0)
    await store.complete("s1", Outcome("failed", "s1", 503, "exchange_unavailable", unsettled=True))
    assert (await store.get("s1")).unsettled_since == 1020.0  # type: ignore[union-attr]


def test_record_round_trips_through_its_dict_form() -> None:
    record = SignalRecord(
        signal=sig(),
        state=SignalState.DONE,
        received_at=1.0,
        updated_at=2.0,
        outcome=Outcome(status="rejected", signal_id="s1", http_status=422, reason="stale"),
        attempts=2,
        unsettled_since=1.5,
        owner="pod-1",
    )
    assert SignalRecord.from_dict(record.as_dict()) == record


# --- rate limiting ----------------------------------------------------------------------
