"""The webhook through the ASGI app, at the execution seam: the executor's refusals, unknown
outcomes and crashes as answers and audit lines, redeliveries after a 503."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fks_executor.domain import Outcome, Signal
from fks_executor.errors import ExchangeUnavailable, InsufficientFunds
from fks_executor.exchange.errors import OrderOutcomeUnknown
from tests.unit.executor.helpers import (
    SECRET,
    SlowExecutor,
    alert,
    audit_lines,
    make_app,
    make_config,
    raw,
    serve,
)
from tests.unit.executor.webhook_client import answer, post

# --- the execution seam -----------------------------------------------------------------


class RefusingExecutor(SlowExecutor):
    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        raise InsufficientFunds("not enough USDT")


class FlakyExecutor(SlowExecutor):
    """The exchange is unreachable on the first attempt only (``unsettled``: after an order
    request went out whose fate could not be established)."""

    def __init__(self, unsettled: bool = False) -> None:
        super().__init__()
        self.unsettled = unsettled
        self.attempts: list[tuple[bool, float | None]] = []

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        self.attempts.append((resume, attempted_at))
        if len(self.attempts) == 1:
            if self.unsettled:
                raise OrderOutcomeUnknown("lookups failed", client_order_id="c", symbol="BTC/USDT")
            raise ExchangeUnavailable("binance: timed out after 3 tries")
        return Outcome(status="executed", signal_id=signal.signal_id, order={"id": "ex-2"})


class CrashingExecutor(SlowExecutor):
    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        raise RuntimeError("boom: internal detail with /some/path")


async def test_executor_refusal_is_answered_and_recorded(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), executor=RefusingExecutor())
    async with serve(app) as http:
        r = await post(http, alert(id="f1"))
        dup = await post(http, alert(id="f1"))
    assert r.status_code == 422
    assert (answer(r)["reason"], answer(r)["detail"]) == ("insufficient_funds", "not enough USDT")
    assert answer(dup)["first"]["reason"] == "insufficient_funds"


@pytest.mark.parametrize("unsettled", [False, True])
async def test_a_redelivery_after_a_503_is_a_new_attempt(tmp_path: Path, unsettled: bool) -> None:
    """TradingView resends after a 5xx: the resend retries; when the failed attempt may have
    left an order behind, it tells the executor to look it up first."""
    executor = FlakyExecutor(unsettled)
    app = make_app(make_config(tmp_path), executor=executor)
    body = raw(alert(id="flaky"))
    async with serve(app) as http:
        before = time.time()
        first = await post(http, body)
        failed_by = time.time()
        second = await post(http, body)
        third = await post(http, body)
        record = (
            await http.get("/signals/flaky", headers={"Authorization": f"Bearer {SECRET}"})
        ).json()
    assert (first.status_code, answer(first)["reason"]) == (503, "exchange_unavailable")
    assert (second.status_code, answer(second)["status"]) == (200, "executed")
    assert answer(third)["status"] == "duplicate"
    assert len(executor.attempts) == 2
    assert executor.attempts[0] == (False, None)
    resume, attempted_at = executor.attempts[1]
    assert resume is unsettled
    if unsettled:  # look up, and wait for a request the failed attempt may have sent
        assert attempted_at is not None
        assert before <= attempted_at <= failed_by
    else:  # nothing can exist: send at once
        assert attempted_at is None
    assert record["attempts"] == 2
    events = audit_lines(tmp_path / "audit.jsonl")
    assert [(e["decision"], e.get("attempt")) for e in events] == [
        ("accepted", None),
        ("failed", None),
        ("accepted", 2),
        ("executed", None),
        ("duplicate", None),
    ]


async def test_an_internal_error_is_500_without_a_trace(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), executor=CrashingExecutor())
    async with serve(app) as http:
        r = await post(http, alert(id="crash"))
    assert r.status_code == 500
    assert answer(r)["reason"] == "internal_error"
    assert "boom" not in r.text
    assert "/some/path" not in r.text
    assert "Traceback" not in r.text
