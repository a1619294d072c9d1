"""One account's ccxt instance and how every call to it is made: breaker, retries, translation.

:class:`Venue` is the plumbing every other part of the exchange layer shares (market data,
the order sender, the live client): it owns the ccxt instance, the account's circuit breaker,
the retry policy, the venue's quirks and capabilities, and the secrets to strip from messages.
:meth:`Venue.call` is the one way a request reaches the exchange::

    breaker -> (idempotent calls: tenacity retries on network-class failures) -> translation
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt.async_support as ccxt

from fks_executor.breaker import CircuitBreaker
from fks_executor.errors import ExecutorError
from fks_executor.exchange.errors import Operation, translate
from fks_executor.exchange.orders import num
from fks_executor.exchange.quirks import Capabilities, Quirks, quirks_for
from fks_executor.exchange.retry import RetryPolicy, retrying

__all__ = ["Venue"]

T = TypeVar("T")

_DEFAULT_SETTLE_SECONDS = 10.0


class Venue:
    def __init__(
        self,
        api: Any,
        *,
        account: str,
        market_type: str,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.api = api
        self.account = account
        self.exchange_id = str(api.id)
        self.market_type = market_type
        self.breaker = breaker or CircuitBreaker(account)
        self.retry = retry or RetryPolicy()
        self.quirks: Quirks = quirks_for(self.exchange_id)
        self.capabilities = Capabilities.for_account(api, market_type, self.quirks)
        self.secrets = secrets
        self.clock = clock
        self.sleep = sleep

    @property
    def settle_seconds(self) -> float:
        """How long after it was sent an order request may still land (Binance, Bybit: the
        ``recvWindow`` it was signed with, + 1 s of clock skew)."""
        if self.retry.settle_seconds is not None:
            return self.retry.settle_seconds
        option = self.quirks.settle_option
        window = num(self.api.options.get(option)) if option else None
        return window / 1000.0 + 1.0 if window else _DEFAULT_SETTLE_SECONDS

    async def call(
        self, operation: Operation, fn: Callable[[], Awaitable[T]], *, retry: bool = True
    ) -> T:
        """Breaker -> retries (idempotent calls) -> translation, for one logical call."""

        async def attempt() -> T:
            try:
                if retry:
                    return await retrying(self.retry, fn)
                return await fn()
            except ExecutorError:
                raise
            except ccxt.BaseError as exc:
                raise self.translate(exc, operation) from exc

        return await self.breaker.call(attempt)

    def translate(self, exc: BaseException, operation: Operation) -> ExecutorError:
        return translate(exc, exchange=self.exchange_id, operation=operation, secrets=self.secrets)

    async def close(self) -> None:
        await self.api.close()
