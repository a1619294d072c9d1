"""The fills ledger on Redis, shared by replicas (``fks_executor.state.ledgers`` has the
contract): hashes ``fks:<pipeline>:fills`` and ``fks:<pipeline>:legs`` (field = client order
id, value = JSON), so every replica sees every fill, and a stop-loss leg placed by one replica
is looked up by whichever takes the next entry. Fills from before the current UTC day are
compacted in a WATCH/MULTI transaction. Imported only with the Redis backend.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from redis.exceptions import WatchError

from fks_executor.fills import Fill, compact, fill_key, utc_day_start
from fks_executor.state.ledgers import decode_fill, encode_fill
from fks_executor.state.redis_client import call

__all__ = ["RedisFillsLedger"]

T = TypeVar("T")


class RedisFillsLedger:
    def __init__(self, client: Any, pipeline: str) -> None:
        self._redis = client
        self._fills = f"fks:{pipeline}:fills"
        self._legs = f"fks:{pipeline}:legs"

    async def _call(self, request: Awaitable[T]) -> T:
        return await call(request, "fills ledger")

    async def record(self, fill: Fill) -> None:
        await self._call(self._redis.hset(self._fills, fill_key(fill), encode_fill(fill)))
        await self._call(self._compact(utc_day_start(fill.timestamp)))

    async def _compact(self, day: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._fills)
                    raw = await pipe.hgetall(self._fills)
                    every = [decode_fill(v) for v in raw.values()]
                    if not any(f.timestamp < day for f in every):
                        await pipe.unwatch()
                        return
                    kept = compact(every, before=day)
                    pipe.multi()
                    pipe.delete(self._fills)
                    pipe.hset(self._fills, mapping={fill_key(f): encode_fill(f) for f in kept})
                    await pipe.execute()
                    return
                except WatchError:
                    continue  # another replica recorded a fill meanwhile: read again

    async def fills(self) -> Sequence[Fill]:
        raw = await self._call(self._redis.hgetall(self._fills))
        return tuple(decode_fill(v) for v in raw.values())

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
