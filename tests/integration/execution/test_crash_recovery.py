"""``kill -9`` of a trading executor at each dangerous moment, then a restart on the same
journal: every accepted signal is finished, and the exchange holds exactly one order for it.

The faults hold the executor at the chosen moment (a slow balance read before the order; an
order request the exchange holds before processing it; an order recorded whose answer is
held), the test kills the process there, and a new process on the same journal resumes the
signal: it looks the order up by client order id (again once a request of the dead process
could no longer land) before it sends anything.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, audit, outcome_of, start_executor, wait_for
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

# The executor waits up to 10 s for an answer here, so it is still waiting when killed.
SLOW_CLIENT = {
    "responseDeadlineSeconds": 0.2,
    "accounts": [
        {
            "name": "main",
            "exchange": "binance",
            "environment": "testnet",
            "marketType": "spot",
            "apiKeyEnv": "FKS_FAKE_API_KEY",
            "secretEnv": "FKS_FAKE_SECRET",
            "options": {"enableRateLimit": "false", "timeout": "10000", "recvWindow": "2000"},
        }
    ],
}


def changes(fx: FakeExchange) -> dict[str, object]:
    data = json.loads(json.dumps(SLOW_CLIENT))
    data["accounts"][0]["endpoint"] = fx.base_url
    return data


def accepted(ex: Executor, signal_id: str) -> None:
    r = ex.post(alert(id=signal_id, amount=0.001))
    assert (r.status_code, r.json()["status"]) == (202, "accepted")


def restart_and_finish(
    tmp_path: Path,
    fx: FakeExchange,
    signal_id: str,
    config: dict[str, object] | None = None,
    *,
    amount: float = 0.001,
) -> dict[str, object]:
    ex = start_executor(tmp_path, fx, config or changes(fx), name="restarted")
    try:
        outcome = outcome_of(ex, signal_id, timeout=30)
        dup = ex.post(alert(id=signal_id, amount=amount))
        assert dup.json()["status"] == "duplicate"
        assert dup.json()["first"]["status"] == "executed"
        out = ex.process.output()
    finally:
        ex.process.stop()
    assert "resuming 1 unfinished signal(s) from the journal" in out
    recovered = [e for e in audit(tmp_path) if e["signal_id"] == signal_id]
    assert ("accepted", "recovered") in [(e["decision"], e["reason"]) for e in recovered]
    return outcome


def test_killed_between_journal_and_order(tmp_path: Path, fake_exchange: FakeExchange) -> None:
    fake_exchange.add_fault("latency", method="GET", path="/api/v3/account", delayMs=30_000)
    ex = start_executor(tmp_path, fake_exchange, changes(fake_exchange), name="doomed")
    accepted(ex, "crash-before-order")
    wait_for(
        lambda: fake_exchange.stats()["byEndpoint"].get("GET /api/v3/account", 0) >= 1,
        what="the balance read before the order",
    )
    ex.process.kill9()
    ex.process.stop()  # reaps it and closes its log
    assert fake_exchange.stats()["orderRequests"] == 0  # killed before any order left
    fake_exchange.clear_faults()

    outcome = restart_and_finish(tmp_path, fake_exchange, "crash-before-order")
    assert outcome["status"] == "executed"
    (order,) = fake_exchange.orders()
    assert order["clientOrderId"] == outcome["order"]["client_order_id"]  # type: ignore[index]
    assert fake_exchange.stats()["orderRequests"] == 1


def test_killed_between_order_and_answer(tmp_path: Path, fx: FakeExchange, venue: Venue) -> None:
    """On every venue (its own lookup by client order id). Also: the position cap leaves room
    for exactly this order, so judging the signal again after it filled would refuse it; the
    restarted executor finds the order first."""
    fx.set_balances({"BTC": 0})
    fx.add_fault("lost_answer", method="POST", path=venue.order_path, hangMs=30_000)
    tight = {
        **changes(fx),
        "accounts": [venue.account(fx, timeout="10000")],
        "risk": {"maxPositionSizeUSD": 700},  # 0.01 BTC = 680
    }
    ex = start_executor(tmp_path, fx, tight, name="doomed")
    r = ex.post(alert(id="crash-after-order", amount=venue.amount))
    assert (r.status_code, r.json()["status"]) == (202, "accepted")
    wait_for(lambda: len(venue.orders(fx)) == 1, what="the order on the exchange")
    ex.process.kill9()  # the order is recorded; its answer never reached the executor
    ex.process.stop()

    outcome = restart_and_finish(tmp_path, fx, "crash-after-order", tight, amount=venue.amount)
    assert outcome["status"] == "executed"
    assert "not sent again" in str(outcome["detail"])
    (order,) = venue.orders(fx)
    assert str(order["orderId"]) == outcome["order"]["id"]  # type: ignore[index]
    assert venue.filled(order) == ("closed", Decimal(str(venue.amount)))
    assert venue.requests(fx, "POST") == 1


def test_killed_while_the_order_request_is_in_flight(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    """The exchange received the order request but processes it only after the executor
    died: the restarted executor does not find it at first, waits until a request signed by
    the dead process could no longer be accepted (recvWindow + 1 s), finds it, sends nothing."""
    fake_exchange.add_fault("latency", method="POST", path="/api/v3/order", delayMs=1500)
    ex = start_executor(tmp_path, fake_exchange, changes(fake_exchange), name="doomed")
    accepted(ex, "crash-in-flight")
    wait_for(lambda: fake_exchange.stats()["orderRequests"] == 1, what="the order request")
    ex.process.kill9()
    ex.process.stop()  # reaps it and closes its log
    killed = time.monotonic()

    outcome = restart_and_finish(tmp_path, fake_exchange, "crash-in-flight")
    assert outcome["status"] == "executed"
    assert time.monotonic() - killed > 1.5
    (order,) = fake_exchange.orders()
    assert order["clientOrderId"] == outcome["order"]["client_order_id"]  # type: ignore[index]
    assert fake_exchange.stats()["orderRequests"] == 1


def test_sigterm_leaves_a_running_signal_to_the_next_process(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    """A shutdown does not wait forever for the exchange: after the grace period the
    execution is stopped and stays journaled; the next process finishes it (once)."""
    # every try of the balance read hangs past the client's 10 s timeout: still running when
    # the 10 s grace of the shutdown ends
    fake_exchange.add_fault(
        "latency", method="GET", path="/api/v3/account", delayMs=60_000, count=10
    )
    data = changes(fake_exchange)
    ex = start_executor(tmp_path, fake_exchange, data, name="stopped")
    accepted(ex, "stopped-midway")
    wait_for(
        lambda: fake_exchange.stats()["byEndpoint"].get("GET /api/v3/account", 0) >= 1,
        what="the balance read",
    )
    started = time.monotonic()
    ex.process.stop(timeout=30)
    assert time.monotonic() - started < 20  # the 10 s grace, not the exchange's minutes
    assert "signal stopped-midway still executing was stopped" in ex.process.log_path.read_text()
    fake_exchange.clear_faults()
    outcome = restart_and_finish(tmp_path, fake_exchange, "stopped-midway")
    assert outcome["status"] == "executed"
    assert fake_exchange.order_count() == 1
