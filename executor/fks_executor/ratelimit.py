"""Per-source rate limiting (``rateLimit.requestsPerMinute``) with the ``limits`` library.

A sliding-window counter per pipeline and source address:

- memory (one replica): ``limits``' in-process storage, called synchronously (its hits are
  dict operations under a per-key lock: nothing to await).
- Redis (replicas share the budget, so scaling out does not multiply what a source may
  send), on the connection pool the signal store uses. A Redis that cannot be reached raises
  ``StateUnavailable`` (503): the request is refused rather than waved through unlimited.
"""

from __future__ import annotations

from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindow
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter as SlidingWindow

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
        self._memory = SlidingWindow(storage) if isinstance(storage, MemoryStorage) else None
        self._redis = AsyncSlidingWindow(storage) if isinstance(storage, RedisStorage) else None
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
        if self._memory is not None:
            return bool(self._memory.hit(self.item, self.pipeline, source))
        assert self._redis is not None
        try:
            return bool(await self._redis.hit(self.item, self.pipeline, source))
        except self._redis_errors as exc:
            raise StateUnavailable("rate limiter state (Redis) unreachable") from exc

    async def close(self) -> None:
        if isinstance(self._storage, MemoryStorage):
            self._storage.timer.cancel()  # its expiry thread
