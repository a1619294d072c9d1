"""A deduplicating, rate-limited work queue, as client-go's workqueue.

Watch events only say "look at this object again"; the reconcile reads the current state. So a
key waiting in the queue is queued once however many events name it, a key is never reconciled
by two workers at once, and a key added while it is being reconciled runs once more afterwards
(the event may have come after the reconcile read its inputs). Failed keys come back after an
exponential backoff. *Urgent* keys (a spec or input changed, an object seen for the first time,
drift) are handed out before the others (a Deployment's progress, a resync, a retry), so that
after a cold start every object is reconciled once before any is looked at again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class QueueClosed(Exception):
    """The queue was closed while a worker waited for a key."""


class _Closed:
    """Sentinel handed to each waiting worker by close()."""


_CLOSED = _Closed()


class WorkQueue(Generic[K]):
    """Keys to reconcile. Use from one event loop only (no locking needed)."""

    def __init__(self) -> None:
        # (0 urgent | 1 normal | 2 closing, sequence, key): FIFO within a priority. A key made
        # urgent while waiting has two entries; the later one finds it no longer waiting.
        self._order: asyncio.PriorityQueue[tuple[int, int, K | _Closed]] = asyncio.PriorityQueue()
        self._sequence = itertools.count()
        self._urgent: set[K] = set()  # waiting with an urgent entry
        self._waiting: set[K] = set()  # in _order
        self._active: set[K] = set()  # handed to a worker, not done yet
        self._again: set[K] = set()  # added while active: requeue on done()
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._closed = False

    def __len__(self) -> int:
        """Keys waiting (not counting those being reconciled or delayed)."""
        return len(self._waiting)

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def delayed(self) -> int:
        return len(self._timers)

    def add(self, key: K, *, urgent: bool = False) -> None:
        """Queue ``key`` now (no-op when already waiting, unless it becomes urgent)."""
        if self._closed:
            return
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if key in self._active:
            self._again.add(key)
            return
        if key in self._waiting and (key in self._urgent or not urgent):
            return
        self._waiting.add(key)
        if urgent:
            self._urgent.add(key)
        self._order.put_nowait((0 if urgent else 1, next(self._sequence), key))

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds; an earlier pending add wins."""
        if delay <= 0:
            self.add(key)
            return
        if self._closed or key in self._waiting:
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        timer = self._timers.get(key)
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timers[key] = loop.call_at(when, self._fire, key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def get(self) -> K:
        """The next key; the caller must call :meth:`done` with it when finished."""
        while True:
            _, _, item = await self._order.get()
            if isinstance(item, _Closed):
                raise QueueClosed
            if item in self._waiting:  # false for the older entry of a key made urgent
                self._waiting.discard(item)
                self._urgent.discard(item)
                self._active.add(item)
                return item

    def done(self, key: K) -> None:
        """Mark ``key`` finished; it is queued again if it was added meanwhile."""
        self._active.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)

    def forget(self, key: K) -> None:
        """Drop a pending delayed add of ``key`` (the object is gone)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def close(self, waiters: int) -> None:
        """Stop handing out keys: ``waiters`` blocked :meth:`get` calls raise QueueClosed."""
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for _ in range(waiters):
            self._order.put_nowait((2, next(self._sequence), _CLOSED))


def backoff(failures: int, *, base: float = 0.5, cap: float = 300.0) -> float:
    """Delay before retrying a key that failed ``failures`` times in a row (exponential)."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - 1, 30)))
