"""An account's ``spec.futures`` through real ``fks-executor`` and fake exchange processes, on
Binance USD-M and Bybit linear: each setting applied once before the symbol's first entry and
read back at the venue, not sent again; a conflict under an open position refuses the entry
(409 ``futures_settings_conflict``) and shows on ``/ready``, the metric and the audit trail,
until the position is closed; hedge-mode entries and closes per side; an entry whose margin
exceeds the free collateral is refused with nothing sent (docs/trading.md#futures-settings)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import AUTH, Executor, alert, audit, metric, outcome_of, start_executor, wait_for
from .venues import VENUES, Venue, fx, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
CONTRACT_VENUES = [v for v in VENUES if v.contract]

SETTERS = {
    "binance-usdm": {
        "leverage": "/fapi/v1/leverage",
        "marginMode": "/fapi/v1/marginType",
        "positionMode": "/fapi/v1/positionSide/dual",
    },
    "bybit-linear": {
        "leverage": "/v5/position/set-leverage",
        "marginMode": "/v5/account/set-margin-mode",
        "positionMode": "/v5/position/switch-mode",
    },
}


SETTINGS_READS = {  # what reading the settings asks (besides the positions every entry reads)
    "binance-usdm": {"GET /fapi/v1/symbolConfig", "GET /fapi/v1/positionSide/dual"},
    "bybit-linear": {"GET /v5/account/info"},
}


@pytest.fixture(scope="module", params=CONTRACT_VENUES, ids=[v.name for v in CONTRACT_VENUES])
def venue(request: pytest.FixtureRequest) -> Venue:
    profile: Venue = request.param
    return profile


@pytest.fixture
def run(venue: Venue, fx: FakeExchange, tmp_path: Path) -> Iterator[Any]:
    """Start an executor on the venue with the given ``spec.futures``."""
    started: list[Executor] = []

    def start(futures: dict[str, Any], **changes: Any) -> Executor:
        account = {**venue.account(fx), "futures": futures}
        ex = start_executor(
            tmp_path,
            fx,
            {"responseDeadlineSeconds": 20.0, "accounts": [account], **changes},
            name=f"futures-{venue.name}",
        )
        started.append(ex)
        return ex

    yield start
    for ex in started:
        ex.process.stop()


def setter_calls(fx: FakeExchange, venue: Venue) -> dict[str, int]:
    """The setting requests that reached the venue, per setting."""
    return {
        setting: len(fx.requests(method="POST", path=path))
        for setting, path in SETTERS[venue.name].items()
    }


async def venue_settings(fx: FakeExchange, venue: Venue, symbol: str) -> tuple[int, str, bool]:
    """(leverage, margin mode, hedged) as the venue has them, read with ccxt."""
    async with fx.ccxt(venue.name) as api:
        await api.load_markets()
        leverage = (await api.fetch_leverage(symbol))["longLeverage"]
        margin = (await api.fetch_margin_mode(symbol))["marginMode"]
        if api.has.get("fetchPositionMode"):
            hedged = (await api.fetch_position_mode(symbol))["hedged"]
        else:
            hedged = any(p["hedged"] for p in await api.fetch_positions([symbol]))
    return int(leverage), str(margin), bool(hedged)


async def open_position(fx: FakeExchange, venue: Venue, amount: float) -> None:
    """A position opened by someone else (the venue's default leverage 20, cross)."""
    async with fx.ccxt(venue.name) as api:
        await api.load_markets()
        await api.create_order(BTC, "market", "buy", amount)


async def sides(fx: FakeExchange, venue: Venue) -> dict[str, Decimal]:
    """Open contracts per side on BTC, read from the venue with ccxt."""
    async with fx.ccxt(venue.name) as api:
        await api.load_markets()
        rows = await api.fetch_positions([BTC])
    return {str(p["side"]): Decimal(str(p["contracts"])) for p in rows if p["contracts"]}


async def test_each_setting_is_applied_once_and_verified(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"leverage": 5, "leverageBySymbol": {ETH: 3}, "marginMode": "isolated"})
    assert await venue_settings(fx, venue, BTC) == (20, "cross", False)  # the venue's defaults
    bodies = [alert(id=f"lev-1{c}", amount=venue.amount) for c in "ab"]
    with ThreadPoolExecutor(2) as pool:  # two first entries at once: still applied once
        answers = list(pool.map(ex.post, bodies))
    assert [(r.status_code, r.json()["status"]) for r in answers] == [(200, "executed")] * 2
    assert await venue_settings(fx, venue, BTC) == (5, "isolated", False)
    calls = setter_calls(fx, venue)
    assert calls == {"leverage": 1, "marginMode": 1, "positionMode": 0}
    log = [f"{r['method']} {r['path']}" for r in fx.requests()]
    assert SETTINGS_READS[venue.name] <= set(log)  # read before the first entry

    again = ex.post(alert(id="lev-2", amount=venue.amount))
    assert (again.status_code, again.json()["status"]) == (200, "executed")
    assert setter_calls(fx, venue) == calls  # cached: nothing sent again
    paths = [f"{r['method']} {r['path']}" for r in fx.requests()[len(log) :]]
    assert not set(paths) & SETTINGS_READS[venue.name], paths  # nor read again

    eth = ex.post(alert(id="lev-eth", symbol="ETHUSDT", amount=0.1, price=3500))
    assert (eth.status_code, eth.json()["status"]) == (200, "executed")
    leverage, margin, _ = await venue_settings(fx, venue, ETH)
    assert (leverage, margin) == (3, "isolated")  # leverageBySymbol over leverage
    assert len(venue.orders(fx)) == 4
    body = ex.get("/ready").json()
    assert (body["ready"], body["futures"]) == (True, {"conflicts": []})


async def test_a_conflict_under_an_open_position_refuses_the_entry(
    venue: Venue, fx: FakeExchange, run: Any, tmp_path: Path
) -> None:
    await open_position(fx, venue, 0.02)
    ex = run({"leverage": 5})
    orders = len(venue.orders(fx))
    refused = ex.post(alert(id="conflict-1", amount=venue.amount))
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert (body["status"], body["reason"]) == ("rejected", "futures_settings_conflict")
    assert "leverage of BTC/USDT:USDT is 20, spec.futures wants 5" in body["detail"]
    assert len(venue.orders(fx)) == orders  # the entry was not sent
    assert setter_calls(fx, venue) == {"leverage": 0, "marginMode": 0, "positionMode": 0}
    assert (await venue_settings(fx, venue, BTC))[0] == 20  # never changed under the position

    ready = ex.get("/ready")
    assert ready.status_code == 200  # one symbol's conflict does not take the pod out
    assert ready.json()["futures"]["conflicts"] == [
        {
            "account": "main",
            "symbol": BTC,
            "setting": "leverage",
            "wanted": "5",
            "actual": "20",
            "reason": "OpenPositionConflict",
        }
    ]
    gauge = (
        'fks_futures_settings_conflicts{account="main",setting="leverage",symbol="BTC/USDT:USDT"}'
    )
    assert metric(ex, gauge) == 1.0
    (line,) = [e for e in audit(tmp_path) if e["decision"] == "futures_settings_conflict"]
    assert (line["signal_id"], line["symbol"], line["reason"]) == (
        "conflict-1",
        BTC,
        "OpenPositionConflict",
    )

    closed = ex.post(alert(id="conflict-close", action="close"))  # closes still trade
    assert (closed.status_code, closed.json()["status"]) == (200, "executed"), closed.text
    assert await sides(fx, venue) == {}
    entry = ex.post(alert(id="conflict-2", amount=venue.amount))
    assert (entry.status_code, entry.json()["status"]) == (200, "executed"), entry.text
    assert (await venue_settings(fx, venue, BTC))[0] == 5
    assert setter_calls(fx, venue)["leverage"] == 1
    assert metric(ex, gauge) == 0.0
    assert ex.get("/ready", **AUTH).json()["futures"]["conflicts"] == []


async def test_hedge_mode_entries_and_closes_per_side(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"positionMode": "hedge", "leverage": 10})
    for signal_id, action, amount in (("h-long", "buy", 0.03), ("h-short", "sell", 0.02)):
        r = ex.post(alert(id=signal_id, action=action, amount=amount))
        assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert (await venue_settings(fx, venue, BTC))[2] is True
    assert await sides(fx, venue) == {"long": Decimal("0.03"), "short": Decimal("0.02")}

    short = ex.post(alert(id="h-close-short", action="close", position="short"))
    assert (short.status_code, short.json()["status"]) == (200, "executed"), short.text
    assert short.json()["order"]["side"] == "buy"
    assert await sides(fx, venue) == {"long": Decimal("0.03")}  # the long side is untouched

    r = ex.post(alert(id="h-short-2", action="sell", amount=0.01))
    assert r.status_code == 200, r.text
    both = ex.post(alert(id="h-close-both", action="close"))
    assert (both.status_code, both.json()["status"]) == (200, "executed"), both.text
    closes = [both.json()["order"], *both.json()["orders"]]
    assert sorted((o["side"], o["amount"]) for o in closes) == [("buy", 0.01), ("sell", 0.03)]
    assert await sides(fx, venue) == {}
    sent = [r["params"] for r in fx.requests(method="POST", path=venue.order_path)]
    if venue.name == "binance-usdm":
        assert [(p["side"], p["positionSide"]) for p in sent] == [
            ("BUY", "LONG"),
            ("SELL", "SHORT"),
            ("BUY", "SHORT"),
            ("SELL", "SHORT"),
            ("SELL", "LONG"),
            ("BUY", "SHORT"),
        ]
    else:
        assert [(p["side"], p["positionIdx"]) for p in sent] == [
            ("Buy", "1"),
            ("Sell", "2"),
            ("Buy", "2"),
            ("Sell", "2"),
            ("Sell", "1"),
            ("Buy", "2"),
        ]


async def hedge_the_venue(fx: FakeExchange, venue: Venue) -> None:
    """The venue put in hedge mode by someone else (spec.futures says nothing of it)."""
    async with fx.ccxt(venue.name) as api:
        await api.load_markets()
        await api.set_position_mode(True, BTC)


def exit_sides(fx: FakeExchange, venue: Venue) -> list[tuple[str, str]]:
    """(side, position side) of every resting exit at the venue."""
    if venue.name == "binance-usdm":
        return [(str(o["side"]), str(o["positionSide"])) for o in fx.orders(account="futures-algo")]
    return [
        (str(o["side"]), str(o["positionIdx"]))
        for o in venue.orders(fx)
        if Decimal(str(o.get("triggerPrice") or 0)) > 0
    ]


async def test_exits_carry_the_side_of_a_venue_in_hedge_mode_the_spec_does_not_name(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    await hedge_the_venue(fx, venue)
    ex = run({"leverage": 20})  # positionMode left out: the venue's mode is kept
    targets = [{"price": 70_000, "percent": 50}, {"price": 71_000, "percent": 50}]
    body = alert(id="hx-long", amount=0.02, stop_loss=60_000, take_profits=targets)
    r = ex.post(body)
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert "not placed" not in str(r.json().get("detail")), r.json()
    legs = r.json()["orders"]
    assert [(o["type"], o["status"]) for o in legs] == [("stop_loss", "open")] + [
        ("take_profit", "open")
    ] * 2
    side = "LONG" if venue.name == "binance-usdm" else "1"
    assert exit_sides(fx, venue) == [("SELL" if venue.name == "binance-usdm" else "Sell", side)] * 3
    assert await sides(fx, venue) == {"long": Decimal("0.02")}


async def test_an_entry_beyond_the_free_margin_sends_nothing(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"leverage": 2})
    refused = ex.post(alert(id="margin-1", amount=0.3))  # 20,400 / 2 > the 10,000 free
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert (body["status"], body["reason"]) == ("rejected", "insufficient_funds")
    assert "at 2x leverage" in body["detail"]
    assert fx.requests(method="POST", path=venue.order_path) == []
    fits = ex.post(alert(id="margin-2", amount=0.2))  # 13,600 / 2 = 6,800 fits
    assert (fits.status_code, fits.json()["status"]) == (200, "executed"), fits.text


async def test_hedge_mode_stop_loss_protects_the_side_it_opened(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"positionMode": "hedge"})
    r = ex.post(alert(id="hsl-short", action="sell", amount=0.02, stop_loss=70_000))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    assert "detail" not in r.json(), r.json()  # every leg placed
    if venue.name == "binance-usdm":
        (stop,) = fx.orders(account="futures-algo")
        assert (stop["side"], stop["positionSide"]) == ("BUY", "SHORT")
    else:
        (entry,) = venue.orders(fx)
        assert (entry["positionIdx"], Decimal(entry["stopLoss"])) == (2, 70_000)
    fx.set_price(BTC, "70500")  # the stop closes the short
    assert await sides(fx, venue) == {}


async def test_dry_run_sends_no_settings_and_checks_the_margin_on_paper(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run(
        {"leverage": 2, "marginMode": "isolated", "positionMode": "hedge"},
        dryRun=True,
        risk={"paperBalanceUSD": 1_000},
    )
    r = ex.post(alert(id="paper-1", amount=0.02))  # 1,360 / 2 = 680 of 1,000
    assert (r.status_code, r.json()["status"]) == (200, "dry_run"), r.text
    refused = ex.post(alert(id="paper-2", amount=0.04))  # 2,720 / 2 = 1,360 > 1,000
    assert (refused.status_code, refused.json()["reason"]) == (422, "insufficient_funds")
    assert "at 2x leverage" in refused.json()["detail"]
    assert setter_calls(fx, venue) == {"leverage": 0, "marginMode": 0, "positionMode": 0}
    assert await venue_settings(fx, venue, BTC) == (20, "cross", False)  # untouched
    assert fx.requests(method="POST", path=venue.order_path) == []


async def test_dry_run_closes_the_short_side_in_hedge_mode(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"positionMode": "hedge"}, dryRun=True, risk={"paperBalanceUSD": 10_000})
    r = ex.post(alert(id="paper-short", action="sell", amount=0.02))
    assert (r.status_code, r.json()["status"]) == (200, "dry_run"), r.text
    closed = ex.post(alert(id="paper-close-short", action="close", position="short"))
    assert (closed.status_code, closed.json()["status"]) == (200, "dry_run"), closed.text
    order = closed.json()["order"]
    assert (order["side"], order["amount"], order["filled"]) == ("buy", 0.02, 0.02), order
    assert fx.requests(method="POST", path=venue.order_path) == []


async def test_a_one_way_close_naming_the_other_side_is_refused(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"leverage": 20})  # one-way, the venue's default
    r = ex.post(alert(id="ow-short", action="sell", amount=0.02))
    assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    refused = ex.post(alert(id="ow-close-long", action="close", position="long"))
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert (body["status"], body["reason"]) == ("rejected", "invalid_order")
    assert "open position on BTC/USDT:USDT is short" in body["detail"]
    assert len(fx.requests(method="POST", path=venue.order_path)) == 1  # the entry only
    assert await sides(fx, venue) == {"short": Decimal("0.02")}
    closed = ex.post(alert(id="ow-close-short", action="close", position="short"))
    assert (closed.status_code, closed.json()["status"]) == (200, "executed"), closed.text
    assert closed.json()["order"]["side"] == "buy"
    assert await sides(fx, venue) == {}


def test_a_resumed_entry_keeps_its_settings_after_a_spec_change(
    venue: Venue, fx: FakeExchange, tmp_path: Path
) -> None:
    """``kill -9`` once the venue recorded the entry; the next process, with another leverage
    in spec.futures, finds the entry by client order id: its settings are not judged again
    under the position the entry opened (no conflict), and its stop-loss is placed."""

    def changes(leverage: int) -> dict[str, Any]:
        account = {**venue.account(fx, timeout="10000"), "futures": {"leverage": leverage}}
        return {"responseDeadlineSeconds": 0.2, "accounts": [account]}

    doomed = start_executor(tmp_path, fx, changes(20), name=f"futures-doomed-{venue.name}")
    try:
        fx.add_fault("lost_answer", method="POST", path=venue.order_path, hangMs=30_000)
        r = doomed.post(alert(id="resume-sl", action="sell", amount=0.02, stop_loss=70_000))
        assert (r.status_code, r.json()["status"]) == (202, "accepted"), r.text
        wait_for(lambda: len(venue.orders(fx)) == 1, what="the entry recorded")
        doomed.process.kill9()
    finally:
        doomed.process.stop()
    fx.clear_faults()

    ex = start_executor(tmp_path, fx, changes(5), name=f"futures-resumed-{venue.name}")
    try:
        outcome = outcome_of(ex, "resume-sl")
    finally:
        ex.process.stop()
    assert outcome["status"] == "executed", outcome
    assert "not placed" not in str(outcome.get("detail")), outcome
    assert setter_calls(fx, venue)["leverage"] == 0  # nothing changed under the position
    if venue.name == "binance-usdm":
        (stop,) = fx.orders(account="futures-algo")
        assert (stop["side"], Decimal(str(stop["triggerPrice"]))) == ("BUY", 70_000)
    else:
        (entry,) = venue.orders(fx)
        assert Decimal(entry["stopLoss"]) == 70_000
    assert len(venue.orders(fx)) == 1  # the entry, sent once


async def test_hedge_mode_caps_the_position_of_the_side_an_entry_adds_to(
    venue: Venue, fx: FakeExchange, run: Any
) -> None:
    ex = run({"positionMode": "hedge"}, risk={"maxPositionSizeUSD": 2_500})
    for signal_id, action, amount in (("cap-long", "buy", 0.03), ("cap-short", "sell", 0.02)):
        r = ex.post(alert(id=signal_id, action=action, amount=amount))
        assert (r.status_code, r.json()["status"]) == (200, "executed"), r.text
    # the long side holds 2,040 USD (the net only 680): 460 USD of room at 68,000
    more = ex.post(alert(id="cap-more", action="buy", amount=0.01))
    assert (more.status_code, more.json()["status"]) == (200, "executed"), more.text
    assert more.json()["order"]["amount"] == 0.006
    assert await sides(fx, venue) == {"long": Decimal("0.036"), "short": Decimal("0.02")}
