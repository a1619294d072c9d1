"""Retry policy for exchange calls (tenacity): network-class failures of idempotent requests only.

Reads (markets, ticker, balance, OHLCV, positions) and order lookups are retried on
:func:`~fks_executor.exchange.errors.is_temporary` failures with bounded attempts and
exponential backoff with jitter, within an overall time budget. ``create_order`` is never
retried: its failures go through the unknown-outcome protocol in ``live.py`` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from fks_executor.exchange.errors import is_temporary

__all__ = ["RetryPolicy", "retrying"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    """Total tries of one idempotent request (1 = no retry)."""
    initial_wait: float = 0.2
    """First backoff, seconds; doubles each time (plus jitter) up to ``max_wait``."""
    max_wait: float = 2.0
    jitter: float = 0.2
    budget: float = 30.0
    """No new attempt starts after this many seconds."""
    settle_seconds: float | None = None
    """After a failed order request, how long an in-flight order may still land; None = the
    exchange's default (Binance: recvWindow + 1 s, since Binance refuses a request that
    arrives later than recvWindow after its timestamp)."""


async def retrying(policy: RetryPolicy, fn: Callable[[], Awaitable[T]]) -> T:
    """Call ``fn`` until it succeeds, fails permanently, or the policy gives up (re-raises)."""
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.budget),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        ),
        retry=retry_if_exception(is_temporary),
        reraise=True,
    ):
        with attempt:
            return await fn()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
