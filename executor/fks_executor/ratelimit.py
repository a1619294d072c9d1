"""Per-source rate limiting (``rateLimit.requestsPerMinute``) with the ``limits`` library.

A sliding-window counter per pipeline and source address:

- memory (one replica): ``limits``' in-process storage, called synchronously (its hits are
  dict operations under a per-key lock: nothing to await, and about half the cost of the
  asyncio flavour on the webhook's hot path). Stock, it starts a timer thread that walks every
  key whenever the previous one has finished; ``ThrottledMemoryStorage`` does that at most
  once a second, so the cost per request stays flat however many sources there are.
- Redis (replicas share the budget, so scaling out does not multiply what a source may
  send), on the connection pool the signal store uses. A Redis that cannot be reached raises
  ``StateUnavailable`` (503): the request is refused rather than waved through unlimited.
"""

from __future__ import annotations

import time
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindow
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter as SlidingWindow

from fks_executor.errors import StateUnavailable

__all__ = ["RateLimiter", "ThrottledMemoryStorage"]


class ThrottledMemoryStorage(MemoryStorage):
    """``MemoryStorage`` whose expiry pass starts at most every ``expiry_interval`` seconds."""

    expiry_interval = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._last_expiry = float("-inf")

    # Overrides the base class's private scheduler (name-mangled as below; a unit test checks
    # it is still called). Should a limits release rename it, the stock behaviour applies.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._last_expiry >= self.expiry_interval:
            self._last_expiry = now
            getattr(super(), "_MemoryStorage__schedule_expiry")()  # noqa: B009

    def close(self) -> None:
        self._last_expiry = float("inf")  # never again
        self.timer.cancel()


class RateLimiter:
    def __init__(
        self,
        requests_per_minute: int,
        pipeline: str,
        storage: ThrottledMemoryStorage | RedisStorage,
    ) -> None:
        self.item = RateLimitItemPerMinute(requests_per_minute)
        self.pipeline = pipeline
        self._storage = storage
        self._memory = SlidingWindow(storage) if isinstance(storage, MemoryStorage) else None
        self._redis = AsyncSlidingWindow(storage) if isinstance(storage, RedisStorage) else None

    @classmethod
    def in_memory(cls, requests_per_minute: int, pipeline: str) -> RateLimiter:
        return cls(requests_per_minute, pipeline, ThrottledMemoryStorage())

    @classmethod
    def on_redis(cls, requests_per_minute: int, pipeline: str, connection_pool: Any) -> RateLimiter:
        """Share an existing ``redis.asyncio.ConnectionPool`` (closed by its owner)."""
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=f"fks:{pipeline}:ratelimit",
            connection_pool=connection_pool,
        )
        return cls(requests_per_minute, pipeline, storage)

    async def allow(self, source: str) -> bool:
        """Count one request from ``source``; False when it is over the limit."""
        if self._memory is not None:
            return bool(self._memory.hit(self.item, self.pipeline, source))
        assert self._redis is not None
        try:
            return bool(await self._redis.hit(self.item, self.pipeline, source))
        except Exception as exc:
            raise StateUnavailable("rate limiter state (Redis) unreachable") from exc

    async def close(self) -> None:
        if isinstance(self._storage, ThrottledMemoryStorage):
            self._storage.close()
