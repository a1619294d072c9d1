"""Fills ledgers for ``dailyLossLimitUSD``: the ``FillsLedger`` contract and its backends.

- :class:`MemoryFillsLedger`: process memory (one process; what the exchange layer uses when
  the limit is off).
- :class:`SqliteFillsLedger`: tables ``fills`` and ``legs`` in the journal's SQLite file (its
  own connection, WAL, fsync'ed commits): a restarted executor still sees today's losses.
- :class:`RedisFillsLedger`: hashes ``fks:<pipeline>:fills`` and ``fks:<pipeline>:legs``
  (field = client order id, value = JSON): every replica sees every fill, and a stop-loss leg
  placed by one replica is looked up by whichever takes the next entry.

Fills are keyed by client order id (recording one order twice counts once). Fills from before
the current UTC day are compacted into one synthetic opening fill per open position (as the
memory ledger does), atomically: an SQLite transaction, a Redis WATCH/MULTI transaction.
``build_ledger`` picks one for a config: a durable ledger only when the limit is on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Protocol

import aiosqlite

from fks_executor.errors import StateUnavailable
from fks_executor.fills import Fill, compact, fill_key, utc_day_start
from fks_executor.state.errors import SQLITE_ERRORS

__all__ = [
    "FillsLedger",
    "MemoryFillsLedger",
    "SqliteFillsLedger",
    "build_ledger",
]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (key TEXT PRIMARY KEY, ts REAL NOT NULL, fill TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS legs (cid TEXT PRIMARY KEY, leg TEXT NOT NULL);
"""


class FillsLedger(Protocol):
    """Where this pipeline's fills are kept, and the protective legs still resting on the
    exchange whose fills are not seen yet (``legs``: client order id -> a JSON-ready
    description the exchange layer writes and reads back).

    Implementations: :class:`MemoryFillsLedger` (one process), :class:`SqliteFillsLedger`
    (next to the journal: survives restarts) and ``RedisFillsLedger`` (shared by replicas). A
    fill is keyed by its client order id, so recording the same order twice (a resumed signal
    finding its order) counts it once.
    """

    async def record(self, fill: Fill) -> None: ...

    async def fills(self) -> Sequence[Fill]: ...

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None: ...

    async def forget_leg(self, client_order_id: str) -> None: ...

    async def legs(self) -> dict[str, dict[str, Any]]: ...

    async def close(self) -> None: ...


class MemoryFillsLedger:
    """In-process ledger; compacts fills older than the current UTC day on each record."""

    def __init__(self) -> None:
        self._fills: dict[str, Fill] = {}
        self._legs: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()

    async def record(self, fill: Fill) -> None:
        async with self._lock:
            self._fills[fill_key(fill)] = fill
            day = utc_day_start(fill.timestamp)
            if any(f.timestamp < day for f in self._fills.values()):
                kept = compact(list(self._fills.values()), before=day)
                self._fills = {fill_key(f): f for f in kept}

    async def fills(self) -> Sequence[Fill]:
        async with self._lock:
            return tuple(self._fills.values())

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None:
        self._legs[client_order_id] = leg

    async def forget_leg(self, client_order_id: str) -> None:
        self._legs.pop(client_order_id, None)

    async def legs(self) -> dict[str, dict[str, Any]]:
        return dict(self._legs)

    async def close(self) -> None:
        return None


def encode_fill(fill: Fill) -> str:
    return json.dumps(dataclasses.asdict(fill), separators=(",", ":"))


def decode_fill(text: str | bytes) -> Fill:
    return Fill(**json.loads(text))


class SqliteFillsLedger:
    def __init__(self, path: str) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            db = None
            try:
                db = await aiosqlite.connect(self.path, isolation_level=None)
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA synchronous=FULL")
                await db.execute("PRAGMA busy_timeout=2000")
                await db.executescript(_SCHEMA)
            except SQLITE_ERRORS as exc:
                if db is not None:
                    await db.close()
                # aiosqlite stops its worker thread without waiting; let it finish while the
                # loop that must hear about it still runs (as the journal does).
                await asyncio.sleep(0.05)
                raise StateUnavailable(f"fills ledger {self.path} cannot be opened") from exc
            self._db = db
        return self._db

    async def record(self, fill: Fill) -> None:
        async with self._lock:
            db = await self._conn()
            day = utc_day_start(fill.timestamp)
            try:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    await db.execute(
                        "INSERT OR REPLACE INTO fills (key, ts, fill) VALUES (?, ?, ?)",
                        (fill_key(fill), fill.timestamp, encode_fill(fill)),
                    )
                    async with db.execute("SELECT count(*) FROM fills WHERE ts < ?", (day,)) as c:
                        row = await c.fetchone()
                    if row is not None and row[0]:
                        async with db.execute("SELECT fill FROM fills") as cursor:
                            every = [decode_fill(r[0]) for r in await cursor.fetchall()]
                        await db.execute("DELETE FROM fills")
                        await db.executemany(
                            "INSERT INTO fills (key, ts, fill) VALUES (?, ?, ?)",
                            [
                                (fill_key(f), f.timestamp, encode_fill(f))
                                for f in compact(every, before=day)
                            ],
                        )
                    await db.execute("COMMIT")
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
            except SQLITE_ERRORS as exc:
                raise StateUnavailable("fills ledger write failed") from exc

    async def fills(self) -> Sequence[Fill]:
        db = await self._conn()
        try:
            async with db.execute("SELECT fill FROM fills") as cursor:
                return tuple(decode_fill(r[0]) for r in await cursor.fetchall())
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("fills ledger read failed") from exc

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None:
        db = await self._conn()
        try:
            await db.execute(
                "INSERT OR REPLACE INTO legs (cid, leg) VALUES (?, ?)",
                (client_order_id, json.dumps(leg)),
            )
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("fills ledger write failed") from exc

    async def forget_leg(self, client_order_id: str) -> None:
        db = await self._conn()
        try:
            await db.execute("DELETE FROM legs WHERE cid = ?", (client_order_id,))
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("fills ledger write failed") from exc

    async def legs(self) -> dict[str, dict[str, Any]]:
        db = await self._conn()
        try:
            async with db.execute("SELECT cid, leg FROM legs") as cursor:
                rows = await cursor.fetchall()
        except SQLITE_ERRORS as exc:
            raise StateUnavailable("fills ledger read failed") from exc
        return {str(cid): json.loads(leg) for cid, leg in rows}

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None


def build_ledger(
    *,
    pipeline: str,
    daily_loss_limit_usd: float,
    journal_path: str = "",
    redis_client: Any = None,
    keeps_positions: bool = False,
) -> FillsLedger:
    """The ledger a config needs: durable (Redis, else the journal's file) when the daily loss
    limit is on or it keeps the spot positions of target-position mode (``keeps_positions``),
    else process memory (nothing reads it then, so no I/O on the order path)."""
    if daily_loss_limit_usd > 0 or keeps_positions:
        if redis_client is not None:
            from fks_executor.state.redis_ledger import RedisFillsLedger

            return RedisFillsLedger(redis_client, pipeline)
        if journal_path:
            return SqliteFillsLedger(journal_path)
    return MemoryFillsLedger()
