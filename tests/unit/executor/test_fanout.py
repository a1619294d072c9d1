"""Fan-out (docs/executor.md#fan-out): the worst-status rule, the combined answer, and that one
account's failure stops no other. The account executor here is a stand-in that answers per
account as told (the real trader against fake venues: tests/integration/execution/test_fanout.py).
"""

from __future__ import annotations

import asyncio

import pytest

from fks_executor.domain import ALL_ACCOUNTS, Action, Outcome, Signal
from fks_executor.errors import (
    CircuitOpen,
    ExchangeUnavailable,
    ExecutorError,
    InsufficientFunds,
    InternalError,
)
from fks_executor.exchange.client_ids import CLIENT_ID_PATTERN, Leg, client_order_id
from fks_executor.fanout import SEVERITY, combine, fan_out, worst
from fks_executor.state.store import is_retryable

SIGNAL = Signal("sig-1", "BTCUSDT", Action.BUY, 1.0, account=ALL_ACCOUNTS)


def executed(account: str) -> Outcome:
    order = {"id": f"{account}-1", "client_order_id": f"cid-{account}", "account": account}
    return Outcome(status="executed", signal_id="sig-1", order=order)


def refused(error: ExecutorError, *, unsettled: bool = False) -> Outcome:
    outcome = Outcome.from_error(error, "sig-1")
    return Outcome(**{**outcome.as_dict(), "unsettled": unsettled})


class Accounts:
    """Answers each account's signal with its scripted outcome, or raises its error."""

    def __init__(self, script: dict[str, Outcome | BaseException]) -> None:
        self.script = script
        self.seen: list[tuple[str | None, bool]] = []

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        self.seen.append((signal.account, resume))
        await asyncio.sleep(0)
        result = self.script[str(signal.account)]
        if isinstance(result, BaseException):
            raise result
        return result


def test_the_status_order_is_failed_rejected_accepted_dry_run_executed() -> None:
    assert sorted(SEVERITY, key=SEVERITY.__getitem__) == [
        "executed",
        "dry_run",
        "accepted",
        "rejected",
        "failed",
    ]


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["executed", "executed"], ("executed", None, 200)),
        (["executed", "dry_run"], ("dry_run", None, 200)),
        (["executed", "insufficient_funds"], ("rejected", "insufficient_funds", 422)),
        (["insufficient_funds", "exchange_unavailable"], ("failed", "exchange_unavailable", 503)),
        (["internal_error", "circuit_open"], ("failed", "circuit_open", 503)),  # retryable first
        # the first account's among equals
        (["circuit_open", "exchange_unavailable"], ("failed", "circuit_open", 503)),
    ],
)
def test_the_top_level_is_the_worst_outcome(
    outcomes: list[str], expected: tuple[str, str | None, int]
) -> None:
    made = {
        "executed": executed("a"),
        "dry_run": Outcome(status="dry_run", signal_id="sig-1"),
        "insufficient_funds": refused(InsufficientFunds("short")),
        "exchange_unavailable": refused(ExchangeUnavailable("down")),
        "circuit_open": refused(CircuitOpen("open")),
        "internal_error": refused(InternalError()),
    }
    top = worst([made[name] for name in outcomes])
    assert (top.status, top.reason, top.http_status) == expected


def test_the_answer_lists_every_account_and_keeps_the_orders_there() -> None:
    outcome = combine(
        "sig-1", [("main", executed("main")), ("copy", refused(InsufficientFunds("short")))]
    )
    body = outcome.body()
    assert (body["status"], body["reason"], outcome.http_status) == (
        "rejected",
        "insufficient_funds",
        422,
    )
    assert body["order"] is None
    assert body["outcomes"] == [
        {
            "account": "main",
            "status": "executed",
            "reason": None,
            "order": executed("main").order,
            "orders": [],
        },
        {
            "account": "copy",
            "status": "rejected",
            "reason": "insufficient_funds",
            "order": None,
            "orders": [],
            "detail": "short",
        },
    ]
    assert body["detail"] == "main: executed; copy: rejected (insufficient_funds)"
    assert not outcome.unsettled  # final: a redelivery is a duplicate


def test_a_retryable_fan_out_with_an_order_placed_is_looked_up_on_the_next_attempt() -> None:
    placed = combine(
        "sig-1", [("main", executed("main")), ("copy", refused(ExchangeUnavailable("down")))]
    )
    assert is_retryable(placed)
    assert placed.unsettled  # the retry resumes: main's order is found, not sent again
    nothing = combine(
        "sig-1",
        [("main", refused(CircuitOpen("x"))), ("copy", refused(ExchangeUnavailable("down")))],
    )
    assert is_retryable(nothing)
    assert not nothing.unsettled
    unknown = combine(
        "sig-1",
        [
            ("main", refused(InsufficientFunds("x"))),
            ("copy", refused(CircuitOpen(), unsettled=True)),
        ],
    )
    assert unknown.unsettled


def test_the_outcomes_survive_the_journal_round_trip() -> None:
    outcome = combine(
        "sig-1", [("main", executed("main")), ("copy", refused(InsufficientFunds("short")))]
    )
    assert Outcome.from_dict(outcome.as_dict()) == outcome
    old = outcome.as_dict()
    del old["outcomes"]  # a journal written before fan-out existed
    assert Outcome.from_dict(old).outcomes == []


async def test_one_account_failing_or_crashing_stops_no_other() -> None:
    accounts = Accounts(
        {
            "main": executed("main"),
            "down": ExchangeUnavailable("connection refused"),
            "buggy": RuntimeError("a bug"),
            "copy": executed("copy"),
        }
    )
    outcome = await fan_out(accounts, ["main", "down", "buggy", "copy"], SIGNAL, resume=True)
    assert sorted(accounts.seen) == [
        ("buggy", True),
        ("copy", True),
        ("down", True),
        ("main", True),
    ]
    assert [(o["account"], o["status"], o["reason"]) for o in outcome.outcomes] == [
        ("main", "executed", None),
        ("down", "failed", "exchange_unavailable"),
        ("buggy", "failed", "internal_error"),
        ("copy", "executed", None),
    ]
    assert (outcome.status, outcome.reason, outcome.http_status) == (
        "failed",
        "exchange_unavailable",
        503,
    )


async def test_accounts_run_concurrently() -> None:
    started: list[str] = []
    all_started, release = asyncio.Event(), asyncio.Event()

    class Waiting:
        async def execute(
            self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
        ) -> Outcome:
            started.append(str(signal.account))
            if len(started) == 3:
                all_started.set()
            await release.wait()
            return executed(str(signal.account))

    task = asyncio.create_task(fan_out(Waiting(), ["a", "b", "c"], SIGNAL))
    async with asyncio.timeout(5):  # all three start before any finishes
        await all_started.wait()
    release.set()
    assert (await task).status == "executed"


def test_each_account_of_a_signal_gets_its_own_deterministic_client_ids() -> None:
    """Within every venue's limit: Binance's clientOrderId and newClientStrategyId
    (``^[.A-Z:/a-z0-9_-]{1,36}$``), Bybit's orderLinkId (36 characters)."""
    ids = {
        (account, leg): client_order_id("copy-pipeline", account, "sig-1", leg)
        for account in ("main", "copy-1", "copy-2")
        for leg in Leg
    }
    assert len(set(ids.values())) == len(ids)
    for (account, leg), cid in ids.items():
        assert cid == client_order_id("copy-pipeline", account, "sig-1", leg)  # a resume finds it
        assert CLIENT_ID_PATTERN.match(cid)
        assert len(cid) <= 36
