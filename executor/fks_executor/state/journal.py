"""The durable signal store of a single replica: an SQLite journal (``state.journalPath``).

Same contract as ``fks_executor.state.store`` (claim / complete / get / unfinished / take_over), on
disk: a claimed signal is committed (as ``executing``) before intake answers and before any
order can leave, so an executor that is killed and restarted still knows every signal it
accepted, answers their redeliveries ``duplicate``, and finds the unfinished ones
(``take_over()`` at start) to finish them, looking their orders up first.

SQLite in WAL mode with ``synchronous=FULL``: every commit is fsync'ed, surviving a power
loss as well as a crash. One connection (aiosqlite runs it on its own thread), so statements
are serialised; each claim step is one atomic statement (``INSERT OR IGNORE``, then the
conditional ``UPDATE`` of a retryable failure), so concurrent claims of one id have exactly
one winner. One journal belongs to one pipeline and one process at a time (the memory
backend is single-replica by definition; replicas share state through Redis): ``open()`` takes
an exclusive ``flock`` on ``<journal>.lock`` and refuses a journal another live process holds
(the kernel drops the lock when its holder dies, even by ``kill -9``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from fks_executor.domain import Outcome, Signal
from fks_executor.errors import StateUnavailable
from fks_executor.state.errors import SQLITE_ERRORS
from fks_executor.state.store import (
    DEFAULT_RETENTION_SECONDS,
    Claim,
    SignalRecord,
    SignalState,
    UnabandonedWrites,
    is_retryable,
)

__all__ = ["SqliteSignalStore", "check_journal_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    id              TEXT PRIMARY KEY,
    signal          TEXT NOT NULL,
    state           TEXT NOT NULL,
    received_at     REAL NOT NULL,
    updated_at      REAL NOT NULL,
    unsettled_since REAL,
    attempts        INTEGER NOT NULL DEFAULT 1,
    outcome         TEXT,
    retryable       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS signals_unfinished ON signals (received_at) WHERE state != 'done';
CREATE INDEX IF NOT EXISTS signals_received ON signals (received_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = "signal, state, received_at, updated_at, unsettled_since, attempts, outcome"
_PURGE_EVERY = 1000


def check_journal_path(path: str) -> str | None:
    """Why ``path`` cannot hold the journal (missing or read-only directory), or None."""
    directory = Path(path).resolve().parent
    if not directory.is_dir():
        return f"directory {directory} does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {directory} is not writable"
    if Path(path).exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"{path} is not readable and writable"
    return None


def _record(row: Any) -> SignalRecord:
    signal, state, received_at, updated_at, unsettled_since, attempts, outcome = row
    return SignalRecord(
        signal=Signal.from_dict(orjson.loads(signal)),
        state=SignalState(state),
        received_at=float(received_at),
        updated_at=float(updated_at),
        outcome=Outcome.from_dict(orjson.loads(outcome)) if outcome else None,
        attempts=int(attempts),
        unsettled_since=float(unsettled_since) if unsettled_since is not None else None,
    )


class SqliteSignalStore:
    def __init__(
        self,
        path: str,
        *,
        retention: float = DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.retention = retention
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._lock_fd = -1
        self._claims = 0
        self._writes = UnabandonedWrites()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StateUnavailable("signal journal is not open")
        return self._db

    async def open(self) -> None:
        problem = check_journal_path(self.path)
        if problem:
            raise StateUnavailable(f"signal journal {self.path} cannot be opened: {problem}")
        self._lock()
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=FULL")
            await self._db.execute("PRAGMA busy_timeout=2000")
            await self._db.executescript(_SCHEMA)
            await self._purge()
        except SQLITE_ERRORS as exc:
            await self.close()
            # aiosqlite stops its worker thread without waiting; let it finish while the loop
            # that must hear about it still runs.
            await asyncio.sleep(0.05)
            raise StateUnavailable(f"signal journal {self.path} cannot be opened: {exc}") from exc

    def _lock(self) -> None:
        if self._lock_fd >= 0:
            return
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateUnavailable(
                f"signal journal {self.path} is in use by another executor process (one journal "
                "per replica; replicas share state through Redis)"
            ) from None
        self._lock_fd = fd

    async def close(self) -> None:
        await self._writes.wait()
        if self._db is not None:
            await self._db.close()
            self._db = None
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = -1

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        try:
            cursor = await self.db.execute(sql, args)
            return cursor.rowcount
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("signal journal write failed") from exc

    async def _purge(self) -> None:
        cutoff = self._clock() - self.retention
        await self._write("DELETE FROM signals WHERE received_at < ?", (cutoff,))

    async def claim(self, signal: Signal) -> Claim:
        now = self._clock()
        self._claims += 1
        if self._claims % _PURGE_EVERY == 0:
            await self._purge()
        inserted = await self._write(
            "INSERT OR IGNORE INTO signals (id, signal, state, received_at, updated_at, attempts)"
            " VALUES (?, ?, 'executing', ?, ?, 1)",
            (signal.signal_id, orjson.dumps(signal.as_dict()).decode(), now, now),
        )
        if inserted == 1:
            return Claim(True, SignalRecord(signal, SignalState.EXECUTING, now, now))
        retried = await self._write(
            "UPDATE signals SET state = 'executing', outcome = NULL, retryable = 0,"
            " attempts = attempts + 1, updated_at = ?"
            " WHERE id = ? AND state = 'done' AND retryable = 1",
            (now, signal.signal_id),
        )
        record = await self.get(signal.signal_id)
        if record is None:  # purged between the two statements: claim it afresh
            return await self.claim(signal)
        return Claim(retried == 1, record)

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        now = self._clock()
        write = self._write(
            "UPDATE signals SET state = 'done', outcome = ?, retryable = ?, updated_at = ?,"
            " unsettled_since = CASE WHEN ? THEN ? ELSE unsettled_since END"
            " WHERE id = ?",
            (
                orjson.dumps(outcome.as_dict()).decode(),
                1 if is_retryable(outcome) else 0,
                now,
                1 if outcome.unsettled else 0,
                now,
                signal_id,
            ),
        )
        await self._writes.run(write)

    async def get(self, signal_id: str) -> SignalRecord | None:
        try:
            async with self.db.execute(
                f"SELECT {_COLUMNS} FROM signals WHERE id = ?",  # noqa: S608 - constant
                (signal_id,),
            ) as cursor:
                row = await cursor.fetchone()
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("signal journal read failed") from exc
        if row is None or float(row[2]) < self._clock() - self.retention:
            return None
        return _record(row)

    async def unfinished(self) -> list[SignalRecord]:
        try:
            async with self.db.execute(
                f"SELECT {_COLUMNS} FROM signals WHERE state != 'done'"  # noqa: S608
                " ORDER BY received_at"
            ) as cursor:
                rows = await cursor.fetchall()
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("signal journal read failed") from exc
        return [_record(row) for row in rows]

    async def take_over(self) -> list[SignalRecord]:
        """Everything unfinished: this process holds the journal's lock, so whatever is
        unfinished at start was left by a process that is gone."""
        return await self.unfinished()

    def fence(self) -> None:
        return None

    async def ping(self) -> bool:
        try:
            await self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('ready-probe', ?)",
                (repr(self._clock()),),
            )
        except (sqlite3.Error, OSError, StateUnavailable):
            return False
        return True
