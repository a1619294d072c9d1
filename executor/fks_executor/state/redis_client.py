"""The Redis connection the Redis backend shares (signal store, fills ledger, rate limiter),
and the errors that mean Redis cannot be used. Imported only when ``state.backend`` is
``redis``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fks_executor.errors import StateUnavailable

__all__ = ["REDIS_ERRORS", "call", "connect"]

T = TypeVar("T")

#: redis-py's errors (connection, timeout, response), OSError and asyncio timeouts.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)


def connect(url: str) -> aioredis.Redis:
    """A client on its own pool (``client.connection_pool``); no I/O until first used."""
    pool = aioredis.ConnectionPool.from_url(
        url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30
    )
    return aioredis.Redis(connection_pool=pool)


async def call(request: Awaitable[T], what: str) -> T:
    """Await ``request``; Redis that cannot be used is ``StateUnavailable`` naming ``what``."""
    try:
        return await request
    except REDIS_ERRORS as exc:
        raise StateUnavailable(f"{what} (Redis) unreachable") from exc
