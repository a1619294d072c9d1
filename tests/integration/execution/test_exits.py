"""Several exits through real ``fks-executor`` and fake exchange processes, on every venue that
has them (docs/trading.md#several-exits): three take-profit targets placed (amounts, prices,
reduce-only, read at the fake) and triggered one by one by price moves; a trailing stop placed,
armed at its activation price and triggered by the callback; a trailing stop where the venue
has none refused with nothing sent; a protection the venue refuses audited
``protection_failed``, gauged ``fks_unprotected_positions``, notified, and with
``execution.onProtectionFailure: close`` the position closed at the fake."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import httpx
import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.harness.receivers import Receiver, receiver

from .helpers import Executor, alert, audit, metric, outcome_of, start_executor, wait_for
from .venues import VENUES, Venue, fx, venue_server

__all__ = ["fx", "venue_server"]  # the fixtures, for pytest

CONTRACTS = [v for v in VENUES if v.contract]
SPOT = [v for v in VENUES if not v.contract]
TARGETS = [{"price": 69_000, "percent": 30}, {"price": 70_000, "percent": 30}]
TARGETS.append({"price": 71_000, "percent": 40})


@pytest.fixture(scope="module", params=VENUES, ids=[v.name for v in VENUES])
def venue(request: pytest.FixtureRequest) -> Venue:
    profile: Venue = request.param
    return profile


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with receiver("webhook") as rx:
        yield rx


def _executor(
    workdir: Path, venue: Venue, fx: FakeExchange, rx: Receiver, on_failure: str, name: str
) -> Executor:
    changes = {
        "responseDeadlineSeconds": 20.0,
        "accounts": [venue.account(fx)],
        "execution": {"onProtectionFailure": on_failure},
        "notifications": [
            {
                "name": "hook",
                "type": "webhook",
                "secretEnv": "FKS_NOTIFY_HOOK",
                "events": ["protection_failed"],
            }
        ],
    }
    env = {"FKS_NOTIFY_HOOK": rx.secret}
    return start_executor(workdir, fx, changes, env=env, name=name)


@pytest.fixture(scope="module")
def workdir(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"exits-{venue.name}")


@pytest.fixture(scope="module")
def ex(
    venue: Venue, venue_server: FakeExchange, workdir: Path, hook: Receiver
) -> Iterator[Executor]:
    executor = _executor(workdir, venue, venue_server, hook, "alert", f"exits-{venue.name}")
    yield executor
    executor.process.stop()


def _held(venue: Venue, fx: FakeExchange) -> Decimal:
    """The long position (contracts) or the BTC held (spot) at the fake."""
    if venue.contract:
        positions = fx.balances()["futures"]["positions"]
        return sum(
            (abs(Decimal(str(p.get("size", p.get("positionAmt", 0))))) for p in positions),
            Decimal(0),
        )
    return Decimal(fx.balances()["spot"]["BTC"]["free"]) + Decimal(
        fx.balances()["spot"]["BTC"]["locked"]
    )


def _resting(venue: Venue, fx: FakeExchange, cid: str) -> dict[str, Any]:
    """The venue's resting conditional order ``cid`` (Binance USD-M: an algo order)."""
    if venue.name == "binance-usdm":
        (order,) = [o for o in fx.orders(account="futures-algo") if o["clientAlgoId"] == cid]
        return {
            "qty": Decimal(order["quantity"]),
            "trigger": Decimal(order["triggerPrice"]),
            "side": order["side"].upper(),
            "reduce_only": order["reduceOnly"] in (True, "true"),
            "type": order["orderType"],
        }
    (order,) = fx.orders(client_order_id=cid) if not venue.contract else venue.orders(fx, cid)
    return {
        "qty": Decimal(str(order.get("origQty", order.get("qty")))),
        "trigger": Decimal(str(order.get("stopPrice", order.get("triggerPrice")))),
        "side": str(order["side"]).upper(),
        "reduce_only": order.get("reduceOnly") in (True, "true"),
        "type": order.get("type", order.get("orderType")),
    }


def test_three_targets_are_placed_and_scale_out_with_the_price(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    fx.set_balances({"BTC": 0})
    signal_id = f"targets-{venue.name}"
    r = ex.post(alert(id=signal_id, amount=0.03, take_profits=TARGETS))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.json()
    body = r.json()
    assert outcome_of(ex, signal_id) == body
    assert "detail" not in body or "not placed" not in str(body["detail"])
    legs = body["orders"]
    assert [o["type"] for o in legs] == ["take_profit"] * 3
    assert [o["client_order_id"][-3:] for o in legs] == ["-t0", "-t1", "-t2"]
    resting = [_resting(venue, fx, o["client_order_id"]) for o in legs]
    # contracts: 30/30/40 % of 0.03; spot: of the fill minus the 0.1 % fee taken in BTC
    # (0.02997), the last target taking the rounding remainder
    share = Decimal("0.03") if venue.contract else Decimal("0.02997")
    expected = (
        [Decimal("0.009"), Decimal("0.009"), Decimal("0.012")]
        if venue.contract
        else [Decimal("0.00899"), Decimal("0.00899"), Decimal("0.01199")]
    )
    assert [o["qty"] for o in resting] == expected
    assert sum(expected) == share
    assert [o["trigger"] for o in resting] == [69_000, 70_000, 71_000]
    assert {o["side"] for o in resting} == {"SELL"}
    assert all(o["reduce_only"] for o in resting) == venue.contract
    held = [_held(venue, fx)]
    for price in (68_500, 69_000, 70_000, 71_000):
        fx.set_price("BTC/USDT", price)
        held.append(_held(venue, fx))
    assert held == [share, share, share - expected[0], expected[2], 0]


@pytest.mark.parametrize("venue", CONTRACTS, indirect=True, ids=[v.name for v in CONTRACTS])
@pytest.mark.parametrize("how", ["percent", "activated"])
def test_a_trailing_stop_arms_then_follows_the_high(
    ex: Executor, venue: Venue, fx: FakeExchange, how: str
) -> None:
    trailing: dict[str, Any] = {"percent": 1}
    if how == "activated":
        trailing["activation_price"] = 69_000
    r = ex.post(alert(id=f"trail-{how}-{venue.name}", amount=0.02, trailing_stop=trailing))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.json()
    (leg,) = r.json()["orders"]
    assert (leg["type"], leg["side"], leg["status"]) == ("trailing_stop", "sell", "open")
    if venue.name == "binance-usdm":
        (algo,) = fx.orders(account="futures-algo")
        assert (algo["orderType"], algo["clientAlgoId"], Decimal(algo["quantity"])) == (
            "TRAILING_STOP_MARKET",
            leg["client_order_id"],
            Decimal("0.02"),
        )
        (sent,) = [r["params"] for r in fx.requests(method="POST", path="/fapi/v1/algoOrder")]
        assert (Decimal(sent["callbackRate"]), sent["reduceOnly"]) == (1, "true")
        activation = sent.get("activatePrice")
    else:  # Bybit: the position's trailing stop, 1 % of the 68,000 entry = a 680 distance
        path = "/v5/position/trading-stop"
        (sent,) = [r["params"] for r in fx.requests(method="POST", path=path)]
        assert Decimal(sent["trailingStop"]) == 680
        activation = sent.get("activePrice")
    if how == "activated":
        assert Decimal(activation) == 69_000
    else:
        assert activation is None
    # not armed below 69,000 (when an activation price is given); then it follows the high
    # (70,000) and closes once the price falls 1 % under it (Binance 69,300; Bybit 69,320)
    moves = ["68500", "67500"] if how == "activated" else []
    for price in [*moves, "69000", "70000", "69400"]:
        fx.set_price("BTC/USDT", price)
        assert _held(venue, fx) == Decimal("0.02"), price
    fx.set_price("BTC/USDT", "69300")
    assert _held(venue, fx) == 0


#: Spot venues have no trailing stop; Binance USD-M trails by percent only (callbackRate).
LACKING = [(v, {"percent": 1}) for v in SPOT]
LACKING += [(v, {"amount": 500}) for v in VENUES if v.name != "bybit-linear"]


@pytest.mark.parametrize(
    ("venue", "trailing"),
    LACKING,
    indirect=["venue"],
    ids=[f"{v.name}-{next(iter(t))}" for v, t in LACKING],
)
def test_a_trailing_stop_the_venue_lacks_is_refused_with_nothing_sent(
    ex: Executor, venue: Venue, fx: FakeExchange, trailing: dict[str, Any]
) -> None:
    posts_before = venue.requests(fx, "POST")
    signal_id = f"no-trail-{next(iter(trailing))}-{venue.name}"
    r = ex.post(alert(id=signal_id, amount=0.01, trailing_stop=trailing))
    assert r.status_code == 422, r.json()
    assert (r.json()["status"], r.json()["reason"]) == ("rejected", "invalid_order")
    assert "trailing_stop" in r.json()["detail"]
    assert venue.requests(fx, "POST") == posts_before
    assert venue.orders(fx) == []


def _refuse_first_leg(venue: Venue, fx: FakeExchange) -> None:
    """The venue refuses the first protective order (the entry goes through)."""
    if venue.name == "binance-usdm":
        fx.add_fault("reject", method="POST", path="/fapi/v1/algoOrder", preset="price_filter")
    else:
        fx.add_fault("reject", method="POST", path=venue.order_path, skip=1, preset="price_filter")


def _exits(venue: Venue) -> dict[str, Any]:
    """A stop-loss and one target (contracts), or one target alone (spot: each resting sell
    locks its coins)."""
    target = {"take_profits": [{"price": 70_000, "percent": 100}]}
    return {"stop_loss": 66_000, **target} if venue.contract else target


def _gauge(ex: Executor, venue: Venue) -> float | None:
    symbol = "BTC/USDT:USDT" if venue.contract else "BTC/USDT"
    return metric(ex, f'fks_unprotected_positions{{account="main",symbol="{symbol}"}}')


def test_a_refused_protection_is_audited_gauged_and_notified(
    ex: Executor, venue: Venue, fx: FakeExchange, workdir: Path, hook: Receiver
) -> None:
    fx.set_balances({"BTC": 0})
    _refuse_first_leg(venue, fx)
    signal_id = f"naked-{venue.name}"
    r = ex.post(alert(id=signal_id, amount=0.01, **_exits(venue)))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.json()
    leg = "sl" if venue.contract else "t0"
    assert f"{leg} leg not placed: invalid_order" in r.json()["detail"]
    assert _held(venue, fx) > 0  # the entry stays: it happened
    lines = [a for a in audit(workdir) if a["decision"] == "protection_failed"]
    assert [(a["signal_id"], a["reason"]) for a in lines] == [(signal_id, "invalid_order")]
    assert "the position stays open" in lines[0]["detail"]
    assert _gauge(ex, venue) == 1
    wait_for(
        lambda: any(m.body.get("event") == "protection_failed" for m in hook.received),
        what="the protection_failed notification",
    )
    closed = ex.post(alert(id=f"{signal_id}-close", action="close"))
    assert closed.json()["status"] == "executed"
    assert _gauge(ex, venue) == 0  # the position is closed


#: The account's first open-order listing of the check after the fill, per contract venue.
LISTING = {"binance-usdm": "/fapi/v1/openOrders", "bybit-linear": "/v5/order/realtime"}


@pytest.mark.parametrize("venue", CONTRACTS, indirect=True, ids=[v.name for v in CONTRACTS])
def test_a_protection_gone_before_the_check_is_a_failure(
    ex: Executor, venue: Venue, fx: FakeExchange, workdir: Path
) -> None:
    """The target is placed, then cancelled at the venue (as from its web UI) while the
    executor's check waits for the venue's answer: the check finds it missing."""
    fx.add_fault("latency", method="GET", path=LISTING[venue.name], delayMs=600, count=50)
    signal_id = f"gone-{venue.name}"
    body = alert(id=signal_id, amount=0.01, take_profits=[{"price": 70_000, "percent": 100}])
    answers: list[httpx.Response] = []

    def post() -> None:
        url = f"{ex.url}/webhook/tradingview"
        answers.append(httpx.post(url, content=json.dumps(body).encode(), timeout=30))

    api = (ccxt.binance if venue.server == "binance" else ccxt.bybit)(fx.ccxt_config(venue.name))
    fx.point(api)
    api.load_markets()
    poster = threading.Thread(target=post)
    poster.start()
    try:
        _cancel_the_leg_once_placed(venue, fx, api)
    finally:
        poster.join(30)
    (r,) = answers
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.json()
    assert "t0 leg not placed: protection_missing" in r.json()["detail"]
    assert "orders" not in r.json()  # the missing leg is not reported as resting
    lines = [a for a in audit(workdir) if a["signal_id"] == signal_id]
    assert [a["reason"] for a in lines if a["decision"] == "protection_failed"] == [
        "protection_missing"
    ]
    assert _gauge(ex, venue) == 1
    fx.clear_faults()
    closed = ex.post(alert(id=f"{signal_id}-close", action="close"))
    assert closed.json()["status"] == "executed"
    assert _gauge(ex, venue) == 0


def _cancel_the_leg_once_placed(venue: Venue, fx: FakeExchange, api: Any) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if venue.name == "binance-usdm":
            legs = [(o["algoId"], {"trigger": True}) for o in fx.orders(account="futures-algo")]
        else:
            legs = [
                (o["orderId"], {})
                for o in venue.orders(fx)
                if Decimal(str(o.get("triggerPrice") or 0)) > 0
            ]
        if legs:
            ((order_id, params),) = legs
            api.cancel_order(str(order_id), "BTC/USDT:USDT", params)
            return
        time.sleep(0.02)
    raise TimeoutError("the take-profit never reached the venue")


def test_on_protection_failure_close_closes_the_position(
    venue: Venue,
    venue_server: FakeExchange,
    tmp_path: Path,
    hook: Receiver,
) -> None:
    fx = venue_server
    fx.reset()
    fx.set_balances({"BTC": 0})
    ex = _executor(tmp_path, venue, fx, hook, "close", f"exits-close-{venue.name}")
    try:
        _refuse_first_leg(venue, fx)
        signal_id = f"naked-close-{venue.name}"
        r = ex.post(alert(id=signal_id, amount=0.01, **_exits(venue)))
        assert (r.status_code, r.json()["status"]) == (200, "executed"), r.json()
        body = r.json()
        assert "the position was closed (execution.onProtectionFailure: close)" in body["detail"]
        close = body["orders"][-1]
        assert close["client_order_id"].endswith("-uc")  # the guard's own leg
        (order,) = venue.orders(fx, close["client_order_id"])
        assert venue.filled(order)[0] == "closed"
        assert str(order["side"]).upper() == "SELL"
        if venue.contract:
            assert _held(venue, fx) == 0
            assert order.get("reduceOnly") in (True, "true")
        else:
            assert _held(venue, fx) < Decimal("0.00001")  # the fee's dust may remain
        assert _gauge(ex, venue) == 0
        lines = audit(tmp_path)
        (line,) = [a for a in lines if a["decision"] == "protection_failed"]
        assert "closing the position" in line["detail"]
        results = [a for a in lines if a["decision"] == "order_result"]
        assert any(close["client_order_id"] in a["detail"] for a in results)
    finally:
        ex.process.stop()
        fx.reset()


@pytest.mark.parametrize("venue", CONTRACTS, indirect=True, ids=[v.name for v in CONTRACTS])
def test_dry_run_simulates_every_exit_and_sends_nothing(
    venue: Venue, venue_server: FakeExchange, tmp_path: Path
) -> None:
    fx = venue_server
    fx.reset()
    changes = {"dryRun": True, "accounts": [venue.account(fx)]}
    ex = start_executor(tmp_path, fx, changes, name=f"exits-dry-{venue.name}")
    try:
        trailing = {"percent": 1, "activation_price": 69_500}
        body = alert(id=f"dry-{venue.name}", amount=0.03, take_profits=TARGETS, stop_loss=66_000)
        r = ex.post({**body, "trailing_stop": trailing})
        assert (r.status_code, r.json()["status"]) == (200, "dry_run"), r.json()
        legs = [(o["type"], o["amount"], o["price"], o["status"]) for o in r.json()["orders"]]
        assert legs == [
            ("stop_loss", 0.03, 66_000, "simulated"),
            ("take_profit", 0.009, 69_000, "simulated"),
            ("take_profit", 0.009, 70_000, "simulated"),
            ("take_profit", 0.012, 71_000, "simulated"),
            ("trailing_stop", 0.03, 69_500, "simulated"),
        ]
        tiny = [{"price": 69_000, "percent": 10}, {"price": 70_000, "percent": 10}]
        refused = ex.post(alert(id=f"dry-bad-{venue.name}", amount=0.002, take_profits=tiny))
        assert (refused.status_code, refused.json()["reason"]) == (422, "below_minimum")
        assert "take_profits targets together" in refused.json()["detail"]
        assert fx.stats()["byEndpoint"].get(f"POST {venue.order_path}", 0) == 0
        assert venue.orders(fx) == []
    finally:
        ex.process.stop()
        fx.reset()
