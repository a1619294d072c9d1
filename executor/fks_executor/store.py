"""The signal store: idempotency now, the durable journal of execution later — one interface.

Every signal that passes intake is *claimed* under its signal id. The first claim wins and
executes; a later claim of the same id (a redelivery, a replay, the same alert at another
replica) loses and gets the existing record: answered ``duplicate`` with the first outcome.
A record moves through::

    received --mark_executing--> executing --complete(outcome)--> done
        ^                                                          |
        +------ claim again, only when the outcome was retryable --+

Retryable = ``failed`` with a 503 (``exchange_unavailable``, ``circuit_open``,
``state_unavailable``): TradingView resends after a 5xx, and that redelivery gets another
attempt (``attempts`` + 1) instead of a ``duplicate`` of the failure. Whether an earlier
attempt may have sent an order is the executor's to resolve (``Attempt.resume``: look the
order up by client order id before sending). Every other outcome is final.

``unfinished()`` lists records that are not ``done`` (what a restarted executor must finish or
resolve). Backends:

- ``MemorySignalStore``: process memory (one replica; lost on restart).
- ``RedisSignalStore``: one Redis shared by replicas; every claim is one atomic Lua call, so
  two replicas racing on one signal cannot both win.

Records are kept ``retention`` seconds (default 24 h, and never less than twice
``maxSignalAgeSeconds``: an alert older than that is refused ``stale`` anyway, so a replay of a
forgotten id cannot execute twice). Backend failures raise ``StateUnavailable`` (503).
"""

from __future__ import annotations

import enum
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from fks_executor.domain import Outcome, Signal
from fks_executor.errors import StateUnavailable

__all__ = [
    "DEFAULT_RETENTION_SECONDS",
    "Claim",
    "MemorySignalStore",
    "RedisSignalStore",
    "SignalRecord",
    "SignalState",
    "SignalStore",
    "is_retryable",
]

DEFAULT_RETENTION_SECONDS = 24 * 3600.0


class SignalState(enum.StrEnum):
    RECEIVED = "received"
    EXECUTING = "executing"
    DONE = "done"


def is_retryable(outcome: Outcome | None) -> bool:
    """A recorded outcome a redelivery may try again (a 503 failure: nothing final)."""
    return outcome is not None and outcome.status == "failed" and outcome.http_status == 503


@dataclass(frozen=True, slots=True)
class SignalRecord:
    signal: Signal
    state: SignalState
    received_at: float
    updated_at: float
    outcome: Outcome | None = None
    attempts: int = 1
    """Claims that won: 1, or more after retryable failures."""
    started_at: float | None = None
    """When the latest attempt started executing (``mark_executing``)."""

    @property
    def signal_id(self) -> str:
        return self.signal.signal_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal.as_dict(),
            "state": self.state.value,
            "received_at": self.received_at,
            "updated_at": self.updated_at,
            "outcome": self.outcome.as_dict() if self.outcome else None,
            "attempts": self.attempts,
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignalRecord:
        outcome = data.get("outcome")
        started = data.get("started_at")
        return cls(
            signal=Signal.from_dict(data["signal"]),
            state=SignalState(data["state"]),
            received_at=float(data["received_at"]),
            updated_at=float(data["updated_at"]),
            outcome=Outcome.from_dict(outcome) if outcome else None,
            attempts=int(data.get("attempts", 1)),
            started_at=float(started) if started is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """The result of ``claim``: ``won`` -> execute ``record.signal`` (attempt
    ``record.attempts``); else ``record`` is the existing record (a duplicate)."""

    won: bool
    record: SignalRecord


@runtime_checkable
class SignalStore(Protocol):
    """The seam intake and execution share. All methods may raise ``StateUnavailable``."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def claim(self, signal: Signal) -> Claim:
        """Record ``signal`` as received, atomically; see the module docstring."""
        ...

    async def mark_executing(self, signal_id: str) -> None: ...

    async def complete(self, signal_id: str, outcome: Outcome) -> None: ...

    async def get(self, signal_id: str) -> SignalRecord | None: ...

    async def unfinished(self) -> list[SignalRecord]:
        """Records not ``done``, oldest first."""
        ...

    async def ping(self) -> bool:
        """True when the store is reachable and writable (``/ready``)."""
        ...


# The memory store keeps each record as one tuple of plain values (the signal as a tuple, the
# outcome as JSON bytes): the collector stops tracking such tuples, so a full collection does
# not walk 200,000 records (with objects per record, that was pauses of 50-170 ms).
_SIGNAL, _STATE, _RECEIVED, _UPDATED, _OUTCOME, _ATTEMPTS, _STARTED = range(7)
_Row = tuple[Any, ...]


def _row_record(row: _Row) -> SignalRecord:
    outcome = row[_OUTCOME]
    return SignalRecord(
        signal=Signal.from_tuple(row[_SIGNAL]),
        state=SignalState(row[_STATE]),
        received_at=row[_RECEIVED],
        updated_at=row[_UPDATED],
        outcome=Outcome.from_dict(orjson.loads(outcome)) if outcome is not None else None,
        attempts=row[_ATTEMPTS],
        started_at=row[_STARTED],
    )


def _retryable_row(row: _Row) -> bool:
    outcome = row[_OUTCOME]
    return (
        row[_STATE] == "done"
        and outcome is not None
        and is_retryable(Outcome.from_dict(orjson.loads(outcome)))
    )


class MemorySignalStore:
    """Process memory. Bounded: beyond ``max_records`` the oldest finished records go first."""

    def __init__(
        self,
        *,
        retention: float = DEFAULT_RETENTION_SECONDS,
        max_records: int = 200_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention = retention
        self.max_records = max_records
        self._clock = clock
        self._rows: OrderedDict[str, _Row] = OrderedDict()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _evict(self, now: float) -> None:
        """Drop expired records, then the oldest finished ones while over ``max_records``."""
        rows = self._rows
        cutoff = now - self.retention
        doomed: list[str] = []
        excess = len(rows) - self.max_records
        for signal_id, row in rows.items():
            expired = row[_RECEIVED] < cutoff
            if not expired and excess <= len(doomed):
                break
            if expired or row[_STATE] == "done":
                doomed.append(signal_id)
        for signal_id in doomed:
            del rows[signal_id]

    async def claim(self, signal: Signal) -> Claim:
        now = self._clock()
        rows = self._rows
        row = rows.get(signal.signal_id)
        if row is not None and row[_RECEIVED] < now - self.retention:
            del rows[signal.signal_id]
            row = None
        if row is not None:
            if _retryable_row(row):
                row = (row[_SIGNAL], "received", row[_RECEIVED], now, None, row[_ATTEMPTS] + 1,
                       row[_STARTED])  # fmt: skip
                rows[signal.signal_id] = row
                return Claim(True, _row_record(row))
            return Claim(False, _row_record(row))
        rows[signal.signal_id] = (signal.as_tuple(), "received", now, now, None, 1, None)
        oldest = next(iter(rows.values()))
        if len(rows) > self.max_records or oldest[_RECEIVED] < now - self.retention:
            self._evict(now)
        return Claim(True, SignalRecord(signal, SignalState.RECEIVED, now, now))

    async def mark_executing(self, signal_id: str) -> None:
        row = self._rows.get(signal_id)
        if row is not None:
            now = self._clock()
            self._rows[signal_id] = (row[_SIGNAL], "executing", row[_RECEIVED], now, row[_OUTCOME],
                                     row[_ATTEMPTS], now)  # fmt: skip

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        row = self._rows.get(signal_id)
        if row is not None:
            encoded = orjson.dumps(outcome.as_dict())
            self._rows[signal_id] = (row[_SIGNAL], "done", row[_RECEIVED], self._clock(), encoded,
                                     row[_ATTEMPTS], row[_STARTED])  # fmt: skip

    async def get(self, signal_id: str) -> SignalRecord | None:
        row = self._rows.get(signal_id)
        if row is None or row[_RECEIVED] < self._clock() - self.retention:
            return None
        return _row_record(row)

    async def unfinished(self) -> list[SignalRecord]:
        return [_row_record(r) for r in self._rows.values() if r[_STATE] != "done"]

    async def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._rows)


# KEYS[1] record hash, KEYS[2] unfinished set;
# ARGV[1] signal JSON, ARGV[2] ttl ms, ARGV[3] id, ARGV[4] now.
# Returns {won (0|1), HGETALL of the record}, or {1} for a new record.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'state') == 'done'
     and redis.call('HGET', KEYS[1], 'retryable') == '1' then
    redis.call('HSET', KEYS[1], 'state', 'received', 'updated_at', ARGV[4])
    redis.call('HDEL', KEYS[1], 'outcome', 'retryable')
    redis.call('HINCRBY', KEYS[1], 'attempts', 1)
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
    return {1, redis.call('HGETALL', KEYS[1])}
  end
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'signal', ARGV[1], 'state', 'received',
           'received_at', ARGV[4], 'updated_at', ARGV[4], 'attempts', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return {1}
"""
# KEYS[1] record hash, KEYS[2] unfinished set;
# ARGV[1] id, ARGV[2] state, ARGV[3] now, ARGV[4] outcome JSON ('' = unchanged),
# ARGV[5] retryable ('1'/'0')
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_at', ARGV[3])
if ARGV[2] == 'executing' then redis.call('HSET', KEYS[1], 'started_at', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'outcome', ARGV[4], 'retryable', ARGV[5]) end
if ARGV[2] == 'done' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _from_hash(fields: Any) -> SignalRecord | None:
    """A record from HGETALL (a dict) or a script's flat [k, v, k, v...] list."""
    if not fields:
        return None
    if isinstance(fields, dict):
        data = {_text(k): _text(v) for k, v in fields.items()}
    else:
        flat = [_text(x) for x in fields]
        data = dict(zip(flat[::2], flat[1::2], strict=True))
    outcome = data.get("outcome")
    started = data.get("started_at")
    return SignalRecord(
        signal=Signal.from_dict(json.loads(data["signal"])),
        state=SignalState(data["state"]),
        received_at=float(data["received_at"]),
        updated_at=float(data["updated_at"]),
        outcome=Outcome.from_dict(json.loads(outcome)) if outcome else None,
        attempts=int(data.get("attempts", "1")),
        started_at=float(started) if started else None,
    )


class RedisSignalStore:
    """Redis: a hash ``fks:<pipeline>:signal:<id>`` per record (fields ``signal``, ``state``,
    ``received_at``, ``updated_at``, ``started_at``, ``attempts``, ``outcome``,
    ``retryable``; expires after ``retention``) and the sorted set ``fks:<pipeline>:unfinished``
    (ids by claim time). Every operation is one round trip. Uses the ``redis.asyncio`` client
    it is given (the runtime owns the connection pool)."""

    def __init__(
        self,
        client: Any,
        pipeline: str,
        *,
        retention: float = DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self.retention = retention
        self._clock = clock
        self._prefix = f"fks:{pipeline}:signal:"
        self._unfinished = f"fks:{pipeline}:unfinished"
        self._probe = f"fks:{pipeline}:ready-probe"
        self._claim = client.register_script(_CLAIM)
        self._update_script = client.register_script(_UPDATE)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception as exc:  # redis.exceptions.RedisError, OSError, timeouts
            raise StateUnavailable("signal store (Redis) unreachable") from exc

    async def claim(self, signal: Signal) -> Claim:
        now = self._clock()
        result = await self._call(
            self._claim(
                keys=[self._prefix + signal.signal_id, self._unfinished],
                args=[
                    json.dumps(signal.as_dict(), separators=(",", ":")),
                    int(self.retention * 1000),
                    signal.signal_id,
                    repr(now),
                ],
            )
        )
        won, fields = result[0], result[1] if len(result) > 1 else None
        record = _from_hash(fields) or SignalRecord(signal, SignalState.RECEIVED, now, now)
        return Claim(bool(won), record)

    async def _update(
        self, signal_id: str, state: SignalState, outcome: Outcome | None = None
    ) -> None:
        encoded = json.dumps(outcome.as_dict(), separators=(",", ":")) if outcome else ""
        await self._call(
            self._update_script(
                keys=[self._prefix + signal_id, self._unfinished],
                args=[
                    signal_id,
                    state.value,
                    repr(self._clock()),
                    encoded,
                    "1" if is_retryable(outcome) else "0",
                ],
            )
        )

    async def mark_executing(self, signal_id: str) -> None:
        await self._update(signal_id, SignalState.EXECUTING)

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        await self._update(signal_id, SignalState.DONE, outcome)

    async def get(self, signal_id: str) -> SignalRecord | None:
        return _from_hash(await self._call(self._redis.hgetall(self._prefix + signal_id)))

    async def unfinished(self) -> list[SignalRecord]:
        ids = await self._call(self._redis.zrange(self._unfinished, 0, -1))
        out: list[SignalRecord] = []
        for raw_id in ids:
            signal_id = _text(raw_id)
            record = await self.get(signal_id)
            if record is None:  # expired: forget it
                await self._call(self._redis.zrem(self._unfinished, signal_id))
            elif record.state is not SignalState.DONE:
                out.append(record)
        return out

    async def ping(self) -> bool:
        try:
            await self._redis.set(self._probe, "1", px=10_000)
        except Exception:
            return False
        return True
