"""A buy with stop_loss and take_profit ends with the protection at the exchange on every
venue — attached to the entry where the venue takes it, separate orders after the fill
otherwise — and a close takes it away with the position. Checked on the fake exchange's side
(its order list and positions), through real ``fks-executor`` and fake exchange processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, outcome_of, start_executor
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

SL, TP = 66_000, 70_000


@pytest.fixture(scope="module")
def ex(
    venue: Venue, venue_server: FakeExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Executor]:
    workdir: Path = tmp_path_factory.mktemp(f"protection-{venue.name}")
    changes = {"responseDeadlineSeconds": 20.0, "accounts": [venue.account(venue_server)]}
    executor = start_executor(workdir, venue_server, changes, name=f"protection-{venue.name}")
    yield executor
    executor.process.stop()


def binance_spot(fx: FakeExchange, body: dict[str, Any]) -> list[str]:
    """One OCO list (one balance lock), for the fill minus the 0.1 % fee taken in BTC."""
    legs = {o["type"]: o["client_order_id"] for o in body["orders"]}
    (sl,) = fx.orders(client_order_id=legs["stop_loss"])
    (tp,) = fx.orders(client_order_id=legs["take_profit"])
    assert (sl["side"], sl["type"], Decimal(sl["stopPrice"])) == ("SELL", "STOP_LOSS", SL)
    assert (tp["side"], tp["type"], Decimal(tp["stopPrice"])) == ("SELL", "TAKE_PROFIT", TP)
    assert sl["orderListId"] == tp["orderListId"] != -1
    assert Decimal(sl["origQty"]) == Decimal(tp["origQty"]) == Decimal("0.00999")
    assert sl["status"] == tp["status"] == "NEW"
    return [sl["clientOrderId"], tp["clientOrderId"]]


def binance_usdm(fx: FakeExchange, body: dict[str, Any]) -> list[str]:
    """Two reduce-only conditional (algo) orders."""
    legs = {o["type"]: o["client_order_id"] for o in body["orders"]}
    algo = {o["clientAlgoId"]: o for o in fx.orders(account="futures-algo")}
    sl, tp = algo[legs["stop_loss"]], algo[legs["take_profit"]]
    assert (sl["side"], Decimal(sl["triggerPrice"])) == ("SELL", SL)
    assert (tp["side"], Decimal(tp["triggerPrice"])) == ("SELL", TP)
    assert all(o["reduceOnly"] in (True, "true") for o in (sl, tp))
    return [sl["clientAlgoId"], tp["clientAlgoId"]]


def bybit_spot(fx: FakeExchange, body: dict[str, Any]) -> list[str]:
    """Separate TP/SL orders (``tpslOrder``) after the fill: ccxt refuses them attached to a
    spot market order. Each locks its coins, so with no BTC but the fill only the stop-loss
    fits; the take-profit's refusal is in ``detail`` (protection before profit)."""
    legs = {o["type"]: o["client_order_id"] for o in body["orders"]}
    (sl,) = fx.orders(client_order_id=legs["stop_loss"])
    assert (sl["side"], sl["status"], Decimal(sl["triggerPrice"])) == ("Sell", "Untriggered", SL)
    assert Decimal(sl["qty"]) == Decimal("0.00999")  # the fill minus the fee taken in BTC
    assert "tp leg not placed: insufficient_funds" in body["detail"]
    return [sl["clientOrderId"]]


def bybit_linear(fx: FakeExchange, body: dict[str, Any]) -> list[str]:
    """Attached to the entry: the position carries them."""
    assert "orders" not in body  # nothing separate
    (entry,) = fx.orders(account="linear", client_order_id=body["order"]["client_order_id"])
    assert (Decimal(entry["stopLoss"]), Decimal(entry["takeProfit"])) == (SL, TP)
    (position,) = fx.balances()["futures"]["positions"]
    assert (Decimal(position["stopLoss"]), Decimal(position["takeProfit"])) == (SL, TP)
    return []


CHECKS: dict[str, Callable[[FakeExchange, dict[str, Any]], list[str]]] = {
    "binance-spot": binance_spot,
    "binance-usdm": binance_usdm,
    "bybit-spot": bybit_spot,
    "bybit-linear": bybit_linear,
}


def test_the_protection_ends_at_the_exchange_and_the_close_takes_it_away(
    ex: Executor, venue: Venue, fx: FakeExchange
) -> None:
    fx.set_balances({"BTC": 0})
    signal_id = f"protected-{venue.name}"
    r = ex.post(alert(id=signal_id, amount=venue.amount, stop_loss=SL, take_profit=TP))
    assert (r.status_code, r.json()["status"]) == (200, "executed")
    assert outcome_of(ex, signal_id) == r.json()
    (entry,) = venue.orders(fx, r.json()["order"]["client_order_id"])
    assert venue.filled(entry) == ("closed", Decimal(str(venue.amount)))
    resting = CHECKS[venue.name](fx, r.json())

    closed = ex.post(alert(id=f"{signal_id}-close", action="close"))
    assert (closed.status_code, closed.json()["status"]) == (200, "executed")
    cancelled = {o["client_order_id"] for o in closed.json().get("orders", [])}
    assert cancelled == set(resting)  # this pipeline's resting legs, cancelled first
    (close,) = venue.orders(fx, closed.json()["order"]["client_order_id"])
    assert venue.filled(close)[0] == "closed"
    assert str(close["side"]).upper() == "SELL"
    if venue.contract:
        positions = fx.balances()["futures"]["positions"]
        assert all(Decimal(str(p.get("size", p.get("positionAmt", 0)))) == 0 for p in positions)
    else:
        assert Decimal(fx.balances()["spot"]["BTC"]["free"]) < Decimal("0.00001")
