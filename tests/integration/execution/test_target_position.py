"""``execution.mode: target-position`` on contract markets (Binance USD-M, Bybit linear): each
alert says where the position should be, and only what closes the gap reaches the exchange.

Real ``fks-executor`` and fake exchange processes; after every alert the test reads the fake's
own order list (side, amount, reduce-only) and its position, as a trader would check them.
Sizing: fixed-notional 1,360 USDT at the fake's 68,000 = 0.02 BTC per new position."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, outcome_of, start_executor, wait_for
from .venues import VENUES, Venue, fx, venue_server

__all__ = ["fx", "venue_server"]  # the fixtures, for pytest

CONTRACT_VENUES = [v for v in VENUES if v.contract]
SIZE = Decimal("0.02")
_ids = itertools.count()


@pytest.fixture(scope="module", params=CONTRACT_VENUES, ids=[v.name for v in CONTRACT_VENUES])
def venue(request: pytest.FixtureRequest) -> Venue:
    profile: Venue = request.param
    return profile


@pytest.fixture
def ex(venue: Venue, fx: FakeExchange, tmp_path: Path) -> Iterator[Executor]:
    changes = {
        "responseDeadlineSeconds": 20.0,
        "accounts": [venue.account(fx)],
        "execution": {"mode": "target-position"},
        "risk": {"sizing": {"method": "fixed-notional", "notionalUSD": 1360}},
    }
    executor = start_executor(tmp_path, fx, changes, name=f"target-{venue.name}")
    yield executor
    executor.process.stop()


def position(fx: FakeExchange) -> Decimal:
    """The signed BTC position at the fake (long > 0)."""
    total = Decimal(0)
    for p in fx.balances()["futures"]["positions"]:
        if "positionAmt" in p:  # Binance
            total += Decimal(str(p["positionAmt"]))
        else:  # Bybit
            size = Decimal(str(p["size"]))
            total += -size if p["side"] == "Sell" else size
    return total


def orders(venue: Venue, fx: FakeExchange) -> list[tuple[str, Decimal, bool, str]]:
    """(side, amount, reduce-only, status) of every order at the fake, oldest first."""
    out = []
    for o in venue.orders(fx):
        amount = Decimal(str(o.get("origQty", o.get("qty"))))
        reduce_only = o["reduceOnly"] in (True, "true")
        out.append((str(o["side"]).lower(), amount, reduce_only, venue.filled(o)[0]))
    return out


def send(ex: Executor, position: str, **fields: Any) -> dict[str, Any]:
    """One target-position alert (as a TradingView strategy sends it); its 200 answer body."""
    signal_id = f"tp-{next(_ids)}-{position}"
    r = ex.post(alert(id=signal_id, action=None, position=position, **fields))
    body: dict[str, Any] = r.json()
    assert r.status_code == 200, body
    assert outcome_of(ex, signal_id) == body  # the record says the same
    return body


BUY, SELL = "buy", "sell"


def test_flat_long_repeated_flip_flat(ex: Executor, venue: Venue, fx: FakeExchange) -> None:
    # flat -> long: one entry, sized by the pipeline's rules
    body = send(ex, "long")
    assert (body["status"], body["reason"]) == ("executed", None)
    assert orders(venue, fx) == [(BUY, SIZE, False, "closed")]
    assert position(fx) == SIZE

    # long again under a new id: already there, nothing reaches the exchange
    body = send(ex, "long")
    assert (body["status"], body["reason"], body["order"]) == ("executed", "in_position", None)
    assert "already long" in body["detail"]
    assert len(orders(venue, fx)) == 1
    assert position(fx) == SIZE

    # long -> short: a reduce-only close first, then the entry
    body = send(ex, "short")
    assert body["status"] == "executed"
    assert orders(venue, fx)[1:] == [(SELL, SIZE, True, "closed"), (SELL, SIZE, False, "closed")]
    close, entry = venue.orders(fx)[1:]
    assert body["orders"][0]["client_order_id"] == close["clientOrderId"]
    assert str(close["clientOrderId"]).endswith("-cl")
    assert body["order"]["client_order_id"] == entry["clientOrderId"]
    assert str(entry["clientOrderId"]).endswith("-en")
    assert body["detail"].startswith("flipping from long to short")
    assert position(fx) == -SIZE

    # short -> flat: a reduce-only close for the whole position
    body = send(ex, "flat")
    assert body["status"] == "executed"
    assert orders(venue, fx)[3:] == [(BUY, SIZE, True, "closed")]
    assert position(fx) == 0

    # flat again: nothing
    body = send(ex, "flat")
    assert (body["reason"], body["order"]) == ("in_position", None)
    assert len(orders(venue, fx)) == 4


def test_a_missed_alert_is_caught_up_by_the_next(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    send(ex, "long")
    assert position(fx) == SIZE
    # the strategy went flat, that alert was lost; then it went short
    body = send(ex, "short", position_size=1, prev_position_size=0)
    assert body["status"] == "executed"
    assert orders(venue, fx)[1:] == [(SELL, SIZE, True, "closed"), (SELL, SIZE, False, "closed")]
    assert position(fx) == -SIZE  # short with the size of a new position, not -0.04 or 0


def test_a_partial_reduce_by_the_strategys_fraction(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    send(ex, "short", position_size=-2, prev_position_size=0)  # TradingView's sign for short
    assert position(fx) == -SIZE
    # the strategy covered half of its short: the real position too, reduce-only
    body = send(ex, "short", position_size=-1, prev_position_size=2)
    assert body["status"] == "executed"
    assert "reducing the short position" in body["detail"]
    assert orders(venue, fx)[1:] == [(BUY, SIZE / 2, True, "closed")]
    assert position(fx) == -SIZE / 2
    # the same size again: nothing
    body = send(ex, "short", position_size=-1, prev_position_size=1)
    assert body["reason"] == "in_position"
    assert len(orders(venue, fx)) == 2
    # then flat closes the rest
    send(ex, "flat", position_size=0, prev_position_size=1)
    assert orders(venue, fx)[2:] == [(BUY, SIZE / 2, True, "closed")]
    assert position(fx) == 0


def test_refusals_name_the_field(ex: Executor, venue: Venue, fx: FakeExchange) -> None:
    r = ex.post(alert(id="tp-no-position", action="buy"))
    assert (r.status_code, r.json()["reason"]) == (422, "invalid_payload")
    assert r.json()["detail"].startswith("position: required in execution.mode target-position")
    assert orders(venue, fx) == []


FLIP = [(BUY, SIZE, False, "closed"), (SELL, SIZE, True, "closed"), (SELL, SIZE, False, "closed")]
REDUCE = [(BUY, SIZE, False, "closed"), (SELL, SIZE / 2, True, "closed")]


@pytest.mark.parametrize(
    ("lost", "fields", "sent", "after"),
    [
        ("close", {"position": "short"}, FLIP, -SIZE),
        ("entry", {"position": "short"}, FLIP, -SIZE),
        # the reduce found is not repeated on the smaller position it left
        (
            "close",
            {"position": "long", "position_size": 1, "prev_position_size": 2},
            REDUCE,
            SIZE / 2,
        ),
    ],
    ids=["flip-close-lost", "flip-entry-lost", "reduce-lost"],
)
def test_a_signal_resumed_after_a_crash_sends_nothing_twice(
    venue: Venue,
    fx: FakeExchange,
    tmp_path: Path,
    lost: str,
    fields: dict[str, Any],
    sent: list[tuple[str, Decimal, bool, str]],
    after: Decimal,
) -> None:
    """``kill -9`` while the exchange holds the answer of an order it recorded (the close, or
    the entry of a flip); the next process on the same journal resumes the signal: it finds
    what was sent by client order id and sends only what is missing."""
    changes = {
        "responseDeadlineSeconds": 0.2,
        "accounts": [venue.account(fx, timeout="10000")],
        "execution": {"mode": "target-position"},
        "risk": {"sizing": {"method": "fixed-notional", "notionalUSD": 1360}},
    }
    doomed = start_executor(tmp_path, fx, changes, name=f"target-doomed-{venue.name}")
    try:
        doomed.post(alert(id="crash-long", action=None, position="long"))
        assert outcome_of(doomed, "crash-long")["status"] == "executed"
        assert position(fx) == SIZE
        skip = 0 if lost == "close" else 1
        fx.add_fault("lost_answer", method="POST", path=venue.order_path, hangMs=30_000, skip=skip)
        r = doomed.post(alert(id="crash-sync", action=None, **fields))
        assert (r.status_code, r.json()["status"]) == (202, "accepted")
        wait_for(lambda: len(venue.orders(fx)) == 2 + skip, what=f"the {lost} recorded")
        doomed.process.kill9()
    finally:
        doomed.process.stop()
    fx.clear_faults()

    ex = start_executor(tmp_path, fx, changes, name=f"target-resumed-{venue.name}")
    try:
        outcome = outcome_of(ex, "crash-sync")
    finally:
        ex.process.stop()
    assert outcome["status"] == "executed", outcome
    assert "found by client order id" in outcome["detail"]
    assert orders(venue, fx) == sent
    assert venue.requests(fx, "POST") == len(sent)  # each order sent once
    assert position(fx) == after


def test_a_flip_whose_entry_is_refused_keeps_the_close(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    send(ex, "long")
    fx.add_fault("reject", method="POST", path=venue.order_path, preset=venue.funds_preset, skip=1)
    body = send(ex, "short")
    assert body["status"] == "executed"  # the close went through: the answer shows it
    assert "the entry is refused: insufficient_funds" in body["detail"]
    assert body["order"]["client_order_id"].endswith("-cl")
    assert orders(venue, fx)[1:] == [(SELL, SIZE, True, "closed")]
    assert position(fx) == 0
    fx.clear_faults()
    body = send(ex, "short")  # the next alert brings it in line
    assert orders(venue, fx)[2:] == [(SELL, SIZE, False, "closed")]
    assert position(fx) == -SIZE


def test_dry_run_simulates_against_the_paper_position(
    venue: Venue, fx: FakeExchange, tmp_path: Path
) -> None:
    changes = {
        "dryRun": True,
        "responseDeadlineSeconds": 20.0,
        "accounts": [venue.account(fx)],
        "execution": {"mode": "target-position"},
        "risk": {"sizing": {"method": "fixed-notional", "notionalUSD": 1360}},
    }
    paper = start_executor(tmp_path, fx, changes, name=f"target-paper-{venue.name}")
    try:
        body = send(paper, "long")
        assert (body["status"], body["order"]["side"], body["order"]["amount"]) == (
            "dry_run",
            BUY,
            float(SIZE),
        )
        assert send(paper, "long")["reason"] == "in_position"
        body = send(paper, "short")
        assert [(o["side"], o["amount"]) for o in (*body["orders"], body["order"])] == [
            (SELL, float(SIZE)),
            (SELL, float(SIZE)),
        ]
        body = send(paper, "flat")
        assert (body["order"]["side"], body["order"]["amount"]) == (BUY, float(SIZE))
        assert send(paper, "flat")["reason"] == "in_position"
    finally:
        paper.process.stop()
    assert orders(venue, fx) == []  # nothing reached the exchange
    assert venue.requests(fx, "POST") == 0


def test_position_is_refused_in_orders_mode_and_hedge_mode_in_target_mode(
    venue: Venue, fx: FakeExchange, tmp_path: Path
) -> None:
    orders_mode = start_executor(
        tmp_path, fx, {"accounts": [venue.account(fx)]}, name=f"orders-{venue.name}"
    )
    try:
        r = orders_mode.post(alert(id="orders-with-position", action=None, position="long"))
    finally:
        orders_mode.process.stop()
    assert (r.status_code, r.json()["reason"]) == (422, "invalid_order")
    assert r.json()["detail"].startswith("position: is for execution.mode target-position")

    hedge = {
        "accounts": [{**venue.account(fx), "futures": {"positionMode": "hedge"}}],
        "execution": {"mode": "target-position"},
    }
    (tmp_path / "hedge").mkdir()
    hedged = start_executor(tmp_path / "hedge", fx, hedge, name=f"hedge-{venue.name}")
    try:
        r = hedged.post(alert(id="hedge-target", action=None, position="long"))
    finally:
        hedged.process.stop()
    assert (r.status_code, r.json()["reason"]) == (422, "invalid_order")
    assert "needs futures.positionMode oneway" in r.json()["detail"]
    assert orders(venue, fx) == []


async def test_a_venue_in_hedge_mode_refuses_target_position_though_the_spec_is_silent(
    venue: Venue, fx: FakeExchange, tmp_path: Path
) -> None:
    async with fx.ccxt(venue.name) as api:  # someone put the venue in hedge mode
        await api.load_markets()
        await api.set_position_mode(True, "BTC/USDT:USDT")
    changes = {
        "accounts": [{**venue.account(fx), "futures": {"leverage": 20}}],
        "execution": {"mode": "target-position"},
    }
    ex = start_executor(tmp_path, fx, changes, name=f"hedged-venue-{venue.name}")
    try:
        r = ex.post(alert(id="hedged-venue-long", action=None, position="long", amount=0.01))
    finally:
        ex.process.stop()
    assert (r.status_code, r.json()["reason"]) == (422, "invalid_order"), r.text
    assert "venue in one-way position mode" in r.json()["detail"]
    assert orders(venue, fx) == []  # nothing reached the exchange
