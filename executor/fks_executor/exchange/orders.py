"""ccxt order structures -> ``OrderResult`` and ledger ``Fill`` (pure; ccxt dicts are untyped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fks_executor.domain import OrderResult
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.plan import OrderLeg
from fks_executor.risk import Fill

__all__ = ["fee_in_base", "fees_of", "fill_from_order", "num", "order_result"]


def num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fees_of(raw: Mapping[str, Any]) -> list[tuple[float, str]]:
    """(cost, currency) of every fee an order or trade structure reports."""
    return _fees(raw)


def _fees(raw: Mapping[str, Any]) -> list[tuple[float, str]]:
    fees = raw.get("fees") or ([raw["fee"]] if raw.get("fee") else [])
    out: list[tuple[float, str]] = []
    for fee in fees:
        if isinstance(fee, Mapping):
            cost = num(fee.get("cost"))
            if cost:
                out.append((cost, str(fee.get("currency") or "")))
    return out


def order_result(
    raw: Mapping[str, Any], *, leg: OrderLeg, account: str, exchange: str, market: MarketInfo
) -> OrderResult:
    """ccxt's order structure -> OrderResult (missing fields fall back to the leg's)."""
    filled = num(raw.get("filled")) or 0.0
    price = num(raw.get("average")) or num(raw.get("price")) or leg.price or leg.trigger_price
    cost = num(raw.get("cost"))
    if cost is None:
        cost = filled * (price or 0.0) * (market.contract_size if market.contract else 1.0)
    fees = _fees(raw)
    fee_currency = fees[0][1] if fees and len({c for _, c in fees}) == 1 else None
    return OrderResult(
        id=str(raw.get("id") or ""),
        client_order_id=str(raw.get("clientOrderId") or leg.client_order_id),
        account=account,
        exchange=exchange,
        symbol=str(raw.get("symbol") or market.symbol),
        side=str(raw.get("side") or leg.side),
        type=leg.kind,
        amount=num(raw.get("amount")) or leg.amount or 0.0,
        price=price,
        status=str(raw.get("status") or "open"),
        filled=filled,
        cost=cost,
        average=_average(raw, filled, cost, market),
        fee=sum(c for c, _ in fees) if fee_currency is not None else None,
        fee_currency=fee_currency,
    )


def _average(
    raw: Mapping[str, Any], filled: float, cost: float, market: MarketInfo
) -> float | None:
    if filled <= 0:
        return None
    size = market.contract_size if market.contract else 1.0
    return num(raw.get("average")) or (cost / (filled * size) if cost > 0 else None)


def fill_from_order(
    raw: Mapping[str, Any], result: OrderResult, market: MarketInfo, now: float
) -> Fill | None:
    """The filled part of an order as a ledger Fill (fees converted to quote when known)."""
    if result.filled <= 0:
        return None
    base_amount = result.filled * (market.contract_size if market.contract else 1.0)
    price = result.cost / base_amount if result.cost > 0 else (result.price or 0.0)
    fee_quote = fee_base = 0.0
    for cost, currency in _fees(raw):
        if currency == market.quote:
            fee_quote += cost
        elif currency == market.base:
            fee_quote += cost * price
            fee_base += cost
    return Fill(
        timestamp=now,
        account=result.account,
        symbol=market.symbol,
        side=result.side,
        amount=base_amount,
        price=price,
        fee_quote=fee_quote,
        client_order_id=result.client_order_id,
        fee_base=fee_base,
    )


def fee_in_base(raw: Mapping[str, Any], market: MarketInfo) -> float:
    return sum(cost for cost, currency in _fees(raw) if currency == market.base)
