"""Fills ledgers: the same contract in memory and in SQLite (next to the journal, across a
reopen). The Redis ledger runs against a real redis-server in
tests/integration/execution/test_replicas.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fks_executor.fills import Fill, realised_pnl
from fks_executor.state.ledgers import (
    FillsLedger,
    MemoryFillsLedger,
    SqliteFillsLedger,
    build_ledger,
)
from fks_executor.state.redis_ledger import RedisFillsLedger

DAY = datetime(2025, 3, 10, tzinfo=UTC).timestamp()
H = 3600.0


def fill(t: float, side: str, amount: float, price: float, cid: str) -> Fill:
    return Fill(t, "a", "BTC/USDT", side, amount, price, client_order_id=cid)


@pytest.fixture(params=["memory", "sqlite"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> FillsLedger:
    if request.param == "memory":
        return MemoryFillsLedger()
    return SqliteFillsLedger(str(tmp_path / "journal.db"))


async def test_fills_are_counted_once_per_order_and_compacted(ledger: FillsLedger) -> None:
    try:
        await ledger.record(fill(DAY - 3 * H, "buy", 2.0, 100.0, "o1"))
        await ledger.record(fill(DAY - 2 * H, "sell", 1.0, 110.0, "o2"))
        await ledger.record(fill(DAY + H, "sell", 1.0, 80.0, "o3"))
        await ledger.record(fill(DAY + H, "sell", 1.0, 80.0, "o3"))  # a resumed signal
        kept = await ledger.fills()
        assert len(kept) == 2  # one synthetic opening fill + today's
        assert realised_pnl(kept, since=DAY) == pytest.approx(-20.0)
    finally:
        await ledger.close()


async def test_resting_legs_are_tracked_until_forgotten(ledger: FillsLedger) -> None:
    try:
        leg = {"account": "a", "symbol": "BTC/USDT", "leg": "sl", "trigger_price": 66000.0}
        await ledger.track_leg("fks-x-sl", leg)
        assert await ledger.legs() == {"fks-x-sl": leg}
        await ledger.forget_leg("fks-x-sl")
        assert await ledger.legs() == {}
    finally:
        await ledger.close()


async def test_the_sqlite_ledger_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.db")
    first = SqliteFillsLedger(path)
    await first.record(fill(DAY + H, "buy", 1.0, 100.0, "o1"))
    await first.track_leg("fks-x-tp", {"account": "a"})
    await first.close()
    second = SqliteFillsLedger(path)
    try:
        assert [f.client_order_id for f in await second.fills()] == ["o1"]
        assert list(await second.legs()) == ["fks-x-tp"]
    finally:
        await second.close()


def test_a_durable_ledger_only_when_the_limit_is_on(tmp_path: Path) -> None:
    journal = str(tmp_path / "j.db")
    off = build_ledger(pipeline="p", daily_loss_limit_usd=0, journal_path=journal)
    assert isinstance(off, MemoryFillsLedger)
    on = build_ledger(pipeline="p", daily_loss_limit_usd=50, journal_path=journal)
    assert isinstance(on, SqliteFillsLedger)
    shared = build_ledger(pipeline="p", daily_loss_limit_usd=50, redis_client=object())
    assert isinstance(shared, RedisFillsLedger)
    assert isinstance(build_ledger(pipeline="p", daily_loss_limit_usd=50), MemoryFillsLedger)
