"""Durable fills ledgers for ``dailyLossLimitUSD`` (the contract is ``risk.FillsLedger``).

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
import logging
from collections.abc import Sequence
from typing import Any

import aiosqlite

from fks_executor.errors import StateUnavailable
from fks_executor.risk import Fill, FillsLedger, MemoryFillsLedger, compact, fill_key, utc_day_start

__all__ = ["RedisFillsLedger", "SqliteFillsLedger", "build_ledger"]

log = logging.getLogger("fks_executor.ledgers")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (key TEXT PRIMARY KEY, ts REAL NOT NULL, fill TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS legs (cid TEXT PRIMARY KEY, leg TEXT NOT NULL);
"""


def _encode(fill: Fill) -> str:
    return json.dumps(dataclasses.asdict(fill), separators=(",", ":"))


def _decode(text: str | bytes) -> Fill:
    return Fill(**json.loads(text))


class SqliteFillsLedger:
    def __init__(self, path: str) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            try:
                db = await aiosqlite.connect(self.path, isolation_level=None)
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA synchronous=FULL")
                await db.execute("PRAGMA busy_timeout=2000")
                await db.executescript(_SCHEMA)
            except (OSError, aiosqlite.Error) as exc:
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
                        (fill_key(fill), fill.timestamp, _encode(fill)),
                    )
                    async with db.execute("SELECT count(*) FROM fills WHERE ts < ?", (day,)) as c:
                        row = await c.fetchone()
                    if row is not None and row[0]:
                        async with db.execute("SELECT fill FROM fills") as cursor:
                            every = [_decode(r[0]) for r in await cursor.fetchall()]
                        await db.execute("DELETE FROM fills")
                        await db.executemany(
                            "INSERT INTO fills (key, ts, fill) VALUES (?, ?, ?)",
                            [
                                (fill_key(f), f.timestamp, _encode(f))
                                for f in compact(every, before=day)
                            ],
                        )
                    await db.execute("COMMIT")
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
            except (OSError, aiosqlite.Error) as exc:
                raise StateUnavailable("fills ledger write failed") from exc

    async def fills(self) -> Sequence[Fill]:
        db = await self._conn()
        try:
            async with db.execute("SELECT fill FROM fills") as cursor:
                return tuple(_decode(r[0]) for r in await cursor.fetchall())
        except (OSError, aiosqlite.Error) as exc:
            raise StateUnavailable("fills ledger read failed") from exc

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None:
        db = await self._conn()
        await db.execute(
            "INSERT OR REPLACE INTO legs (cid, leg) VALUES (?, ?)",
            (client_order_id, json.dumps(leg)),
        )

    async def forget_leg(self, client_order_id: str) -> None:
        db = await self._conn()
        await db.execute("DELETE FROM legs WHERE cid = ?", (client_order_id,))

    async def legs(self) -> dict[str, dict[str, Any]]:
        db = await self._conn()
        async with db.execute("SELECT cid, leg FROM legs") as cursor:
            return {str(cid): json.loads(leg) for cid, leg in await cursor.fetchall()}

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None


class RedisFillsLedger:
    def __init__(self, client: Any, pipeline: str) -> None:
        self._redis = client
        self._fills = f"fks:{pipeline}:fills"
        self._legs = f"fks:{pipeline}:legs"

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception as exc:  # redis errors, OSError, timeouts
            raise StateUnavailable("fills ledger (Redis) unreachable") from exc

    async def record(self, fill: Fill) -> None:
        await self._call(self._redis.hset(self._fills, fill_key(fill), _encode(fill)))
        await self._call(self._compact(utc_day_start(fill.timestamp)))

    async def _compact(self, day: float) -> None:
        from redis.exceptions import WatchError

        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._fills)
                    raw = await pipe.hgetall(self._fills)
                    every = [_decode(v) for v in raw.values()]
                    if not any(f.timestamp < day for f in every):
                        await pipe.unwatch()
                        return
                    kept = compact(every, before=day)
                    pipe.multi()
                    pipe.delete(self._fills)
                    pipe.hset(self._fills, mapping={fill_key(f): _encode(f) for f in kept})
                    await pipe.execute()
                    return
                except WatchError:
                    continue  # another replica recorded a fill meanwhile: read again

    async def fills(self) -> Sequence[Fill]:
        raw = await self._call(self._redis.hgetall(self._fills))
        return tuple(_decode(v) for v in raw.values())

    async def track_leg(self, client_order_id: str, leg: dict[str, Any]) -> None:
        await self._call(self._redis.hset(self._legs, client_order_id, json.dumps(leg)))

    async def forget_leg(self, client_order_id: str) -> None:
        await self._call(self._redis.hdel(self._legs, client_order_id))

    async def legs(self) -> dict[str, dict[str, Any]]:
        raw = await self._call(self._redis.hgetall(self._legs))
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): json.loads(v) for k, v in raw.items()
        }

    async def close(self) -> None:
        return None


def build_ledger(
    *,
    pipeline: str,
    daily_loss_limit_usd: float,
    journal_path: str = "",
    redis_client: Any = None,
) -> FillsLedger:
    """The ledger a config needs: durable (Redis, else the journal's file) when the daily loss
    limit is on, else process memory (nothing reads it then, so no I/O on the order path)."""
    if daily_loss_limit_usd > 0:
        if redis_client is not None:
            return RedisFillsLedger(redis_client, pipeline)
        if journal_path:
            return SqliteFillsLedger(journal_path)
    return MemoryFillsLedger()
