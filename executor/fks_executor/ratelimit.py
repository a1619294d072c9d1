"""Per-source rate limiting (``rateLimit.requestsPerMinute``) with the ``limits`` library.

A sliding-window counter per pipeline and source address: in process memory (one replica) or
in Redis (replicas share the budget, so scaling out does not multiply what a source may send).
A Redis that cannot be reached raises ``StateUnavailable`` (503): the request is refused rather
than waved through unlimited.
"""

from __future__ import annotations

from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from fks_executor.errors import StateUnavailable

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, requests_per_minute: int, pipeline: str, storage: Storage) -> None:
        self.item = RateLimitItemPerMinute(requests_per_minute)
        self.pipeline = pipeline
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)

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
        return cls(requests_per_minute, pipeline, storage)

    async def allow(self, source: str) -> bool:
        """Count one request from ``source``; False when it is over the limit."""
        try:
            return bool(await self._limiter.hit(self.item, self.pipeline, source))
        except Exception as exc:
            if isinstance(self._storage, MemoryStorage):
                raise
            raise StateUnavailable("rate limiter state (Redis) unreachable") from exc

    async def close(self) -> None:
        if isinstance(self._storage, MemoryStorage) and self._storage.timer is not None:
            self._storage.timer.cancel()
