"""The fault matrix of the order protocol, on every venue: each fault on the order request or
on the lookups ends with exactly one order on the venue or an explicit refusal, no signal
lost, and ``/signals/{id}`` telling what the venue holds.

Real processes: ``fks-executor`` (dryRun false, SQLite journal) and the fake exchange; ccxt
gives up on a request after 1 s; the account's ``recvWindow`` of 2 s means an order request
that failed is settled 3 s after it was sent; ``execution.deadlineSeconds`` is 8 s, so an
order proven absent is sent again about twice before the signal is given up. The response
deadline is the default 2 s, as TradingView sees it: a slow execution is answered
``202 accepted`` and the outcome is read where TradingView's user reads it, ``/signals/{id}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, audit, metric, outcome_of, start_executor
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

DEADLINE = 8.0


@pytest.fixture(scope="module")
def workdir(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"faults-{venue.name}")


@pytest.fixture(scope="module")
def ex(venue: Venue, venue_server: FakeExchange, workdir: Path) -> Iterator[Executor]:
    changes = {
        "accounts": [venue.account(venue_server)],
        "execution": {"deadlineSeconds": DEADLINE},
        # the protocol alone: the breaker (tested on its own) must not cut a fault short
        "circuitBreaker": {"failureThreshold": 1000},
    }
    executor = start_executor(workdir, venue_server, changes, name=f"faults-{venue.name}")
    yield executor
    executor.process.stop()


def settle(ex: Executor, answer: httpx.Response, signal_id: str) -> dict[str, Any]:
    """The signal's final outcome from ``/signals/{id}``; the answer was that outcome (200)
    or ``202 accepted`` (still executing at the response deadline), never anything else."""
    outcome = outcome_of(ex, signal_id, timeout=DEADLINE + 20)
    if answer.status_code == 202:
        assert answer.json()["status"] == "accepted"
    else:
        assert answer.json() == outcome
    return outcome


def entry_on_venue(venue: Venue, fx: FakeExchange, outcome: dict[str, Any]) -> dict[str, Any]:
    """The one venue order of the outcome's entry, checked against what the outcome says."""
    order = outcome["order"]
    (placed,) = venue.orders(fx, client_order_id=order["client_order_id"])
    assert str(placed["orderId"]) == order["id"]
    status, filled = venue.filled(placed)
    assert (order["status"], Decimal(str(order["filled"]))) == (status, filled)
    return placed


def lost_trades(ex: Executor, venue: Venue, order: str) -> float:
    labels = f'account="main",exchange="{venue.exchange}",order="{order}"'
    return metric(ex, f"fks_lost_trades_total{{{labels}}}") or 0.0


TRANSIENT = [
    pytest.param("http_error", {"status": 500}, id="500"),
    pytest.param("http_error", {"status": 503}, id="503"),
    pytest.param("http_error", {"status": 504}, id="504"),
    pytest.param("rate_limit", {"retryAfter": 1}, id="429"),
    pytest.param("ban", {"retryAfter": 1}, id="418"),
    pytest.param("drop", {}, id="drop"),
    # held past the client timeout AND past recvWindow: the venue refuses it as late
    pytest.param("latency", {"delayMs": 2500}, id="latency-past-recv-window"),
]


@pytest.mark.parametrize(("kind", "spec"), TRANSIENT)
def test_a_transient_fault_on_the_order_is_resolved_and_the_order_sent_again(
    ex: Executor, venue: Venue, fx: FakeExchange, kind: str, spec: dict[str, Any]
) -> None:
    """The venue did not take the order: it is looked up (absent, and absent again once the
    request could no longer land), then sent again with the same client order id — once."""
    fx.add_fault(kind, method="POST", path=venue.order_path, **spec)
    signal_id = f"transient-{venue.name}-{kind}-{spec}"
    answer = ex.post(alert(id=signal_id, amount=venue.amount))
    outcome = settle(ex, answer, signal_id)
    assert (outcome["status"], outcome["reason"]) == ("executed", None)
    placed = entry_on_venue(venue, fx, outcome)
    assert venue.filled(placed) == ("closed", Decimal(str(venue.amount)))
    assert len(venue.orders(fx)) == 1
    assert venue.requests(fx, "POST") == 2  # the failed request, then the resend
    # looked up at once and after the settle time (and where the answer lacks the fills,
    # once more to confirm the order)
    assert venue.requests(fx, "GET") == 2 + venue.confirms
    assert lost_trades(ex, venue, "absent") == 0


LOST_ANSWER = [
    pytest.param("lost_answer", {"mode": "hang", "hangMs": 5000}, id="lost-answer-hang"),
    pytest.param("lost_answer", {"mode": "drop"}, id="lost-answer-drop"),
    # held past the client timeout, processed within recvWindow: it lands after the timeout
    pytest.param("latency", {"delayMs": 1500}, id="latency-past-client-timeout"),
]


@pytest.mark.parametrize(("kind", "spec"), LOST_ANSWER)
def test_an_order_whose_answer_is_lost_is_found_and_never_sent_again(
    ex: Executor, venue: Venue, fx: FakeExchange, kind: str, spec: dict[str, Any]
) -> None:
    fx.add_fault(kind, method="POST", path=venue.order_path, **spec)
    signal_id = f"lost-{venue.name}-{kind}-{spec}"
    answer = ex.post(alert(id=signal_id, amount=venue.amount))
    outcome = settle(ex, answer, signal_id)
    assert (outcome["status"], outcome["reason"]) == ("executed", None)
    assert "found on the exchange by client order id (not sent again)" in outcome["detail"]
    entry_on_venue(venue, fx, outcome)
    assert len(venue.orders(fx)) == 1
    assert venue.requests(fx, "POST") == 1


def test_failing_lookups_are_tried_again_until_they_settle_the_order(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    """The answer is lost and the next lookups fail (more than one lookup's retries): the
    outcome stays open, the lookups go on, and the order is found — not sent twice."""
    fx.add_fault("lost_answer", method="POST", path=venue.order_path, mode="drop")
    fx.add_fault("http_error", method="GET", path=venue.lookup_first, status=503, count=6)
    signal_id = f"lookups-{venue.name}"
    outcome = settle(ex, ex.post(alert(id=signal_id, amount=venue.amount)), signal_id)
    assert (outcome["status"], outcome["reason"]) == ("executed", None)
    entry_on_venue(venue, fx, outcome)
    assert venue.requests(fx, "POST") == 1
    assert venue.requests(fx, "GET", venue.lookup_first) >= 7  # six failed, then one worked


def test_a_5xx_then_failing_lookups_still_ends_with_one_order(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    fx.add_fault("http_error", method="POST", path=venue.order_path, status=502)
    fx.add_fault("http_error", method="GET", path=venue.lookup_first, status=500, count=5)
    signal_id = f"5xx-lookups-{venue.name}"
    outcome = settle(ex, ex.post(alert(id=signal_id, amount=venue.amount)), signal_id)
    assert (outcome["status"], outcome["reason"]) == ("executed", None)
    entry_on_venue(venue, fx, outcome)
    assert len(venue.orders(fx)) == 1
    assert venue.requests(fx, "POST") == 2


def test_an_order_never_taken_before_the_deadline_is_a_counted_and_audited_lost_trade(
    ex: Executor, venue: Venue, fx: FakeExchange, workdir: Path
) -> None:
    fx.add_fault("http_error", method="POST", path=venue.order_path, count=100)
    signal_id = f"deadline-{venue.name}"
    body = json.dumps(alert(id=signal_id, amount=venue.amount)).encode()
    before = lost_trades(ex, venue, "absent")
    answer = ex.post(body)
    assert answer.status_code == 202  # still trying at the response deadline
    outcome = settle(ex, answer, signal_id)
    assert (outcome["status"], outcome["reason"]) == ("failed", "exchange_unavailable")
    assert "was not placed" in outcome["detail"]
    assert "the execution deadline passed" in outcome["detail"]
    assert venue.orders(fx) == []
    sent = venue.requests(fx, "POST")
    assert 2 <= sent <= 4  # ~3 s per try within 8 s: sent again, but bounded
    assert lost_trades(ex, venue, "absent") == before + 1
    lost = [e for e in audit(workdir) if e["decision"] == "lost_trade"]
    assert [e["signal_id"] for e in lost][-1] == signal_id
    assert "no order of it exists on the exchange" in lost[-1]["detail"]
    # A redelivery of a failed (503) signal gets another attempt; it places the order once.
    fx.clear_faults()
    again = ex.post(body)
    assert again.json()["status"] in ("executed", "accepted")
    outcome = outcome_of(ex, signal_id, timeout=DEADLINE + 20)
    assert outcome["status"] == "executed"
    assert len(venue.orders(fx)) == 1


def test_an_outcome_still_unknown_at_the_deadline_is_looked_up_first_by_the_redelivery(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    """The order went through, its answer was lost, and every lookup failed until the
    deadline: failed (outcome unknown, counted), and the redelivery finds the order."""
    fx.add_fault("lost_answer", method="POST", path=venue.order_path, mode="drop")
    fx.add_fault("http_error", method="GET", path=venue.lookup_first, count=1000)
    signal_id = f"unknown-{venue.name}"
    body = json.dumps(alert(id=signal_id, amount=venue.amount)).encode()
    before = lost_trades(ex, venue, "unknown")
    outcome = settle(ex, ex.post(body), signal_id)
    assert (outcome["status"], outcome["reason"]) == ("failed", "exchange_unavailable")
    assert "looking it up failed" in outcome["detail"]
    assert len(venue.orders(fx)) == 1  # it did go through
    assert lost_trades(ex, venue, "unknown") == before + 1
    fx.clear_faults()
    resend = ex.post(body)
    outcome = settle(ex, resend, signal_id)
    assert (outcome["status"], outcome["reason"]) == ("executed", None)
    assert "not sent again" in outcome["detail"]
    entry_on_venue(venue, fx, outcome)
    assert venue.requests(fx, "POST") == 1


@pytest.mark.parametrize("preset", ["funds", "lot_size"])
def test_a_refusal_is_final_and_never_sent_again(
    ex: Executor, venue: Venue, fx: FakeExchange, preset: str
) -> None:
    name = venue.funds_preset if preset == "funds" else preset
    reason = "insufficient_funds" if preset == "funds" else "invalid_order"
    fx.add_fault("reject", method="POST", path=venue.order_path, preset=name)
    signal_id = f"refused-{venue.name}-{preset}"
    body = json.dumps(alert(id=signal_id, amount=venue.amount)).encode()
    answer = ex.post(body)
    assert (answer.status_code, answer.json()["reason"]) == (422, reason)
    assert settle(ex, answer, signal_id)["reason"] == reason
    again = ex.post(body)
    assert (again.json()["status"], again.json()["first"]["reason"]) == ("duplicate", reason)
    assert venue.requests(fx, "POST") == 1
    assert venue.orders(fx) == []
