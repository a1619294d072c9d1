"""The SQLite journal (state.journalPath): the store contract, on disk, across reopen."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from fks_executor.domain import Action, Outcome, Signal
from fks_executor.errors import StateUnavailable
from fks_executor.state.journal import SqliteSignalStore, check_journal_path
from fks_executor.state.store import SignalState
from tests.unit.executor.helpers import SECRET


def sig(signal_id: str) -> Signal:
    return Signal(
        signal_id=signal_id,
        symbol="BTCUSDT",
        action=Action.BUY,
        timestamp=1.0,
        price=68000.0,
        stop_loss=67000.0,
        account="main",
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_lifecycle_survives_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.db")
    store = SqliteSignalStore(path)
    await store.open()
    first = await store.claim(sig("a"))
    assert first.won
    await store.claim(sig("b"))
    outcome = Outcome("dry_run", "a", order={"id": "o1"}, orders=[{"id": "sl"}])
    await store.complete("a", outcome)
    await store.close()

    reopened = SqliteSignalStore(path)
    await reopened.open()
    try:
        again = await reopened.claim(sig("a"))
        assert not again.won
        assert again.record.outcome == outcome
        assert again.record.signal == sig("a")
        (pending,) = await reopened.unfinished()
        assert pending.signal_id == "b"
        assert pending.state is SignalState.EXECUTING
        assert [r.signal_id for r in await reopened.take_over()] == ["b"]
        assert await reopened.ping() is True
    finally:
        await reopened.close()


async def test_concurrent_claims_have_one_winner(tmp_path: Path) -> None:
    store = SqliteSignalStore(str(tmp_path / "j.db"))
    await store.open()
    try:
        results = await asyncio.gather(*(store.claim(sig("same")) for _ in range(30)))
        assert sum(r.won for r in results) == 1
    finally:
        await store.close()


async def test_retryable_failure_is_claimed_again_once(tmp_path: Path) -> None:
    store = SqliteSignalStore(str(tmp_path / "j.db"))
    await store.open()
    try:
        await store.claim(sig("r"))
        await store.complete("r", Outcome("failed", "r", 503, "circuit_open"))
        retry = await store.claim(sig("r"))
        assert retry.won
        assert (retry.record.attempts, retry.record.state, retry.record.outcome) == (
            2,
            SignalState.EXECUTING,
            None,
        )
        assert retry.record.unsettled_since is None
        assert not (await store.claim(sig("r"))).won
        unsettled = Outcome("failed", "r", 503, "exchange_unavailable", unsettled=True)
        await store.complete("r", unsettled)
        third = await store.claim(sig("r"))
        assert (third.won, third.record.attempts) == (True, 3)
        assert third.record.unsettled_since is not None  # look the order up before sending
        await store.complete("r", Outcome("failed", "r", 503, "circuit_open"))
        fourth = await store.claim(sig("r"))
        assert fourth.record.unsettled_since == third.record.unsettled_since
        await store.complete("r", Outcome("rejected", "r", 422, "risk_limit"))
        assert not (await store.claim(sig("r"))).won
    finally:
        await store.close()


async def test_records_expire_after_retention(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteSignalStore(str(tmp_path / "j.db"), retention=60, clock=clock)
    await store.open()
    try:
        await store.claim(sig("old"))
        await store.complete("old", Outcome("dry_run", "old"))
        clock.now += 61
        assert await store.get("old") is None
        await store.close()
        await store.open()  # purges on open
        assert (await store.claim(sig("old"))).won
    finally:
        await store.close()


async def test_closed_or_broken_journal_is_state_unavailable(tmp_path: Path) -> None:
    store = SqliteSignalStore(str(tmp_path / "j.db"))
    with pytest.raises(StateUnavailable):
        await store.claim(sig("x"))
    assert await store.ping() is False
    broken = SqliteSignalStore(str(tmp_path / "missing-dir" / "j.db"))
    with pytest.raises(StateUnavailable, match="cannot be opened"):
        await broken.open()


async def test_one_journal_one_process(tmp_path: Path) -> None:
    """Two executors on one journal (a shared volume, a second replica) would each resume
    the other's signals: the second is refused while the first holds the journal."""
    path = str(tmp_path / "j.db")
    first = SqliteSignalStore(path)
    await first.open()
    second = SqliteSignalStore(path)
    try:
        with pytest.raises(StateUnavailable, match="in use by another executor process"):
            await second.open()
    finally:
        await first.close()
    await second.open()  # free again
    await second.close()


def test_journal_path_problems_are_named(tmp_path: Path) -> None:
    assert check_journal_path(str(tmp_path / "j.db")) is None
    assert "does not exist" in (check_journal_path(str(tmp_path / "nope" / "j.db")) or "")
    if os.geteuid() != 0:  # root may write anywhere
        readonly = tmp_path / "ro"
        readonly.mkdir(mode=0o500)
        assert "not writable" in (check_journal_path(str(readonly / "j.db")) or "")


class Recorder:
    """Records how intake hands over signals (the seam's view of a restart)."""

    def __init__(self) -> None:
        self.calls: dict[str, tuple[bool, float | None]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def ready(self) -> dict[str, bool]:
        return {}

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        self.calls[signal.signal_id] = (resume, attempted_at)
        return Outcome("executed", signal.signal_id, order={"id": f"o-{signal.signal_id}"})


async def test_start_up_resumes_the_journal_looking_orders_up_first(tmp_path: Path) -> None:
    """Every unfinished signal may have sent an order before the process died (and a request
    of it may still be on its way): resumed with ``resume`` and the time of the restart."""
    from tests.unit.executor.helpers import make_app, make_config, serve

    path = str(tmp_path / "journal.db")
    store = SqliteSignalStore(path)
    await store.open()
    await store.claim(sig("in-flight"))
    await store.claim(sig("other"))
    await store.claim(sig("finished"))
    await store.complete("finished", Outcome("executed", "finished"))
    await store.close()

    recorder = Recorder()
    config = make_config(tmp_path, state={"backend": "memory", "journalPath": path})
    before = time.time()
    async with serve(make_app(config, executor=recorder)):
        for _ in range(200):
            if len(recorder.calls) == 2:
                break
            await asyncio.sleep(0.01)
    assert set(recorder.calls) == {"in-flight", "other"}
    for resume, attempted_at in recorder.calls.values():
        assert resume is True
        assert attempted_at is not None
        assert attempted_at >= before
    reopened = SqliteSignalStore(path)
    await reopened.open()
    try:
        assert await reopened.unfinished() == []
    finally:
        await reopened.close()


async def test_a_suspended_pipeline_resumes_nothing(tmp_path: Path) -> None:
    from tests.unit.executor.helpers import make_app, make_config, serve

    path = str(tmp_path / "journal.db")
    store = SqliteSignalStore(path)
    await store.open()
    await store.claim(sig("queued"))
    await store.close()
    recorder = Recorder()
    config = make_config(tmp_path, suspend=True, state={"backend": "memory", "journalPath": path})
    async with serve(make_app(config, executor=recorder)):
        await asyncio.sleep(0.1)
    assert recorder.calls == {}
    await store.open()
    try:
        assert [r.signal_id for r in await store.unfinished()] == ["queued"]
    finally:
        await store.close()


class FailsWhenResumed(Recorder):
    """The exchange is down when the restarted process resumes the signal."""

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        first = signal.signal_id not in self.calls
        self.calls.setdefault(signal.signal_id, (resume, attempted_at))
        self.later = (resume, attempted_at)
        if first:
            from fks_executor.errors import ExchangeUnavailable

            raise ExchangeUnavailable("binance: unreachable")
        return Outcome("executed", signal.signal_id, order={"id": "found"})


async def test_a_resumed_attempt_that_fails_leaves_the_next_one_looking(tmp_path: Path) -> None:
    """The order of a crashed attempt is still unaccounted for when the resumed attempt fails
    (exchange down): the redelivery that follows must look it up too, not send blindly."""
    from tests.unit.executor.helpers import alert, make_app, make_config, raw, serve

    path = str(tmp_path / "journal.db")
    store = SqliteSignalStore(path)
    await store.open()
    await store.claim(sig("crashed"))
    await store.close()

    executor = FailsWhenResumed()
    config = make_config(tmp_path, state={"backend": "memory", "journalPath": path})
    async with serve(make_app(config, executor=executor)) as http:
        for _ in range(200):
            record = (
                await http.get("/signals/crashed", headers={"Authorization": "Bearer " + SECRET})
            ).json()
            if record["finished"]:
                break
            await asyncio.sleep(0.01)
        assert record["outcome"]["reason"] == "exchange_unavailable"
        failed_by = time.time()
        r = await http.post("/webhook/tradingview", content=raw(alert(id="crashed")))
    assert r.json()["status"] == "executed"
    assert executor.calls["crashed"][0] is True  # the recovery resumed
    resume, attempted_at = executor.later
    assert resume is True  # and so does the redelivery after the failed recovery
    assert attempted_at is not None
    assert attempted_at <= failed_by
