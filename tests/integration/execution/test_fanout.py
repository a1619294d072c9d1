"""One alert, many accounts (docs/executor.md#fan-out), on every venue: a trading
``fks-executor`` process with two accounts, ``main`` on the venue's session fake exchange and
``copy`` on a second fake exchange process of the same venue (its own balances, its own
faults). Each test checks the answer's ``outcomes`` and what reached each exchange."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange, fake_exchange_process

from .helpers import Executor, alert, audit, metric, outcome_of, start_executor, wait_for
from .test_crash_recovery import restart_and_finish
from .venues import VENUES, Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

PRICE = 68_000
# fixed-percent sizing, 10 % of each account's own free USDT: 1360 USD = 0.02 BTC at main,
# 680 USD = 0.01 BTC at copy (round amounts on every venue's step)
MAIN_USDT, COPY_USDT = 13_600, 6_800
SIZING = {"sizing": {"method": "fixed-percent", "percent": 0.1}}


@pytest.fixture(scope="module")
def copy_server(venue: Venue) -> Iterator[FakeExchange]:
    """A second fake exchange process of the venue: the ``copy`` account's exchange."""
    with fake_exchange_process(venue=venue.server) as server:
        yield server


@pytest.fixture
def fx2(copy_server: FakeExchange) -> Iterator[FakeExchange]:
    copy_server.reset()
    yield copy_server
    copy_server.reset()


def accounts(venue: Venue, main: FakeExchange, copy: FakeExchange, **options: str) -> list[Any]:
    return [
        {**venue.account(main, **options), "default": True},
        {**venue.account(copy, **options), "name": "copy"},
    ]


def config(venue: Venue, main: FakeExchange, copy: FakeExchange) -> dict[str, Any]:
    return {
        "responseDeadlineSeconds": 20.0,
        "accounts": accounts(venue, main, copy),
        "risk": SIZING,
        # the breaker stays closed: a test's failures do not turn into the next one's
        "circuitBreaker": {"failureThreshold": 1000},
    }


@pytest.fixture(scope="module")
def workdir(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"fanout-{venue.name}")


@pytest.fixture(scope="module")
def ex(
    venue: Venue, venue_server: FakeExchange, copy_server: FakeExchange, workdir: Path
) -> Iterator[Executor]:
    executor = start_executor(
        workdir, venue_server, config(venue, venue_server, copy_server), name="fanout"
    )
    yield executor
    executor.process.stop()


def fund(venue: Venue, fx: FakeExchange, fx2: FakeExchange) -> None:
    account = venue.harness.account
    fx.set_balances({"USDT": MAIN_USDT}, account=account)
    fx2.set_balances({"USDT": COPY_USDT}, account=account)


def by_account(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert [o["account"] for o in body["outcomes"]] == ["main", "copy"]
    return {o["account"]: o for o in body["outcomes"]}


def placed(venue: Venue, fx: FakeExchange, outcome: dict[str, Any], amount: str) -> None:
    """The venue holds exactly one order, this account's, filled for ``amount`` BTC."""
    (order,) = venue.orders(fx)
    assert order["clientOrderId"] == outcome["order"]["client_order_id"]
    assert str(order["orderId"]) == outcome["order"]["id"]
    assert venue.filled(order) == ("closed", Decimal(amount))


def test_every_account_trades_sized_by_its_own_balance_and_a_repeat_is_a_duplicate(
    ex: Executor, venue: Venue, fx: FakeExchange, fx2: FakeExchange, workdir: Path
) -> None:
    fund(venue, fx, fx2)
    body = json.dumps(alert(id=f"fan-{venue.name}", account="*")).encode()
    r = ex.post(body)
    assert (r.status_code, r.json()["status"], r.json()["reason"]) == (200, "executed", None)
    outcomes = by_account(r.json())
    assert {o["status"] for o in outcomes.values()} == {"executed"}
    placed(venue, fx, outcomes["main"], "0.02")
    placed(venue, fx2, outcomes["copy"], "0.01")
    assert (
        outcomes["main"]["order"]["client_order_id"] != outcomes["copy"]["order"]["client_order_id"]
    )
    assert r.json()["order"] is None  # each account's order is in its outcome

    again = ex.post(body)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert again.json()["outcomes"] == r.json()["outcomes"]
    assert again.json()["first"] == r.json()
    assert (venue.requests(fx, "POST"), venue.requests(fx2, "POST")) == (1, 1)
    assert outcome_of(ex, f"fan-{venue.name}") == r.json()

    lines = [e for e in audit(workdir) if e["signal_id"] == f"fan-{venue.name}"]
    decided = [(e["decision"], e["account"]) for e in lines if e["decision"] == "executed"]
    assert sorted(decided) == [("executed", "copy"), ("executed", "main")]
    for account in ("main", "copy"):
        labels = f'account="{account}",exchange="{venue.exchange}",status="executed"'
        assert (metric(ex, f"fks_order_executions_total{{{labels}}}") or 0) >= 1


def test_an_account_refused_for_funds_does_not_stop_the_other(
    ex: Executor, venue: Venue, fx: FakeExchange, fx2: FakeExchange, workdir: Path
) -> None:
    fund(venue, fx, fx2)
    fx2.add_fault("reject", method="POST", path=venue.order_path, preset=venue.funds_preset)
    signal_id = f"fan-funds-{venue.name}"
    body = json.dumps(alert(id=signal_id, account="*")).encode()
    r = ex.post(body)
    assert (r.status_code, r.json()["status"], r.json()["reason"]) == (
        422,
        "rejected",
        "insufficient_funds",
    )
    outcomes = by_account(r.json())
    assert (outcomes["main"]["status"], outcomes["main"]["reason"]) == ("executed", None)
    assert (outcomes["copy"]["status"], outcomes["copy"]["reason"]) == (
        "rejected",
        "insufficient_funds",
    )
    assert outcomes["copy"]["order"] is None
    placed(venue, fx, outcomes["main"], "0.02")
    assert venue.orders(fx2) == []  # refused: nothing at the copy account

    again = ex.post(body)  # a final outcome: a duplicate for every account, nothing re-sent
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert again.json()["outcomes"] == r.json()["outcomes"]
    assert (venue.requests(fx, "POST"), venue.requests(fx2, "POST")) == (1, 1)
    lines = [e for e in audit(workdir) if e["signal_id"] == signal_id]
    assert ("rejected", "copy", "insufficient_funds") in [
        (e["decision"], e["account"], e["reason"]) for e in lines
    ]


def test_an_exchange_down_fails_only_its_account_and_the_retry_sends_nothing_twice(
    ex: Executor, venue: Venue, fx: FakeExchange, fx2: FakeExchange
) -> None:
    fund(venue, fx, fx2)
    fx2.add_fault("http_error", status=503, count=10_000)  # every request to copy's exchange
    signal_id = f"fan-down-{venue.name}"
    body = json.dumps(alert(id=signal_id, account="*")).encode()
    r = ex.post(body)
    assert (r.status_code, r.json()["status"], r.json()["reason"]) == (
        503,
        "failed",
        "exchange_unavailable",
    )
    outcomes = by_account(r.json())
    assert outcomes["main"]["status"] == "executed"
    assert (outcomes["copy"]["status"], outcomes["copy"]["reason"]) == (
        "failed",
        "exchange_unavailable",
    )
    placed(venue, fx, outcomes["main"], "0.02")
    assert venue.orders(fx2) == []

    fx2.clear_faults()  # the exchange is back; the sender retries after the 503
    retry = ex.post(body)
    assert (retry.status_code, retry.json()["status"]) == (200, "executed")
    outcomes = by_account(retry.json())
    assert "not sent again" in outcomes["main"]["detail"]  # looked up by its client order id
    placed(venue, fx, outcomes["main"], "0.02")
    placed(venue, fx2, outcomes["copy"], "0.01")
    assert venue.requests(fx, "POST") == 1


def test_fan_out_pipeline_sends_every_alert_everywhere_unless_it_names_an_account(
    venue: Venue, fx: FakeExchange, fx2: FakeExchange, tmp_path: Path
) -> None:
    changes = {**config(venue, fx, fx2), "fanOut": True}
    ex = start_executor(tmp_path, fx, changes, name="fanout-pipeline")
    try:
        fund(venue, fx, fx2)
        r = ex.post(alert(id=f"fanout-all-{venue.name}"))  # no account: every one
        assert (r.status_code, r.json()["status"]) == (200, "executed")
        outcomes = by_account(r.json())
        placed(venue, fx, outcomes["main"], "0.02")
        placed(venue, fx2, outcomes["copy"], "0.01")

        one = ex.post(alert(id=f"fanout-one-{venue.name}", account="copy", amount=0.01))
        assert (one.status_code, one.json()["status"]) == (200, "executed")
        assert "outcomes" not in one.json()  # the account it names, as without fanOut
        assert one.json()["order"]["account"] == "copy"
        assert (len(venue.orders(fx)), len(venue.orders(fx2))) == (1, 2)
    finally:
        ex.process.stop()


def test_killed_mid_fan_out_resumes_every_account_without_a_second_order(
    venue: Venue, fx: FakeExchange, fx2: FakeExchange, tmp_path: Path
) -> None:
    """main's order is recorded by its exchange but its answer is held; copy's is done; the
    process is killed. The next process resumes both: each order is found by its client
    order id, none is sent again (the crash-recovery harness of test_crash_recovery.py)."""
    fx.add_fault("lost_answer", method="POST", path=venue.order_path, hangMs=30_000)
    changes = {
        **config(venue, fx, fx2),
        "responseDeadlineSeconds": 0.2,
        "accounts": accounts(venue, fx, fx2, timeout="10000"),
    }
    doomed = start_executor(tmp_path, fx, changes, name="doomed")
    signal_id = f"fan-crash-{venue.name}"
    r = doomed.post(alert(id=signal_id, account="*", amount=venue.amount))
    assert (r.status_code, r.json()["status"]) == (202, "accepted")
    wait_for(
        lambda: len(venue.orders(fx)) == 1 and len(venue.orders(fx2)) == 1,
        what="both orders on their exchanges",
    )
    doomed.process.kill9()  # main's answer never reached the executor
    doomed.process.stop()
    fx.clear_faults()

    outcome = restart_and_finish(tmp_path, fx, signal_id, changes, amount=venue.amount)
    assert outcome["status"] == "executed"
    outcomes = by_account(outcome)
    for account, exchange in (("main", fx), ("copy", fx2)):
        assert outcomes[account]["status"] == "executed"
        assert "not sent again" in outcomes[account]["detail"]
        placed(venue, exchange, outcomes[account], str(venue.amount))
        assert venue.requests(exchange, "POST") == 1


def test_an_open_circuit_at_one_account_leaves_the_other_trading(
    venue: Venue, fx: FakeExchange, fx2: FakeExchange, tmp_path: Path
) -> None:
    """copy's exchange fails once: its breaker (failureThreshold 1) opens, and the next alert
    is refused there without a request, while main trades both."""
    changes = {
        **config(venue, fx, fx2),
        "circuitBreaker": {"failureThreshold": 1, "resetTimeoutSeconds": 300},
    }
    ex = start_executor(tmp_path, fx, changes, name="fanout-breaker")
    try:
        fund(venue, fx, fx2)
        fx2.add_fault("http_error", status=503, count=10_000)
        first = ex.post(alert(id=f"breaker-1-{venue.name}", account="*"))
        assert by_account(first.json())["copy"]["reason"] == "exchange_unavailable"
        before = fx2.stats()["requests"]
        second = ex.post(alert(id=f"breaker-2-{venue.name}", account="*"))
        assert (second.status_code, second.json()["status"], second.json()["reason"]) == (
            503,
            "failed",
            "circuit_open",
        )
        outcomes = by_account(second.json())
        assert outcomes["main"]["status"] == "executed"
        assert outcomes["copy"]["reason"] == "circuit_open"
        assert fx2.stats()["requests"] == before  # nothing reached copy's exchange
        assert venue.orders(fx2) == []
        assert len(venue.orders(fx)) == 2
    finally:
        ex.process.stop()


def test_dry_run_simulates_every_account_with_the_paper_balance(
    fake_exchange: FakeExchange, tmp_path: Path
) -> None:
    """Dry-run: each account sized against paperBalanceUSD (10 % of 13,600 = 0.02 BTC), its
    fill simulated; nothing private is called, no order reaches an exchange."""
    spot = next(v for v in VENUES if v.name == "binance-spot")
    changes = {
        "dryRun": True,
        "responseDeadlineSeconds": 20.0,
        "accounts": [
            {**spot.account(fake_exchange), "default": True},
            {**spot.account(fake_exchange), "name": "copy"},
        ],
        "risk": {**SIZING, "paperBalanceUSD": 13_600},
    }
    ex = start_executor(tmp_path, fake_exchange, changes, name="fanout-dry-run")
    try:
        r = ex.post(alert(id="fan-dry-run", account="*"))
        assert (r.status_code, r.json()["status"]) == (200, "dry_run")
        outcomes = by_account(r.json())
        for outcome in outcomes.values():
            assert outcome["status"] == "dry_run"
            assert outcome["order"]["amount"] == pytest.approx(0.02)
            assert outcome["order"]["dry_run"] is True
        ids = {o["order"]["client_order_id"] for o in outcomes.values()}
        assert len(ids) == 2
        assert fake_exchange.stats()["orderRequests"] == 0
    finally:
        ex.process.stop()
