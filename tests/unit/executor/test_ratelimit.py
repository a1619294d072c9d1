"""Per-source rate limiting in memory (on Redis: tests/integration/executor/state/)."""

from __future__ import annotations

from fks_executor.ratelimit import RateLimiter


async def test_rate_limit_is_per_source() -> None:
    limiter = RateLimiter.in_memory(3, "p")
    try:
        assert [await limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
        assert await limiter.allow("10.0.0.2") is True
    finally:
        await limiter.close()


async def test_rate_limit_is_per_pipeline() -> None:
    a = RateLimiter.in_memory(1, "a")
    b = RateLimiter(1, "b", a._storage)  # one storage, two pipelines
    try:
        assert await a.allow("x") is True
        assert await b.allow("x") is True
        assert await a.allow("x") is False
    finally:
        await a.close()
