"""Shared state on a real redis-server: the Redis signal store and rate limiter, and two
``fks-executor`` processes sharing one Redis (a duplicate at the second is ``duplicate``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from fks_executor.domain import Action, Outcome, Signal
from fks_executor.errors import LeaseLost, StateUnavailable
from fks_executor.ratelimit import RateLimiter
from fks_executor.state.redis_store import RedisSignalStore
from fks_executor.state.store import SignalState
from tests.harness.redis import redis_server
from tests.integration.executor.helpers import (
    SECRET,
    alert,
    running_executor,
    running_executors,
)

REDIS_STATE = {"state": {"backend": "redis", "redisUrlEnv": "FKS_REDIS_URL"}}


def sig(signal_id: str) -> Signal:
    return Signal(
        signal_id=signal_id, symbol="BTCUSDT", action=Action.SELL, timestamp=1.0, price=2.0
    )


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Any]:
    redis = aioredis.Redis.from_url(redis_url)
    yield redis
    await redis.aclose()


# --- the store and the limiter on Redis -------------------------------------------------


async def test_redis_store_lifecycle(client: Any) -> None:
    store = RedisSignalStore(client, "p")
    first = await store.claim(sig("a"))
    assert first.won
    assert first.record.attempts == 1
    again = await store.claim(sig("a"))
    assert not again.won
    existing = again.record
    assert existing.state is SignalState.EXECUTING
    assert existing.signal == sig("a")
    assert existing.owner == store.owner
    assert [r.signal_id for r in await store.unfinished()] == ["a"]
    assert await store.take_over() == []  # its owner (this store) is alive
    outcome = Outcome(status="dry_run", signal_id="a", order={"id": "o"}, orders=[{"id": "sl"}])
    await store.complete("a", outcome)
    record = await store.get("a")
    assert record is not None
    assert (record.state, record.outcome) == (SignalState.DONE, outcome)
    assert await store.unfinished() == []
    assert await store.get("missing") is None
    assert await store.ping() is True
    ttl = await client.pttl("fks:p:signal:a")
    assert 0 < ttl <= 24 * 3600 * 1000


async def test_redis_claim_is_atomic_across_connections(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(8)]
    try:
        stores = [RedisSignalStore(c, "race") for c in clients]
        results = await asyncio.gather(*(s.claim(sig("same")) for s in stores for _ in range(5)))
        assert sum(r.won for r in results) == 1
    finally:
        for c in clients:
            await c.aclose()


async def test_redis_retry_of_a_retryable_failure(client: Any) -> None:
    store = RedisSignalStore(client, "retry")
    await store.claim(sig("r"))
    await store.complete("r", Outcome("failed", "r", 503, "exchange_unavailable", unsettled=True))
    assert await store.unfinished() == []
    retry = await store.claim(sig("r"))
    assert retry.won
    assert (retry.record.attempts, retry.record.state, retry.record.outcome) == (
        2,
        SignalState.EXECUTING,
        None,
    )
    assert retry.record.unsettled_since is not None  # the next attempt looks orders up
    await store.complete("r", Outcome("failed", "r", 503, "circuit_open"))
    again = await store.claim(sig("r"))
    assert again.record.unsettled_since == retry.record.unsettled_since  # still unsettled
    assert [r.signal_id for r in await store.unfinished()] == ["r"]
    assert not (await store.claim(sig("r"))).won
    await store.complete("r", Outcome("rejected", "r", 422, "insufficient_funds"))
    final = await store.claim(sig("r"))
    assert not final.won
    assert final.record.outcome is not None
    assert final.record.outcome.reason == "insufficient_funds"


async def test_redis_rate_limit_is_shared(redis_url: str) -> None:
    pool = aioredis.ConnectionPool.from_url(redis_url)
    try:
        a = RateLimiter.on_redis(3, "shared", pool)
        b = RateLimiter.on_redis(3, "shared", pool)
        seen = [await a.allow("1.2.3.4"), await b.allow("1.2.3.4"), await a.allow("1.2.3.4")]
        assert seen == [True, True, True]
        assert await b.allow("1.2.3.4") is False
        assert await b.allow("5.6.7.8") is True
    finally:
        await pool.aclose()


async def test_unreachable_redis_is_state_unavailable() -> None:
    with redis_server() as server:
        url = server.url
    redis = aioredis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        store = RedisSignalStore(redis, "down")
        with pytest.raises(StateUnavailable):
            await store.claim(sig("x"))
        assert await store.ping() is False
    finally:
        await redis.aclose()


# --- two executor processes, one Redis --------------------------------------------------


def test_duplicate_across_two_executors(tmp_path: Path, redis_url: str) -> None:
    env = {"FKS_REDIS_URL": redis_url}
    with running_executors(tmp_path, REDIS_STATE, env=env) as (a, b):
        body = json.dumps(alert(id="shared-1")).encode()
        first = a.post(body)
        second = b.post(body)
        assert first.status_code == 200
        assert first.json()["status"] == "dry_run"
        assert second.status_code == 200
        assert second.json()["status"] == "duplicate"
        assert second.json()["first"] == first.json()
        # the record is visible from either replica
        record = b.get("/signals/shared-1", Authorization=f"Bearer {SECRET}").json()
        assert record["state"] == "done"
        assert b.get("/ready").json()["checks"]["journal"] is True
        out_a, out_b = a.process.output(), b.process.output()
    assert SECRET not in out_a + out_b
    assert redis_url not in out_a + out_b


def test_rate_limit_shared_by_replicas(tmp_path: Path, redis_url: str) -> None:
    env = {"FKS_REDIS_URL": redis_url}
    changes = {**REDIS_STATE, "rateLimit": {"requestsPerMinute": 3}}
    with running_executors(tmp_path, changes, env=env) as (a, b):
        codes = [
            a.post(alert(id="r1")).status_code,
            b.post(alert(id="r2")).status_code,
            a.post(alert(id="r3")).status_code,
            b.post(alert(id="r4")).status_code,
        ]
    assert codes == [200, 200, 200, 429]


def test_past_the_deadline_is_202_and_finishes_in_the_background(
    tmp_path: Path, redis_url: str
) -> None:
    """A deadline shorter than one Redis round trip: the answer is 202, the outcome lands."""
    changes = {**REDIS_STATE, "responseDeadlineSeconds": 0.000001}
    with running_executor(tmp_path, changes, env={"FKS_REDIS_URL": redis_url}) as ex:
        r = ex.post(alert(id="late"))
        assert r.status_code == 202
        assert (r.json()["status"], r.json()["signal_id"]) == ("accepted", "late")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            record = ex.get("/signals/late", Authorization=f"Bearer {SECRET}").json()
            if record["state"] == "done":
                break
            time.sleep(0.05)
        assert record["outcome"]["status"] == "dry_run"


def test_redis_down_is_503_and_not_ready(tmp_path: Path) -> None:
    with redis_server() as server:
        env = {"FKS_REDIS_URL": server.url}
        with running_executor(tmp_path, REDIS_STATE, env=env) as ex:
            assert ex.post(alert(id="up")).status_code == 200
            server.process.stop()
            r = ex.post(alert(id="down"))
            assert (r.status_code, r.json()["status"], r.json()["reason"]) == (
                503,
                "failed",
                "state_unavailable",
            )
            ready = ex.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["journal"] is False
            assert httpx.get(f"{ex.url}/health").status_code == 200
            assert server.url not in ex.process.output()


# --- ownership and leases ---------------------------------------------------------------


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_dead_owners_signal_is_taken_over_once(client: Any) -> None:
    clock = Monotonic()
    dead = RedisSignalStore(client, "lease", lease=1.0, owner="dead", monotonic=clock)
    assert (await dead.claim(sig("left"))).won
    dead.fence()  # just renewed by the claim: it may send
    survivors = [RedisSignalStore(client, "lease", lease=1.0, owner=f"s{i}") for i in range(3)]
    assert [await s.take_over() for s in survivors] == [[], [], []]  # its lease still runs
    await asyncio.sleep(1.1)  # the dead replica renews nothing: its lease key expires
    taken = await asyncio.gather(*(s.take_over() for s in survivors))
    winners = [records for records in taken if records]
    assert len(winners) == 1  # exactly one survivor resumes it
    (record,) = winners[0]
    assert (record.signal_id, record.state) == ("left", SignalState.EXECUTING)
    assert record.owner in {"s0", "s1", "s2"}
    # the old owner can neither send nor record an outcome any more
    clock.now += 0.6
    with pytest.raises(LeaseLost, match="not renewed in time"):
        dead.fence()
    with pytest.raises(LeaseLost, match="taken over by another replica"):
        await dead.complete("left", Outcome("executed", "left"))
    owner = next(s for s in survivors if s.owner == record.owner)
    await owner.complete("left", Outcome("executed", "left"))
    assert (await owner.get("left")).state is SignalState.DONE  # type: ignore[union-attr]
    assert await owner.take_over() == []


async def test_the_heartbeat_keeps_the_lease_and_close_gives_it_up(client: Any) -> None:
    alive = RedisSignalStore(client, "beat", lease=1.2, owner="alive")
    await alive.open()
    other = RedisSignalStore(client, "beat", lease=1.2, owner="other")
    try:
        await alive.claim(sig("busy"))
        await asyncio.sleep(2.0)  # longer than the lease: the heartbeat (every 0.2 s) renews it
        alive.fence()
        assert await other.take_over() == []
        await alive.close()  # a clean shutdown releases the lease at once
        assert [r.signal_id for r in await other.take_over()] == ["busy"]
    finally:
        await alive.close()
