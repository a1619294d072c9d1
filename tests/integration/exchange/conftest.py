"""Fixtures: the real fake-exchange process and the exchange layer on real ccxt pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from fks_executor.breaker import CircuitBreaker
from fks_executor.domain import Action, Signal
from fks_executor.exchange.base import Credentials
from fks_executor.exchange.live import LiveExchange
from fks_executor.exchange.paper import PaperExchange
from fks_executor.exchange.plan import OrderPlan, plan_close, plan_entry
from fks_executor.exchange.retry import RetryPolicy
from fks_executor.exchange.setup import build_ccxt
from fks_executor.sizing import SizingRules
from tests.harness.fake_exchange import (  # noqa: F401 - pytest fixtures
    FakeExchange,
    fake_exchange,
    fake_exchange_server,
)

PIPELINE = "it-pipeline"
ACCOUNT = "fake-binance"

# Fast, bounded retries so fault tests take a fraction of a second; ccxt gives up on a request
# after 1 s (the lost-answer faults hold the answer for longer).
FAST_RETRY = RetryPolicy(
    attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01, settle_seconds=0.3
)


@dataclass(frozen=True)
class Account:
    name: str = ACCOUNT
    exchange: str = "binance"
    environment: str = "testnet"
    market_type: str = "spot"
    endpoint: str = ""
    options: dict[str, str] = field(
        default_factory=lambda: {"enableRateLimit": "false", "timeout": "1000"}
    )


MakeClient = Callable[..., Awaitable[LiveExchange]]


@pytest.fixture
async def make_client(fake_exchange: FakeExchange) -> AsyncIterator[MakeClient]:  # noqa: F811
    made: list[LiveExchange] = []

    async def make(
        *,
        market_type: str = "spot",
        secret: str | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy = FAST_RETRY,
        paper: bool = False,
        start: bool = True,
    ) -> LiveExchange:
        account = Account(endpoint=fake_exchange.base_url, market_type=market_type)
        client: LiveExchange
        if paper:
            client = PaperExchange(
                build_ccxt(account, None),
                account=ACCOUNT,
                market_type=market_type,
                paper_balance_usd=10_000,
                breaker=breaker,
                retry=retry,
            )
        else:
            creds = Credentials(fake_exchange.api_key, secret or fake_exchange.secret)
            client = LiveExchange(
                build_ccxt(account, creds),
                account=ACCOUNT,
                market_type=market_type,
                breaker=breaker,
                retry=retry,
                secrets=creds.values(),
            )
        made.append(client)
        if start:
            await client.start()
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
async def client(make_client: MakeClient) -> LiveExchange:
    return await make_client()


def signal(signal_id: str = "sig-1", **kw: object) -> Signal:
    values: dict[str, object] = {
        "signal_id": signal_id,
        "symbol": "BTCUSDT",
        "action": Action.BUY,
        "timestamp": 0.0,
    }
    values.update(kw)
    return Signal(**values)  # type: ignore[arg-type]


def entry_plan(
    client: LiveExchange,
    sig: Signal,
    *,
    rules: SizingRules | None = None,
    reference_price: float = 68_000.0,
    balance_usd: float = 10_000.0,
) -> OrderPlan:
    symbol = client.resolve_symbol(sig.symbol)
    return plan_entry(
        sig,
        pipeline=PIPELINE,
        account=ACCOUNT,
        exchange=client.venue.exchange_id,
        market=client.market(symbol),
        caps=client.venue.capabilities,
        rules=rules or SizingRules(),
        reference_price=reference_price,
        balance_usd=balance_usd,
    )


def close_plan(client: LiveExchange, sig: Signal, reference_price: float = 68_000.0) -> OrderPlan:
    symbol = client.resolve_symbol(sig.symbol)
    return plan_close(
        sig,
        pipeline=PIPELINE,
        account=ACCOUNT,
        market=client.market(symbol),
        reference_price=reference_price,
    )
