"""The signal store: idempotency and the journal of execution — one interface, three backends.

Every signal that passes intake is *claimed* under its signal id. The first claim wins and
executes; a later claim of the same id (a redelivery, a replay, the same alert at another
replica) loses and gets the existing record: answered ``duplicate`` with the first outcome.
A record moves through::

    (claim) --> executing --complete(outcome)--> done
                   ^                              |
                   +--- claim again, only when the outcome was retryable

A claim records the signal as ``executing`` in one write, *before* anything is answered or
sent: durable backends therefore always know every signal that may have sent an order.

Retryable = ``failed`` with a 503 (``exchange_unavailable``, ``circuit_open``,
``state_unavailable``): TradingView resends after a 5xx, and that redelivery gets another
attempt (``attempts`` + 1) instead of a ``duplicate`` of the failure. Every other outcome is
final. ``unsettled_since`` tells the next attempt whether an earlier one may have left an order
on the exchange: it is set (to the time that attempt ended) when a retryable outcome is
``unsettled`` (an order request went out and its fate could not be established), kept by later
attempts that do not settle it, and the next attempt then looks its orders up by client order
id before sending anything.

``take_over()`` hands this process the unfinished records nobody else is executing (a restart
finishing what a killed process left, or, on Redis, what a dead replica left). ``fence()`` is
called right before every order is sent: it raises ``LeaseLost`` when this process may no
longer act for the signals it holds (Redis only).

Backends:

- ``MemorySignalStore``: process memory (one replica; lost on restart; dry-run only).
- ``SqliteSignalStore`` (``fks_executor.state.journal``): a durable journal for one replica.
- ``RedisSignalStore`` (``fks_executor.state.redis_store``): shared by replicas, with ownership.

A ``complete()`` that has started is finished even when its caller is cancelled (a shutdown
stopping an execution whose order went out): the backends that await I/O run the write through
``UnabandonedWrites``, and ``close()`` waits for such writes before closing the connection.

Records are kept ``retention`` seconds (default 24 h, and never less than twice
``maxSignalAgeSeconds``: an alert older than that is refused ``stale`` anyway, so a replay of a
forgotten id cannot execute twice). Backend failures raise ``StateUnavailable`` (503).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import orjson

from fks_executor.domain import Outcome, Signal

__all__ = [
    "DEFAULT_RETENTION_SECONDS",
    "Claim",
    "MemorySignalStore",
    "SignalRecord",
    "SignalState",
    "SignalStore",
    "UnabandonedWrites",
    "is_retryable",
]

DEFAULT_RETENTION_SECONDS = 24 * 3600.0

log = logging.getLogger("fks_executor.state")


class SignalState(enum.StrEnum):
    EXECUTING = "executing"
    DONE = "done"


def is_retryable(outcome: Outcome | None) -> bool:
    """A recorded outcome a redelivery may try again (a 503 failure: nothing final)."""
    return outcome is not None and outcome.status == "failed" and outcome.http_status == 503


def next_unsettled(outcome: Outcome, previous: float | None, now: float) -> float | None:
    """``unsettled_since`` after ``complete(outcome)``: now when this attempt left an order
    unsettled, else what an earlier attempt left (only a final outcome ends the question)."""
    return now if outcome.unsettled else previous


@dataclass(frozen=True, slots=True)
class SignalRecord:
    signal: Signal
    state: SignalState
    received_at: float
    updated_at: float
    outcome: Outcome | None = None
    attempts: int = 1
    """Claims that won: 1, or more after retryable failures."""
    unsettled_since: float | None = None
    """An earlier attempt may have sent an order that was neither seen nor ruled out; it
    ended at this time (the next attempt looks its orders up before sending anything)."""
    owner: str | None = None
    """The replica executing it (Redis backend)."""

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
            "unsettled_since": self.unsettled_since,
            "owner": self.owner,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignalRecord:
        outcome = data.get("outcome")
        unsettled = data.get("unsettled_since")
        return cls(
            signal=Signal.from_dict(data["signal"]),
            state=SignalState(data["state"]),
            received_at=float(data["received_at"]),
            updated_at=float(data["updated_at"]),
            outcome=Outcome.from_dict(outcome) if outcome else None,
            attempts=int(data.get("attempts", 1)),
            unsettled_since=float(unsettled) if unsettled is not None else None,
            owner=data.get("owner"),
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
        """Record ``signal`` as executing, atomically; see the module docstring."""
        ...

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        """Record ``outcome``; once started, the write is finished even if the caller is
        cancelled, and ``close()`` waits for it."""
        ...

    async def get(self, signal_id: str) -> SignalRecord | None: ...

    async def unfinished(self) -> list[SignalRecord]:
        """Records not ``done``, oldest first."""
        ...

    async def take_over(self) -> list[SignalRecord]:
        """Unfinished records no live process executes, now this process's to finish."""
        ...

    def fence(self) -> None:
        """Raise ``LeaseLost`` when this process may not send orders for its signals now."""
        ...

    async def ping(self) -> bool:
        """True when the store is reachable and writable (``/ready``)."""
        ...


# The memory store keeps each record as one tuple of plain values (the signal as a tuple, the
# outcome as a JSON str): the collector stops tracking such tuples, so a full collection does
# not walk 200,000 records (with objects per record, that was pauses of 50-170 ms).
_SIGNAL, _STATE, _RECEIVED, _UPDATED, _OUTCOME, _ATTEMPTS, _UNSETTLED = range(7)
_Row = tuple[Any, ...]


T = TypeVar("T")


class UnabandonedWrites:
    """Writes a cancelled caller must not abandon half-way (an outcome whose order went out):
    each runs as a task the caller's cancellation does not reach; ``wait()`` (at close) lets
    those still running finish."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    async def run(self, write: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(write)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    #: How long ``wait()`` gives the writes still running.
    patience = 10.0

    async def wait(self) -> None:
        if self._running:
            await asyncio.wait(set(self._running), timeout=self.patience)


def _row_record(row: _Row) -> SignalRecord:
    outcome = row[_OUTCOME]
    return SignalRecord(
        signal=Signal.from_tuple(row[_SIGNAL]),
        state=SignalState(row[_STATE]),
        received_at=row[_RECEIVED],
        updated_at=row[_UPDATED],
        outcome=Outcome.from_dict(orjson.loads(outcome)) if outcome is not None else None,
        attempts=row[_ATTEMPTS],
        unsettled_since=row[_UNSETTLED],
    )


def _settled(row: _Row) -> bool:
    """Finished, and no order of it may be out there unaccounted for (droppable)."""
    return row[_STATE] == "done" and not (row[_UNSETTLED] is not None and _retryable_row(row))


def _retryable_row(row: _Row) -> bool:
    outcome = row[_OUTCOME]
    return (
        row[_STATE] == "done"
        and outcome is not None
        and is_retryable(Outcome.from_dict(orjson.loads(outcome)))
    )


class MemorySignalStore:
    """Process memory (dry-run only). Bounded at ``max_records``: past it, the oldest *settled*
    records go first (final outcomes, and retryable failures that left no order unsettled);
    a signal executing, or whose order may be out there, is never dropped. Dropping a record
    shortens the idempotency window below ``retention`` (a redelivery of a dropped id that is
    not yet stale executes again): logged, at most every ``WARN_EVERY`` seconds, with the age of
    the oldest record kept (docs/executor.md#footprint)."""

    #: ~0.8 KiB a record: the cap holds ~16 MiB.
    MAX_RECORDS = 20_000
    WARN_EVERY = 600.0

    def __init__(
        self,
        *,
        retention: float = DEFAULT_RETENTION_SECONDS,
        max_records: int = MAX_RECORDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention = retention
        self.max_records = max_records
        self._clock = clock
        self._rows: OrderedDict[str, _Row] = OrderedDict()
        self._warned_at = float("-inf")

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _evict(self, now: float) -> None:
        """Drop expired finished records, then the oldest settled ones while over the cap."""
        rows = self._rows
        cutoff = now - self.retention
        doomed: list[str] = []
        dropped_young = 0
        excess = len(rows) - self.max_records
        for signal_id, row in rows.items():
            expired = row[_RECEIVED] < cutoff
            if not expired and excess <= len(doomed):
                break
            if expired and row[_STATE] == "done":
                doomed.append(signal_id)
            elif not expired and _settled(row):
                doomed.append(signal_id)
                dropped_young += 1
        for signal_id in doomed:
            del rows[signal_id]
        if dropped_young and now - self._warned_at >= self.WARN_EVERY:
            self._warned_at = now
            kept = now - next(iter(rows.values()))[_RECEIVED] if rows else 0.0
            log.warning(
                "memory signal store full (%d records): dropped %d settled records younger "
                "than the %.0f s retention; the oldest kept was received %.0f s ago (a "
                "redelivery of an older id, if not yet stale, executes again)",
                self.max_records,
                dropped_young,
                self.retention,
                kept,
            )

    async def claim(self, signal: Signal) -> Claim:
        now = self._clock()
        rows = self._rows
        row = rows.get(signal.signal_id)
        if row is not None and row[_RECEIVED] < now - self.retention:
            del rows[signal.signal_id]
            row = None
        if row is not None:
            if _retryable_row(row):
                row = (row[_SIGNAL], "executing", row[_RECEIVED], now, None, row[_ATTEMPTS] + 1,
                       row[_UNSETTLED])  # fmt: skip
                rows[signal.signal_id] = row
                return Claim(True, _row_record(row))
            return Claim(False, _row_record(row))
        rows[signal.signal_id] = (signal.as_tuple(), "executing", now, now, None, 1, None)
        oldest = next(iter(rows.values()))
        if len(rows) > self.max_records or oldest[_RECEIVED] < now - self.retention:
            self._evict(now)
        return Claim(True, SignalRecord(signal, SignalState.EXECUTING, now, now))

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        row = self._rows.get(signal_id)
        if row is not None:
            now = self._clock()
            # a str: the bytes orjson returns keep its 4 KiB write buffer allocated
            encoded = orjson.dumps(outcome.as_dict()).decode()
            self._rows[signal_id] = (row[_SIGNAL], "done", row[_RECEIVED], now, encoded,
                                     row[_ATTEMPTS],
                                     next_unsettled(outcome, row[_UNSETTLED], now))  # fmt: skip

    async def get(self, signal_id: str) -> SignalRecord | None:
        row = self._rows.get(signal_id)
        if row is None or row[_RECEIVED] < self._clock() - self.retention:
            return None
        return _row_record(row)

    async def unfinished(self) -> list[SignalRecord]:
        return [_row_record(r) for r in self._rows.values() if r[_STATE] != "done"]

    async def take_over(self) -> list[SignalRecord]:
        return await self.unfinished()

    def fence(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._rows)
