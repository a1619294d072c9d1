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


@dataclass(slots=True)
class _Entry:
    """The memory store's mutable record (updated in place: no copy per state change)."""

    signal: Signal
    state: SignalState
    received_at: float
    updated_at: float
    outcome: Outcome | None = None
    attempts: int = 1
    started_at: float | None = None

    def record(self) -> SignalRecord:
        return SignalRecord(
            self.signal,
            self.state,
            self.received_at,
            self.updated_at,
            self.outcome,
            self.attempts,
            self.started_at,
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
        self._records: OrderedDict[str, _Entry] = OrderedDict()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _evict(self, now: float) -> None:
        """Drop expired records, then the oldest finished ones while over ``max_records``."""
        records = self._records
        cutoff = now - self.retention
        doomed: list[str] = []
        excess = len(records) - self.max_records
        for signal_id, entry in records.items():
            expired = entry.received_at < cutoff
            if not expired and excess <= len(doomed):
                break
            if expired or entry.state is SignalState.DONE:
                doomed.append(signal_id)
        for signal_id in doomed:
            del records[signal_id]

    async def claim(self, signal: Signal) -> Claim:
        now = self._clock()
        entry = self._records.get(signal.signal_id)
        if entry is not None and entry.received_at < now - self.retention:
            del self._records[signal.signal_id]
            entry = None
        if entry is not None:
            if entry.state is SignalState.DONE and is_retryable(entry.outcome):
                entry.state = SignalState.RECEIVED
                entry.outcome = None
                entry.attempts += 1
                entry.updated_at = now
                return Claim(True, entry.record())
            return Claim(False, entry.record())
        entry = _Entry(signal, SignalState.RECEIVED, now, now)
        self._records[signal.signal_id] = entry
        oldest = next(iter(self._records.values()))
        if len(self._records) > self.max_records or oldest.received_at < now - self.retention:
            self._evict(now)
        return Claim(True, entry.record())

    async def mark_executing(self, signal_id: str) -> None:
        entry = self._records.get(signal_id)
        if entry is not None:
            entry.state = SignalState.EXECUTING
            entry.started_at = entry.updated_at = self._clock()

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        entry = self._records.get(signal_id)
        if entry is not None:
            entry.state = SignalState.DONE
            entry.outcome = outcome
            entry.updated_at = self._clock()

    async def get(self, signal_id: str) -> SignalRecord | None:
        entry = self._records.get(signal_id)
        if entry is None or entry.received_at < self._clock() - self.retention:
            return None
        return entry.record()

    async def unfinished(self) -> list[SignalRecord]:
        return [e.record() for e in self._records.values() if e.state is not SignalState.DONE]

    async def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._records)


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
