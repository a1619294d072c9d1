"""Per-source rate limiting (``rateLimit.requestsPerMinute``) with the ``limits`` library.

A sliding-window counter per pipeline and source address, through ``limits``' asyncio API
on one of two storages:

- memory (one replica): ``limits``' asyncio in-process storage, which expires its counters
  from a task on the event loop (its threaded twin starts a timer thread every 10 ms under a
  steady stream of requests);
- Redis (replicas share the budget, so scaling out does not multiply what a source may
  send), on the connection pool the signal store uses. A Redis that cannot be reached raises
  ``StateUnavailable`` (503): the request is refused rather than waved through unlimited.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from fks_executor.errors import StateUnavailable

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(
        self,
        requests_per_minute: int,
        pipeline: str,
        storage: MemoryStorage | RedisStorage,
    ) -> None:
        self.item = RateLimitItemPerMinute(requests_per_minute)
        self.pipeline = pipeline
        self._storage = storage
        self._window = SlidingWindowCounterRateLimiter(storage)
        self._redis_errors: tuple[type[Exception], ...] = ()

    @classmethod
    def in_memory(cls, requests_per_minute: int, pipeline: str) -> RateLimiter:
        return cls(requests_per_minute, pipeline, MemoryStorage())

    @classmethod
    def on_redis(cls, requests_per_minute: int, pipeline: str, connection_pool: Any) -> RateLimiter:
        """Share an existing ``redis.asyncio.ConnectionPool`` (closed by its owner)."""
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=f"fks:{pipeline}:ratelimit",
            connection_pool=connection_pool,
        )
        limiter = cls(requests_per_minute, pipeline, storage)
        from fks_executor.state.redis_client import REDIS_ERRORS

        limiter._redis_errors = REDIS_ERRORS
        return limiter

    async def allow(self, source: str) -> bool:
        """Count one request from ``source``; False when it is over the limit."""
        try:
            return bool(await self._window.hit(self.item, self.pipeline, source))
        except self._redis_errors as exc:  # (none for the memory storage)
            raise StateUnavailable("rate limiter state (Redis) unreachable") from exc

    async def close(self) -> None:
        if isinstance(self._storage, MemoryStorage) and self._storage.timer is not None:
            self._storage.timer.cancel()  # its expiry task
            with contextlib.suppress(asyncio.CancelledError):
                await self._storage.timer
