"""The SQLite journal across a killed and restarted ``fks-executor`` process."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from fks_executor.domain import Action, Signal
from fks_executor.state.journal import SqliteSignalStore
from tests.integration.executor.helpers import SECRET, alert, running_executor


def journal(tmp_path: Path) -> dict[str, object]:
    return {"state": {"backend": "memory", "journalPath": str(tmp_path / "journal.db")}}


def test_a_killed_executor_still_answers_duplicate_after_restart(tmp_path: Path) -> None:
    body = json.dumps(alert(id="survivor")).encode()
    with running_executor(tmp_path, journal(tmp_path)) as ex:
        first = ex.post(body)
        assert first.json()["status"] == "dry_run"
        ex.process.kill9()  # a crash, not a shutdown
    with running_executor(tmp_path, journal(tmp_path)) as ex:
        again = ex.post(body)
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        assert again.json()["first"] == first.json()
        assert ex.get("/ready").json()["checks"]["journal"] is True


def test_unfinished_signals_are_resumed_at_start(tmp_path: Path) -> None:
    """The journal as a crash between 'journaled' and 'done' leaves it; a new process
    finishes both signals (the exchange-level proof, with kill -9 and real orders, is in
    tests/integration/execution/test_crash_recovery.py)."""

    async def leave_unfinished() -> None:
        store = SqliteSignalStore(str(tmp_path / "journal.db"))
        await store.open()
        for signal_id in ("never-started", "was-executing"):
            signal = Signal(
                signal_id=signal_id,
                symbol="BINANCE:BTCUSDT",
                action=Action.BUY,
                timestamp=time.time(),
                price=68000.0,
                account="main",
            )
            await store.claim(signal)
        await store.close()

    asyncio.run(leave_unfinished())
    with running_executor(tmp_path, journal(tmp_path)) as ex:
        auth = {"Authorization": f"Bearer {SECRET}"}
        deadline = time.monotonic() + 10
        records = {}
        while time.monotonic() < deadline:
            records = {
                sid: ex.get(f"/signals/{sid}", **auth).json()
                for sid in ("never-started", "was-executing")
            }
            if all(r["state"] == "done" for r in records.values()):
                break
            time.sleep(0.05)
        assert {sid: r["outcome"]["status"] for sid, r in records.items()} == {
            "never-started": "dry_run",
            "was-executing": "dry_run",
        }
        out = ex.process.output()
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    recovered = [(e["signal_id"], e["decision"], e["reason"]) for e in events]
    assert ("never-started", "accepted", "recovered") in recovered
    assert ("was-executing", "accepted", "recovered") in recovered
    assert "resuming 2 unfinished signal(s) from the journal" in out
