"""Only a backend's own errors become ``StateUnavailable`` (503, "unreachable"); a bug in the
code around it surfaces as itself, never as "Redis unreachable"."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from fks_executor.errors import StateUnavailable
from fks_executor.fills import Fill
from fks_executor.state.journal import SqliteSignalStore
from fks_executor.state.ledgers import SqliteFillsLedger
from fks_executor.state.redis_client import call


async def failing(error: Exception) -> None:
    raise error


async def test_a_redis_connection_error_is_state_unavailable() -> None:
    with pytest.raises(StateUnavailable, match=r"signal store \(Redis\) unreachable"):
        await call(failing(RedisConnectionError("refused")), "signal store")
    with pytest.raises(StateUnavailable):
        await call(failing(TimeoutError()), "fills ledger")


async def test_a_bug_next_to_redis_is_not_reported_as_redis_unreachable() -> None:
    # (a stand-in coroutine: a bug in the code that decodes Redis's answer cannot be provoked
    # against a real Redis)
    with pytest.raises(KeyError):
        await call(failing(KeyError("signal")), "signal store")


async def test_a_journal_file_that_cannot_be_opened_is_state_unavailable(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    path = str(not_a_directory / "journal.db")  # (root may write anywhere: no chmod here)
    ledger = SqliteFillsLedger(path)
    with pytest.raises(StateUnavailable):
        await ledger.record(Fill(1.0, "main", "BTC/USDT", "buy", 1.0, 68_000.0))
    with pytest.raises(StateUnavailable):
        await ledger.legs()
    with pytest.raises(StateUnavailable):
        await SqliteSignalStore(path).open()
