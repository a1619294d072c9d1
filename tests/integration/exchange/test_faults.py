"""Injected faults: retried reads, refused credentials, and at most one order per client id.

Every fault is produced by the fake exchange process (5xx, 429, a held or dropped answer after
the order was recorded); ccxt's own HTTP and error-mapping code runs unchanged.
"""

from __future__ import annotations

import time

import pytest

from fks_executor.breaker import BreakerState, CircuitBreaker
from fks_executor.errors import CircuitOpen, ExchangeUnavailable
from fks_executor.exchange.errors import (
    ExchangeAuthenticationFailed,
    OrderLost,
    OrderOutcomeUnknown,
)
from fks_executor.exchange.live import LiveExchange
from tests.harness.fake_exchange import FakeExchange

from .conftest import FAST_RETRY, MakeClient, entry_plan, signal

TICKER = "/api/v3/ticker/24hr"
ORDER = "/api/v3/order"


def count(fx: FakeExchange, method: str, path: str) -> int:
    """Requests that reached the exchange (counted on arrival, even if still held by a fault)."""
    return int(fx.stats()["byEndpoint"].get(f"{method} {path}", 0))


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("http_error", {"status": 502}),
        ("http_error", {"status": 503, "body": "<html>maintenance</html>"}),
        ("rate_limit", {}),
        ("ban", {}),
        ("drop", {}),
        ("latency", {"delayMs": 1500}),  # past ccxt's 1 s timeout: RequestTimeout
    ],
)
async def test_reads_are_retried_through_transient_faults(
    fake_exchange: FakeExchange, client: LiveExchange, kind: str, spec: dict[str, object]
) -> None:
    fake_exchange.add_fault(kind, path=TICKER, count=2, **spec)
    assert await client.fetch_price("BTC/USDT") == pytest.approx(68_000)
    assert count(fake_exchange, "GET", TICKER) == 3  # two faults, then the answer


async def test_reads_give_up_after_the_bounded_attempts(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("http_error", path=TICKER, count=100)
    with pytest.raises(ExchangeUnavailable, match="ExchangeNotAvailable"):
        await client.fetch_price("BTC/USDT")
    assert count(fake_exchange, "GET", TICKER) == FAST_RETRY.attempts


async def test_rejected_credentials_are_not_retried(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    client = await make_client(secret="not-the-secret")
    with pytest.raises(ExchangeAuthenticationFailed) as err:
        await client.fetch_free_balance("USDT")
    assert err.value.reason == "exchange_unavailable"
    assert "not-the-secret" not in err.value.detail
    assert count(fake_exchange, "GET", "/api/v3/account") == 1


async def test_a_lost_answer_is_found_by_client_order_id_and_not_resent(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    # The exchange records the order, then holds the answer past ccxt's 1 s timeout.
    fake_exchange.add_fault("lost_answer", path=ORDER, method="POST", mode="hang", hangMs=3000)
    plan = entry_plan(client, signal(amount=0.01))
    report = await client.execute(plan)
    assert report.recovered
    assert report.entry.client_order_id == plan.entry.client_order_id
    assert report.entry.status == "closed"
    assert fake_exchange.order_count() == 1  # exactly one order on the exchange
    assert count(fake_exchange, "POST", ORDER) == 1  # never sent twice
    assert count(fake_exchange, "GET", ORDER) >= 1  # looked up instead


async def test_a_dropped_connection_after_the_order_is_found_too(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("lost_answer", path=ORDER, method="POST", mode="drop")
    plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0))
    report = await client.execute(plan)
    assert report.recovered
    assert [leg.type for leg in report.legs] == ["stop_loss"]  # the flow went on
    assert fake_exchange.order_count(client_order_id=plan.entry.client_order_id) == 1
    assert fake_exchange.order_count() == 2


async def test_a_5xx_on_the_order_is_resolved_as_not_placed_without_resending(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("http_error", path=ORDER, method="POST", status=500)
    plan = entry_plan(client, signal(amount=0.01))
    with pytest.raises(ExchangeUnavailable, match="was not placed") as err:
        await client.execute(plan)
    assert not isinstance(err.value, OrderOutcomeUnknown)  # definite: safe to send later
    assert count(fake_exchange, "POST", ORDER) == 1
    assert count(fake_exchange, "GET", ORDER) == 2  # looked up, and again after the window
    assert fake_exchange.order_count() == 0


async def test_a_rate_limited_order_is_not_blindly_retried(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("rate_limit", path=ORDER, method="POST")
    with pytest.raises(ExchangeUnavailable):
        await client.execute(entry_plan(client, signal(amount=0.01)))
    assert count(fake_exchange, "POST", ORDER) == 1
    assert fake_exchange.order_count() == 0


async def test_unknown_outcome_then_resume_finds_the_order(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    # The answer is lost AND every lookup fails: the outcome stays unknown ...
    fake_exchange.add_fault("lost_answer", path=ORDER, method="POST", mode="drop")
    fake_exchange.add_fault("http_error", path=ORDER, method="GET", count=FAST_RETRY.attempts)
    plan = entry_plan(client, signal(amount=0.01))
    with pytest.raises(OrderOutcomeUnknown) as err:
        await client.execute(plan)
    assert err.value.client_order_id == plan.entry.client_order_id
    assert err.value.reason == "exchange_unavailable"
    # ... until a resumed execution looks it up first, and finds it.
    report = await client.execute(plan, resume=True)
    assert report.recovered
    assert count(fake_exchange, "POST", ORDER) == 1
    assert fake_exchange.order_count() == 1


async def test_resume_of_a_finished_signal_sends_nothing(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0))
    await client.execute(plan)
    again = await client.execute(plan, resume=True, attempted_at=0.0)
    assert again.recovered
    assert [leg.client_order_id for leg in again.legs] == [plan.protective[0].client_order_id]
    assert count(fake_exchange, "POST", ORDER) == 2  # the entry and its stop, once each
    assert fake_exchange.order_count() == 2


async def test_resume_of_a_never_sent_signal_sends_it_once(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    plan = entry_plan(client, signal(amount=0.01))
    report = await client.execute(plan, resume=True, attempted_at=0.0)  # long ago: no wait
    assert not report.recovered
    assert fake_exchange.order_count() == 1


async def test_the_breaker_opens_and_then_fails_fast(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    breaker = CircuitBreaker("fake-binance", failure_threshold=2, reset_timeout=60)
    client = await make_client(breaker=breaker)
    fake_exchange.add_fault("http_error", path=TICKER, count=100)
    for _ in range(2):
        with pytest.raises(ExchangeUnavailable):
            await client.fetch_price("BTC/USDT")
    assert breaker.state() is BreakerState.OPEN
    before = count(fake_exchange, "GET", TICKER)
    with pytest.raises(CircuitOpen):
        await client.fetch_price("BTC/USDT")
    with pytest.raises(CircuitOpen):
        await client.execute(entry_plan(client, signal(amount=0.01)))
    assert count(fake_exchange, "GET", TICKER) == before  # nothing reached the exchange
    assert count(fake_exchange, "POST", ORDER) == 0


async def test_a_refusal_does_not_open_the_breaker(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    breaker = CircuitBreaker("fake-binance", failure_threshold=1, reset_timeout=60)
    client = await make_client(breaker=breaker)
    fake_exchange.set_balances({"USDT": 1})
    for i in range(3):
        with pytest.raises(Exception, match="insufficient"):
            await client.execute(entry_plan(client, signal(f"s{i}", amount=0.01)))
    assert breaker.state() is BreakerState.CLOSED


# --- resends of an order proven absent, until the execution deadline --------------------


async def test_an_order_proven_absent_is_sent_again_with_the_same_client_id(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("http_error", path=ORDER, method="POST", status=503, count=2)
    plan = entry_plan(client, signal(amount=0.01))
    report = await client.execute(plan, deadline=time.time() + 10)
    assert not report.recovered
    assert report.entry.status == "closed"
    assert count(fake_exchange, "POST", ORDER) == 3  # two refused unprocessed, then taken
    assert count(fake_exchange, "GET", ORDER) == 4  # each failure: at once, after the window
    sent = {r["params"].get("newClientOrderId") for r in fake_exchange.requests(path=ORDER)}
    assert sent - {None} == {plan.entry.client_order_id}
    assert fake_exchange.order_count() == 1


async def test_past_the_deadline_the_order_is_lost_not_sent_again(
    fake_exchange: FakeExchange, client: LiveExchange
) -> None:
    fake_exchange.add_fault("http_error", path=ORDER, method="POST", count=1000)
    plan = entry_plan(client, signal(amount=0.01))
    started = time.time()
    with pytest.raises(OrderLost, match="the execution deadline passed") as err:
        await client.execute(plan, deadline=started + 1.5)
    assert not err.value.order_may_exist  # proven absent: nothing to look up later
    assert err.value.requests == count(fake_exchange, "POST", ORDER) >= 2
    assert time.time() - started < 1.5 + 1.0 + 0.5  # one settle window past it at most
    assert fake_exchange.order_count() == 0


async def test_an_open_breaker_never_turns_an_unknown_outcome_into_a_known_one(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    """Lookups keep failing after a lost answer, the breaker opens: the outcome is still
    unknown (the order exists), so the error says so and a later attempt looks it up."""
    breaker = CircuitBreaker("fake-binance", failure_threshold=2, reset_timeout=60)
    client = await make_client(breaker=breaker)
    fake_exchange.add_fault("lost_answer", path=ORDER, method="POST", mode="drop")
    fake_exchange.add_fault("http_error", path=ORDER, method="GET", count=1000)
    plan = entry_plan(client, signal(amount=0.01))
    with pytest.raises(OrderOutcomeUnknown) as err:
        await client.execute(plan, deadline=time.time() + 2)
    assert err.value.order_may_exist
    assert breaker.state() is BreakerState.OPEN
    assert count(fake_exchange, "POST", ORDER) == 1
    assert fake_exchange.order_count() == 1
