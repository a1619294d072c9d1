"""The guard's close of a position left unprotected, through real ``fks-executor`` and fake
exchange processes on the contract venues (docs/trading.md#when-a-protection-fails): in hedge
mode only the side the entry opened is closed (the other side and its stop stay); a close the
venue refuses leaves the legs that were placed; in hedge mode the gauge is cleared by a close of
the side left unprotected only."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, audit, metric, outcome_of, start_executor, wait_for
from .venues import VENUES, Venue, fx, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

BTC = "BTC/USDT:USDT"
CONTRACT_VENUES = [v for v in VENUES if v.contract]
GAUGE = f'fks_unprotected_positions{{account="main",symbol="{BTC}"}}'


@pytest.fixture(scope="module", params=CONTRACT_VENUES, ids=[v.name for v in CONTRACT_VENUES])
def venue(request: pytest.FixtureRequest) -> Venue:
    profile: Venue = request.param
    return profile


@pytest.fixture
def run(venue: Venue, fx: FakeExchange, tmp_path: Path) -> Iterator[Any]:
    """Start an executor with ``spec.futures`` and ``execution.onProtectionFailure``."""
    started: list[Executor] = []

    def start(futures: dict[str, Any], on_failure: str) -> Executor:
        ex = start_executor(
            tmp_path,
            fx,
            {
                "responseDeadlineSeconds": 20.0,
                "accounts": [{**venue.account(fx), "futures": futures}],
                "execution": {"onProtectionFailure": on_failure},
            },
            name=f"guard-{venue.name}",
        )
        started.append(ex)
        return ex

    yield start
    for ex in started:
        ex.process.stop()


async def sides(fx: FakeExchange, venue: Venue) -> dict[str, Decimal]:
    """Open contracts per side on BTC, read from the venue with ccxt."""
    async with fx.ccxt(venue.name) as api:
        await api.load_markets()
        rows = await api.fetch_positions([BTC])
    return {str(p["side"]): Decimal(str(p["contracts"])) for p in rows if p["contracts"]}


def refuse_next_legs(venue: Venue, fx: FakeExchange, count: int = 1) -> None:
    """The venue refuses the next protective order(s) (the next entry goes through)."""
    if venue.name == "binance-usdm":
        path = "/fapi/v1/algoOrder"
        fx.add_fault("reject", method="POST", path=path, preset="price_filter", count=count)
    else:
        path = venue.order_path
        fx.add_fault("reject", method="POST", path=path, skip=1, preset="price_filter", count=count)


async def test_hedge_mode_guard_closes_only_the_side_the_entry_opened(
    venue: Venue, fx: FakeExchange, run: Any, tmp_path: Path
) -> None:
    ex = run({"positionMode": "hedge"}, "close")
    short = ex.post(alert(id="g-short", action="sell", amount=0.02, stop_loss=70_000))
    assert (short.status_code, short.json()["status"]) == (200, "executed"), short.text
    assert "detail" not in short.json(), short.json()  # the short's stop is placed
    refuse_next_legs(venue, fx, count=2)
    exits = {"stop_loss": 66_000, "take_profits": [{"price": 70_000, "percent": 100}]}
    r = ex.post(alert(id="g-long", action="buy", amount=0.03, **exits))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    body = r.json()
    assert "the position was closed (execution.onProtectionFailure: close)" in body["detail"]
    close = body["orders"][-1]
    assert close["client_order_id"].endswith("-uc")
    assert await sides(fx, venue) == {"short": Decimal("0.02")}  # the long side alone closed
    (sent,) = [
        p["params"]
        for p in fx.requests(method="POST", path=venue.order_path)
        if p["params"].get("newClientOrderId", p["params"].get("orderLinkId"))
        == close["client_order_id"]
    ]
    if venue.name == "binance-usdm":
        assert (sent["side"], sent["positionSide"]) == ("SELL", "LONG")
    else:
        assert (sent["side"], sent["positionIdx"]) == ("Sell", "1")
    assert metric(ex, GAUGE) == 0
    fx.clear_faults()
    fx.set_price(BTC, "70500")  # the short's stop survived the guard: it closes the short
    assert await sides(fx, venue) == {}


@pytest.mark.parametrize("venue", CONTRACT_VENUES[:1], indirect=True, ids=["binance-usdm"])
async def test_a_refused_guard_close_leaves_the_placed_legs(
    venue: Venue, fx: FakeExchange, run: Any, tmp_path: Path
) -> None:
    """Binance USD-M: the stop-loss rests (an algo order), the target is refused, the guard's
    close is refused too: the stop must still rest. (Bybit attaches the stop to the entry: no
    leg of its own that a close could strip.)"""
    ex = run({}, "close")
    fx.add_fault("reject", method="POST", path="/fapi/v1/algoOrder", skip=1, preset="price_filter")
    fx.add_fault("reject", method="POST", path=venue.order_path, skip=1, preset="price_filter")
    exits = {"stop_loss": 66_000, "take_profits": [{"price": 70_000, "percent": 100}]}
    r = ex.post(alert(id="g-refused", amount=0.01, **exits))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert "closing the unprotected position failed" in r.json()["detail"]
    (stop,) = fx.orders(account="futures-algo")
    assert (stop["clientAlgoId"][-3:], stop["algoStatus"]) == ("-sl", "NEW")  # still resting
    assert await sides(fx, venue) == {"long": Decimal("0.01")}
    assert metric(ex, GAUGE) == 1
    lines = [a for a in audit(tmp_path) if a["decision"] == "protection_failed"]
    assert "closing the unprotected position failed" in lines[-1]["detail"]


async def test_hedge_mode_gauge_clears_with_the_close_of_its_side_only(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"positionMode": "hedge"}, "alert")
    short = ex.post(alert(id="gg-short", action="sell", amount=0.02))
    assert (short.status_code, short.json()["status"]) == (200, "executed"), short.text
    refuse_next_legs(venue, fx, count=2)
    exits = {"stop_loss": 66_000, "take_profits": [{"price": 70_000, "percent": 100}]}
    r = ex.post(alert(id="gg-long", action="buy", amount=0.03, **exits))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert metric(ex, GAUGE) == 1
    fx.clear_faults()
    other = ex.post(alert(id="gg-close-short", action="close", position="short"))
    assert (other.status_code, other.json()["status"]) == (200, "executed"), other.text
    assert await sides(fx, venue) == {"long": Decimal("0.03")}
    assert metric(ex, GAUGE) == 1  # the long side is still unprotected
    closed = ex.post(alert(id="gg-close-long", action="close", position="long"))
    assert (closed.status_code, closed.json()["status"]) == (200, "executed"), closed.text
    assert metric(ex, GAUGE) == 0


@pytest.mark.parametrize("venue", CONTRACT_VENUES[:1], indirect=True, ids=["binance-usdm"])
def test_a_resumed_signal_places_no_leg_after_the_guard_closed(
    venue: Venue, fx: FakeExchange, tmp_path: Path
) -> None:
    """Binance USD-M (its legs are orders of their own): the guard's close reached the venue,
    the executor died before its answer; the restarted executor resumes the signal, finds the
    close by its client order id and places no leg on the flat symbol."""
    config = {
        "responseDeadlineSeconds": 0.2,
        "accounts": [venue.account(fx, timeout="10000")],
        "execution": {"onProtectionFailure": "close"},
    }
    fx.add_fault("reject", method="POST", path="/fapi/v1/algoOrder", preset="price_filter")
    path = venue.order_path
    fx.add_fault("lost_answer", method="POST", path=path, skip=1, hangMs=30_000)
    doomed = start_executor(tmp_path, fx, config, name="doomed")
    r = doomed.post(alert(id="g-resume", amount=0.01, stop_loss=66_000))
    assert (r.status_code, r.json()["status"]) == (202, "accepted"), r.text
    wait_for(
        lambda: any(str(o.get("clientOrderId")).endswith("-uc") for o in venue.orders(fx)),
        what="the guard's close at the venue",
    )
    doomed.process.kill9()
    doomed.process.stop()
    fx.clear_faults()
    assert is_flat(fx, venue)

    ex = start_executor(tmp_path, fx, config, name="restarted")
    try:
        outcome = outcome_of(ex, "g-resume", timeout=30)
    finally:
        ex.process.stop()
    assert outcome["status"] == "executed", outcome
    assert "closed_unprotected" in str(outcome["detail"])
    assert [o for o in fx.orders(account="futures-algo") if o["algoStatus"] == "NEW"] == []
    closes = [o for o in venue.orders(fx) if str(o.get("clientOrderId")).endswith("-uc")]
    assert len(closes) == 1  # not sent again


def is_flat(fx: FakeExchange, venue: Venue) -> bool:
    positions = fx.balances()["futures"]["positions"]
    return all(Decimal(str(p.get("size", p.get("positionAmt", 0)))) == 0 for p in positions)


def test_a_target_position_flip_clears_the_gauge(
    venue: Venue, fx: FakeExchange, tmp_path: Path
) -> None:
    """The long left unprotected is closed by the flip to short (one report: the close, then
    the short's entry, whose stop is placed)."""
    config = {
        "responseDeadlineSeconds": 20.0,
        "accounts": [venue.account(fx)],
        "execution": {"mode": "target-position", "onProtectionFailure": "alert"},
        "risk": {"sizing": {"method": "fixed-notional", "notionalUSD": 1360}},
    }
    ex = start_executor(tmp_path, fx, config, name=f"guard-flip-{venue.name}")
    try:
        refuse_next_legs(venue, fx, count=2)
        exits = {"stop_loss": 66_000, "take_profits": [{"price": 70_000, "percent": 100}]}
        r = ex.post(alert(id="gf-long", action=None, position="long", **exits))
        assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
        assert metric(ex, GAUGE) == 1
        fx.clear_faults()
        flip = ex.post(alert(id="gf-short", action=None, position="short", stop_loss=70_000))
        assert (flip.status_code, flip.json()["status"]) == (200, "executed"), flip.text
        assert closed_then_short(flip.json())
        assert metric(ex, GAUGE) == 0
    finally:
        ex.process.stop()


def closed_then_short(body: dict[str, Any]) -> bool:
    """The flip's answer: the close of the long first among ``orders``, the short's entry."""
    return body["orders"][0]["client_order_id"].endswith("-cl") and body["order"]["side"] == "sell"
