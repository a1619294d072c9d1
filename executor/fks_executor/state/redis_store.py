"""The signal store on Redis, shared by replicas: atomic claims, and ownership with leases.

Keys (one pipeline; a single Redis, not Redis Cluster — scripts touch several keys):

- ``fks:<pipeline>:signal:<id>``: a hash per record (``signal``, ``state``, ``received_at``,
  ``updated_at``, ``attempts``, ``outcome``, ``retryable``, ``unsettled_since``, ``owner``);
  expires after ``retention``;
- ``fks:<pipeline>:unfinished``: a sorted set of the ids not ``done`` (by claim time);
- ``fks:<pipeline>:owner:<replica>``: the replica's lease, a key that expires ``lease``
  seconds after it was last renewed.

Ownership. Every replica has a random owner id. A claim (one Lua call) records the signal as
``executing`` with ``owner`` = this replica and renews its lease; a heartbeat renews the lease
every ``lease / 6`` s. A record whose owner's lease key is gone belongs to a dead replica:
``take_over()`` (run at start and every ``lease / 3`` s) moves it, atomically, to this replica,
so exactly one survivor resumes it (looking its orders up by client order id first).

Fencing. Before each order, ``fence()`` checks *locally* (no round trip) that this replica's
lease was renewed recently enough that it still has at least ``lease / 2`` s to run: a replica
cut off from Redis stops sending orders well before anybody could take its signals over, and
a taken-over record never gets the old owner's outcome (``complete`` is conditional on the
owner). The leftover risk is a process that stalls for more than ``lease / 2`` s between the
fence and the moment its order request is signed.

Durability: run Redis with ``appendonly yes`` (``appendfsync always`` to survive a power loss
of the Redis host, ``everysec`` loses at most a second of claims). Without persistence, a
restarted Redis forgets every claim, and a redelivered alert would be executed again. The
store warns at start when AOF is off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fks_executor.domain import Outcome, Signal
from fks_executor.errors import LeaseLost, StateUnavailable
from fks_executor.state.redis_client import REDIS_ERRORS, call
from fks_executor.state.store import (
    DEFAULT_RETENTION_SECONDS,
    Claim,
    SignalRecord,
    SignalState,
    UnabandonedWrites,
    is_retryable,
)

__all__ = ["DEFAULT_LEASE_SECONDS", "RedisSignalStore", "owner_id"]

log = logging.getLogger("fks_executor.state")

T = TypeVar("T")

DEFAULT_LEASE_SECONDS = 30.0

# KEYS[1] record hash, KEYS[2] unfinished set, KEYS[3] this replica's lease key;
# ARGV[1] signal JSON, ARGV[2] retention ms, ARGV[3] id, ARGV[4] now, ARGV[5] owner,
# ARGV[6] lease ms
# Returns {won (0|1), HGETALL of the record}, or {1} for a new record.
_CLAIM = """
redis.call('SET', KEYS[3], '1', 'PX', ARGV[6])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'state') == 'done'
     and redis.call('HGET', KEYS[1], 'retryable') == '1' then
    redis.call('HSET', KEYS[1], 'state', 'executing', 'updated_at', ARGV[4], 'owner', ARGV[5])
    redis.call('HDEL', KEYS[1], 'outcome', 'retryable')
    redis.call('HINCRBY', KEYS[1], 'attempts', 1)
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
    return {1, redis.call('HGETALL', KEYS[1])}
  end
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'signal', ARGV[1], 'state', 'executing', 'received_at', ARGV[4],
           'updated_at', ARGV[4], 'attempts', 1, 'owner', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return {1}
"""
# KEYS[1] record hash, KEYS[2] unfinished set;
# ARGV[1] id, ARGV[2] now, ARGV[3] outcome JSON, ARGV[4] retryable, ARGV[5] unsettled, ARGV[6] owner
# Returns 1 (recorded), 0 (no such record), -1 (another replica owns it now).
_COMPLETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[6] then return -1 end
redis.call('HSET', KEYS[1], 'state', 'done', 'updated_at', ARGV[2], 'outcome', ARGV[3],
           'retryable', ARGV[4])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'unsettled_since', ARGV[2]) end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
# KEYS[1] record hash, KEYS[2] unfinished set, KEYS[3] this replica's lease key;
# ARGV[1] id, ARGV[2] lease key prefix, ARGV[3] owner, ARGV[4] now, ARGV[5] lease ms
# Returns the record (HGETALL) when this replica now owns it, else nil.
_TAKE_OVER = """
redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'state') == 'done' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return nil
end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and redis.call('EXISTS', ARGV[2] .. owner) == 1 then return nil end
redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'updated_at', ARGV[4])
return redis.call('HGETALL', KEYS[1])
"""


def owner_id() -> str:
    """A replica's owner id: host (the pod name), pid and 32 random bits."""
    host = socket.gethostname().split(".", 1)[0][:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


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
    unsettled = data.get("unsettled_since")
    return SignalRecord(
        signal=Signal.from_dict(json.loads(data["signal"])),
        state=SignalState(data["state"]),
        received_at=float(data["received_at"]),
        updated_at=float(data["updated_at"]),
        outcome=Outcome.from_dict(json.loads(outcome)) if outcome else None,
        attempts=int(data.get("attempts", "1")),
        unsettled_since=float(unsettled) if unsettled else None,
        owner=data.get("owner"),
    )


class RedisSignalStore:
    """Redis, one round trip per operation; uses the ``redis.asyncio`` client it is given
    (the runtime owns the connection pool)."""

    def __init__(
        self,
        client: Any,
        pipeline: str,
        *,
        retention: float = DEFAULT_RETENTION_SECONDS,
        lease: float = DEFAULT_LEASE_SECONDS,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self.retention = retention
        self.lease = lease
        self.owner = owner or owner_id()
        self._clock = clock
        self._monotonic = monotonic
        self._prefix = f"fks:{pipeline}:signal:"
        self._unfinished = f"fks:{pipeline}:unfinished"
        self._lease_prefix = f"fks:{pipeline}:owner:"
        self._lease_key = self._lease_prefix + self.owner
        self._probe = f"fks:{pipeline}:ready-probe"
        self._claim = client.register_script(_CLAIM)
        self._complete = client.register_script(_COMPLETE)
        self._take_over = client.register_script(_TAKE_OVER)
        self._valid_until = float("-inf")
        self._heartbeat: asyncio.Task[None] | None = None
        self._writes = UnabandonedWrites()

    @property
    def lease_ms(self) -> int:
        return int(self.lease * 1000)

    # --- lifecycle and the lease ------------------------------------------------------------

    async def open(self) -> None:
        """Renew the lease (best effort: Redis may come up later) and start the heartbeat."""
        with contextlib.suppress(StateUnavailable):
            await self.renew()
        warning = await self.persistence_warning()
        if warning:
            log.warning("%s", warning)
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat(), name="fks-lease-heartbeat")

    async def close(self) -> None:
        """Stop renewing and give the lease up, so other replicas take over at once (once the
        outcomes still being written are in)."""
        await self._writes.wait()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        self._valid_until = float("-inf")
        with contextlib.suppress(*REDIS_ERRORS):
            await self._redis.delete(self._lease_key)

    async def renew(self) -> None:
        sent = self._monotonic()
        await self._call(self._redis.set(self._lease_key, "1", px=self.lease_ms))
        self._renewed(sent)

    def _renewed(self, sent: float) -> None:
        # Redis counts the TTL from when it ran the command, after ``sent``: the key lives at
        # least until sent + lease by this clock.
        self._valid_until = max(self._valid_until, sent + self.lease)

    async def _beat(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.lease / 6)
            try:
                await self.renew()
            except StateUnavailable:
                if not failing:
                    log.warning("cannot renew this replica's lease in Redis; orders stop when "
                                "it has less than %.0f s left", self.lease / 2)  # fmt: skip
                failing = True
                continue
            if failing:
                log.warning("lease in Redis renewed again")
            failing = False

    def fence(self) -> None:
        left = self._valid_until - self._monotonic()
        if left < self.lease / 2:
            raise LeaseLost(
                f"this replica's lease in Redis was not renewed in time ({max(left, 0.0):.1f} s "
                "left): no order is sent; another replica takes the signal over"
            )

    async def persistence_warning(self) -> str | None:
        """A warning when Redis does not persist claims (AOF off), else None."""
        try:
            info = await self._redis.info("persistence")
        except REDIS_ERRORS:
            return None
        if str(info.get("aof_enabled", "1")) in ("0", "False", "false"):
            return (
                "Redis runs without appendonly (AOF): a Redis restart forgets the claimed "
                "signals, and a redelivered alert could then be executed again; set "
                "appendonly yes (docs/executor.md)"
            )
        return None

    # --- the store --------------------------------------------------------------------------

    async def _call(self, request: Awaitable[T]) -> T:
        return await call(request, "signal store")

    async def claim(self, signal: Signal) -> Claim:
        now = self._clock()
        sent = self._monotonic()
        result = await self._call(
            self._claim(
                keys=[self._prefix + signal.signal_id, self._unfinished, self._lease_key],
                args=[
                    json.dumps(signal.as_dict(), separators=(",", ":")),
                    int(self.retention * 1000),
                    signal.signal_id,
                    repr(now),
                    self.owner,
                    self.lease_ms,
                ],
            )
        )
        self._renewed(sent)
        won, fields = result[0], result[1] if len(result) > 1 else None
        record = _from_hash(fields) or SignalRecord(
            signal, SignalState.EXECUTING, now, now, owner=self.owner
        )
        return Claim(bool(won), record)

    async def complete(self, signal_id: str, outcome: Outcome) -> None:
        done = await self._writes.run(
            self._call(
                self._complete(
                    keys=[self._prefix + signal_id, self._unfinished],
                    args=[
                        signal_id,
                        repr(self._clock()),
                        json.dumps(outcome.as_dict(), separators=(",", ":")),
                        "1" if is_retryable(outcome) else "0",
                        "1" if outcome.unsettled else "0",
                        self.owner,
                    ],
                )
            )
        )
        if int(done) < 0:
            raise LeaseLost(
                f"signal {signal_id} was taken over by another replica; its outcome there wins"
            )

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

    async def take_over(self) -> list[SignalRecord]:
        ids = await self._call(self._redis.zrange(self._unfinished, 0, -1))
        taken: list[SignalRecord] = []
        for raw_id in ids:
            signal_id = _text(raw_id)
            sent = self._monotonic()
            fields = await self._call(
                self._take_over(
                    keys=[self._prefix + signal_id, self._unfinished, self._lease_key],
                    args=[
                        signal_id,
                        self._lease_prefix,
                        self.owner,
                        repr(self._clock()),
                        self.lease_ms,
                    ],
                )
            )
            self._renewed(sent)
            record = _from_hash(fields)
            if record is not None:
                taken.append(record)
        return taken

    async def ping(self) -> bool:
        try:
            await self._redis.set(self._probe, "1", px=10_000)
        except REDIS_ERRORS:
            return False
        return True
