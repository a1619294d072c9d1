"""What the Bybit venue's websocket subscribers are sent when the unified account changes.

Private topics carry the same records as the REST endpoints (order/realtime, execution/list,
position/list, account/wallet-balance), each with its ``category``, in Bybit's push envelope
``{"id", "topic", "creationTime", "data": [...]}``; public ``tickers.<symbol>`` carry the REST
ticker in ``{"topic", "ts", "type": "snapshot", "cs", "data"}``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from fks_fake_exchange import bybit_views, ws_diff
from fks_fake_exchange.bybit_account import BybitAccount, BybitOrder
from fks_fake_exchange.bybit_errors import Category
from fks_fake_exchange.futures import FuturesFill
from fks_fake_exchange.orders import Fill
from fks_fake_exchange.state import Exchange

ZERO = Decimal(0)
PRIVATE_TOPICS = ("order", "execution", "position", "wallet")
_push_ids = itertools.count(1)


def public_topic(category: Category, symbol: str) -> str:
    """The hub topic of ``tickers.<symbol>`` on one category's public endpoint."""
    return f"bybit-{category}:tickers.{symbol}"


def private_topic(name: str) -> str:
    return f"bybit:{name}"


@dataclass
class Seen:
    """What was last published (the account by identity: a reset replaces it)."""

    account: BybitAccount
    orders: dict[str, tuple[str, Decimal]]
    """The state of the orders open then (see :mod:`fks_fake_exchange.ws_diff`)."""
    order_count: int
    spot_trades: int
    futures_trades: int
    balances: dict[str, tuple[Decimal, Decimal]]
    positions: dict[str, tuple[Decimal, Decimal]]
    prices: dict[str, Decimal]


def _state(account: BybitAccount, order: BybitOrder) -> tuple[str, Decimal]:
    engine = account.engine_order(order)
    return (account.status(order), engine.executed_qty if engine is not None else ZERO)


def candidates(account: BybitAccount, before: Seen) -> list[BybitOrder]:
    return ws_diff.candidates(account.orders, before.orders, before.order_count)


def snapshot(ex: Exchange, previous: Seen | None = None) -> Seen:
    """The state to compare with next (from the orders that may have changed since ``previous``,
    else from all of them)."""
    account = ex.bybit
    assert account is not None, "a Bybit feed on a server of another venue"
    orders = (
        candidates(account, previous)
        if previous is not None and previous.account is account
        else list(account.orders.values())
    )
    return Seen(
        account=account,
        orders=ws_diff.open_states(
            orders, lambda o: o.order_id, lambda o: _state(account, o), account.is_open
        ),
        order_count=len(account.orders),
        spot_trades=len(account.spot.trades),
        futures_trades=len(account.futures.trades),
        balances={a: (b.free, b.locked) for a, b in account.spot.balances.items()},
        positions={s: (p.qty, p.entry_price) for s, p in account.futures.positions.items()},
        prices=dict(ex.prices),
    )


def push(topic: str, data: list[dict[str, object]], now: int) -> dict[str, object]:
    return {"id": f"fks-{next(_push_ids)}", "topic": topic, "creationTime": now, "data": data}


def ticker_push(ex: Exchange, category: Category, symbol: str, now: int) -> dict[str, object]:
    markets = ex.spot_markets if category == "spot" else ex.futures_markets
    data = bybit_views.ticker(markets[symbol], ex.price(symbol), now)
    return {"topic": f"tickers.{symbol}", "ts": now, "type": "snapshot", "cs": now, "data": data}


def changes(ex: Exchange, before: Seen, now: int) -> list[tuple[str, dict[str, object]]]:
    """(hub topic, message) of everything that changed since ``before``, in Bybit's order:
    orders, executions, positions, wallet; then tickers."""
    account = ex.bybit
    assert account is not None
    sent: list[tuple[str, dict[str, object]]] = []
    orders = [
        {"category": o.category, **bybit_views.order_view(account, o)}
        for o in candidates(account, before)
        if before.orders.get(o.order_id) != _state(account, o)
    ]
    if orders:
        sent.append((private_topic("order"), push("order", orders, now)))
    executions = []
    new_fills: tuple[tuple[Category, list[Fill] | list[FuturesFill]], ...] = (
        ("spot", account.spot.trades[before.spot_trades :]),
        ("linear", account.futures.trades[before.futures_trades :]),
    )
    for category, fills in new_fills:
        for fill in fills:
            order = account.by_engine.get((category, fill.order_id))
            if order is not None:
                view = bybit_views.execution_view(account, order, fill)
                executions.append({"category": category, **view})
    if executions:
        sent.append((private_topic("execution"), push("execution", executions, now)))
    symbols = [
        s
        for s, p in sorted(account.futures.positions.items())
        if before.positions.get(s) != (p.qty, p.entry_price)
    ]
    if symbols:
        rows = [
            {"category": "linear", **bybit_views.position_view(account, s, now)} for s in symbols
        ]
        sent.append((private_topic("position"), push("position", rows, now)))
    balances = {a: (b.free, b.locked) for a, b in account.spot.balances.items()}
    if balances != before.balances or symbols:
        wallet = bybit_views.wallet_view(account, None, ex.prices)["list"]
        assert isinstance(wallet, list)
        sent.append((private_topic("wallet"), push("wallet", wallet, now)))
    for symbol, price in sorted(ex.prices.items()):
        if before.prices.get(symbol) == price:
            continue
        if symbol in ex.spot_markets:
            sent.append((public_topic("spot", symbol), ticker_push(ex, "spot", symbol, now)))
        if symbol in ex.futures_markets:
            sent.append((public_topic("linear", symbol), ticker_push(ex, "linear", symbol, now)))
    return sent
