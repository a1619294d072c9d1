"""Resting stop-loss/take-profit legs in the fills ledger: tracked until found executed or gone.

A leg rests on the exchange and triggers there, unseen by the executor. While the daily loss
limit is on, every placed leg is remembered in the ledger (so every replica and a restarted
process see it), and before each new entry the resting legs are looked up: a leg found filled
is booked as a fill then (a hit stop-loss counts towards ``dailyLossLimitUSD``).
"""

from __future__ import annotations

import logging
from typing import Any

from fks_executor.errors import ExecutorError
from fks_executor.exchange.base import ExchangeClient, ExecutionReport
from fks_executor.exchange.client_ids import Leg
from fks_executor.exchange.plan import OrderLeg
from fks_executor.risk import Fill, FillsLedger

__all__ = ["sync_legs", "track_legs"]

log = logging.getLogger(__name__)


async def track_legs(ledger: FillsLedger, account: str, report: ExecutionReport) -> None:
    """Remember the open legs of ``report``; forget the orders it cancelled."""
    for order in report.cancelled:
        await ledger.forget_leg(order.client_order_id)
    planned = {leg.client_order_id: leg for leg in report.plan.protective}
    for order in report.legs:
        leg = planned.get(order.client_order_id)
        if leg is not None and order.status == "open":
            await ledger.track_leg(
                order.client_order_id, _leg_record(account, report.plan.symbol, leg)
            )


async def sync_legs(ledger: FillsLedger, client: ExchangeClient, account: str, now: float) -> None:
    """Book the fills of ``account``'s legs that executed on the exchange. One lookup per
    resting leg; a lookup that fails leaves the leg for next time."""
    for cid, data in (await ledger.legs()).items():
        if data.get("account") != account:
            continue
        symbol, leg = _leg_from_record(cid, data)
        try:
            order = await client.find_order(symbol, leg)
        except ExecutorError as exc:
            log.warning("could not refresh leg %s on %s: %s", cid, symbol, exc.detail)
            continue
        if order is not None and order.status == "open":
            continue
        await ledger.forget_leg(cid)
        if order is None or order.filled <= 0:
            continue
        market = client.market(symbol)
        base = order.filled * (market.contract_size if market.contract else 1.0)
        price = order.cost / base if order.cost > 0 else (order.price or 0.0)
        await ledger.record(
            Fill(
                timestamp=now,
                account=account,
                symbol=symbol,
                side=order.side,
                amount=base,
                price=price,
                client_order_id=cid,
            )
        )


def _leg_record(account: str, symbol: str, leg: OrderLeg) -> dict[str, Any]:
    return {
        "account": account,
        "symbol": symbol,
        "leg": leg.leg.value,
        "side": leg.side,
        "type": leg.type,
        "amount": leg.amount,
        "price": leg.price,
        "trigger_price": leg.trigger_price,
        "reduce_only": leg.reduce_only,
    }


def _leg_from_record(cid: str, data: dict[str, Any]) -> tuple[str, OrderLeg]:
    leg = OrderLeg(
        leg=Leg(data["leg"]),
        client_order_id=cid,
        side=str(data["side"]),
        type=str(data["type"]),
        amount=data.get("amount"),
        price=data.get("price"),
        trigger_price=data.get("trigger_price"),
        reduce_only=bool(data.get("reduce_only")),
    )
    return str(data["symbol"]), leg
