"""ccxt order structures -> OrderResult and Fill (pure)."""

from __future__ import annotations

import pytest

from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.orders import fee_in_base, fill_from_order, order_result
from fks_executor.exchange.plan import OrderLeg
from fks_executor.exchange.protection import leg_amount_after_fill

from .markets_fixture import BTC_PERP, BTC_USDT

LEG = OrderLeg(Leg.ENTRY, "fks-abc-def-en", "buy", "market", 0.01)
FILLED = {
    "id": "42",
    "clientOrderId": "fks-abc-def-en",
    "symbol": "BTC/USDT",
    "side": "buy",
    "amount": 0.01,
    "filled": 0.01,
    "average": 68_000.0,
    "cost": 680.0,
    "status": "closed",
    "fees": [{"cost": 0.00001, "currency": "BTC"}, {"cost": 0.05, "currency": "USDT"}],
}


def test_order_result_from_a_filled_order() -> None:
    r = order_result(FILLED, leg=LEG, account="a", exchange="binance", market=BTC_USDT)
    assert (r.id, r.client_order_id, r.status, r.type) == (
        "42",
        LEG.client_order_id,
        "closed",
        "market",
    )
    assert (r.amount, r.filled, r.price, r.cost) == (0.01, 0.01, 68_000.0, 680.0)
    assert not r.dry_run


def test_missing_fields_fall_back_to_the_leg() -> None:
    leg = OrderLeg(Leg.STOP_LOSS, "fks-abc-def-sl", "sell", "market", 0.01, trigger_price=66_000.0)
    r = order_result({"id": "7"}, leg=leg, account="a", exchange="binance", market=BTC_USDT)
    assert (r.client_order_id, r.side, r.type, r.amount, r.price, r.status, r.filled) == (
        leg.client_order_id,
        "sell",
        "stop_loss",
        0.01,
        66_000.0,
        "open",
        0.0,
    )


def test_fill_values_fees_in_quote() -> None:
    r = order_result(FILLED, leg=LEG, account="a", exchange="binance", market=BTC_USDT)
    fill = fill_from_order(FILLED, r, BTC_USDT, now=123.0)
    assert fill is not None
    assert (fill.amount, fill.price, fill.timestamp) == (0.01, 68_000.0, 123.0)
    assert fill.fee_quote == pytest.approx(0.68 + 0.05)
    assert fee_in_base(FILLED, BTC_USDT) == pytest.approx(0.00001)
    # the legs cover what is held after the fee: 0.01 - 0.00001, truncated to the step
    assert leg_amount_after_fill(BTC_USDT, 0.01, 0.00001) == 0.00999


def test_no_fill_for_an_unfilled_order_and_contracts_use_the_contract_size() -> None:
    open_order = {**FILLED, "filled": 0.0, "cost": 0.0, "status": "open"}
    r = order_result(open_order, leg=LEG, account="a", exchange="binance", market=BTC_USDT)
    assert fill_from_order(open_order, r, BTC_USDT, now=0.0) is None
    perp = {**FILLED, "symbol": "BTC/USDT:USDT", "fees": []}
    r = order_result(perp, leg=LEG, account="a", exchange="binance", market=BTC_PERP)
    fill = fill_from_order(perp, r, BTC_PERP, now=0.0)
    assert fill is not None
    assert fill.price == pytest.approx(68_000.0)
