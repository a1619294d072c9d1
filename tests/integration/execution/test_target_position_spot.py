"""``execution.mode: target-position`` on spot (Binance, Bybit): the position is what this
pipeline bought and has not sold (its fills ledger), never the account's whole balance, and
there is no short.

Real ``fks-executor`` and fake exchange processes. The account holds 1 BTC that is not the
pipeline's; the pipeline's trades must leave it there. Sizing: fixed-notional 1,360 USDT at the
fake's 68,000 = 0.02 BTC per new position."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, outcome_of, start_executor
from .venues import VENUES, Venue, fx, venue_server

__all__ = ["fx", "venue_server"]  # the fixtures, for pytest

SPOT_VENUES = [v for v in VENUES if not v.contract]
SIZE = Decimal("0.02")
FEE = Decimal("0.001")  # the fakes take 0.1 % of what a buy receives
_ids = itertools.count()


@pytest.fixture(scope="module", params=SPOT_VENUES, ids=[v.name for v in SPOT_VENUES])
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


def btc(fx: FakeExchange) -> Decimal:
    free, locked = fx.spot_balance("BTC")
    return free + locked


def orders(venue: Venue, fx: FakeExchange) -> list[tuple[str, Decimal, str]]:
    """(side, amount, status) of every order at the fake, oldest first."""
    return [
        (
            str(o["side"]).lower(),
            Decimal(str(o.get("origQty", o.get("qty")))),
            venue.filled(o)[0],
        )
        for o in venue.orders(fx)
    ]


def send(ex: Executor, position: str, status: int = 200, **fields: Any) -> dict[str, Any]:
    signal_id = f"tps-{next(_ids)}-{position}"
    r = ex.post(alert(id=signal_id, action=None, position=position, **fields))
    body: dict[str, Any] = r.json()
    assert r.status_code == status, body
    if status == 200:
        assert outcome_of(ex, signal_id) == body
    return body


def test_long_and_flat_trade_only_the_pipelines_own_coins(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    fx.set_balances({"BTC": 1}, account=venue.harness.account)
    body = send(ex, "long")
    assert body["status"] == "executed"
    assert orders(venue, fx) == [("buy", SIZE, "closed")]
    assert btc(fx) == 1 + SIZE * (1 - FEE)

    body = send(ex, "long")  # a new id, already long: nothing sent
    assert (body["reason"], body["order"]) == ("in_position", None)
    assert len(orders(venue, fx)) == 1

    r = send(ex, "short", status=422)
    assert (r["reason"], r["detail"].split(" (")[0]) == (
        "invalid_order",
        "position: short is not possible on spot",
    )
    assert len(orders(venue, fx)) == 1

    body = send(ex, "flat")  # sells what the pipeline bought, not the 1 BTC it did not
    assert body["status"] == "executed"
    assert orders(venue, fx)[1:] == [("sell", SIZE * (1 - FEE), "closed")]
    assert btc(fx) == 1

    body = send(ex, "flat")
    assert (body["reason"], body["order"]) == ("in_position", None)
    assert len(orders(venue, fx)) == 2


def test_a_partial_reduce_then_flat_with_the_fee_taken_in_the_coin(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    fx.set_balances({"BTC": 0}, account=venue.harness.account)
    send(ex, "long", position_size=2, prev_position_size=0)
    held = SIZE * (1 - FEE)  # 0.01998: the fee was taken in BTC
    assert btc(fx) == held

    body = send(ex, "long", position_size=1, prev_position_size=2)
    assert "reducing the long position" in body["detail"]
    half = Decimal("0.00999")  # half of what is held, through the 0.00001 step
    assert orders(venue, fx)[1:] == [("sell", half, "closed")]
    assert btc(fx) == held - half

    send(ex, "flat", position_size=0, prev_position_size=1)
    assert orders(venue, fx)[2:] == [("sell", held - half, "closed")]
    assert btc(fx) == 0

    body = send(ex, "flat")
    assert body["reason"] == "in_position"
    assert len(orders(venue, fx)) == 3
