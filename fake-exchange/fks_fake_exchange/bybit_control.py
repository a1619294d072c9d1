"""What the control API shows of the Bybit venue's unified account: balances, orders, trades.

The keys follow the Binance venue's where they mean the same (``spot`` balances, ``futures``
wallet and positions, an order's ``clientOrderId`` and ``status``) so a test can read either
venue the same way; an order's other fields are Bybit's (``orderLinkId``, ``orderStatus``...).
"""

from __future__ import annotations

from fks_fake_exchange.bybit_account import BybitAccount
from fks_fake_exchange.bybit_views import execution_view, order_view, position_view
from fks_fake_exchange.decimals import fmt_plain


def balances_view(account: BybitAccount, now: int) -> dict[str, object]:
    futures = account.futures
    coins = sorted(account.spot.balances)
    return {
        "unified": True,
        "spot": {
            coin: {"free": fmt_plain(b.free), "locked": fmt_plain(b.locked)}
            for coin, b in sorted(account.spot.balances.items())
        },
        "futures": {
            "wallet": {c: fmt_plain(account.spot.balances[c].free) for c in coins},
            "available": {c: fmt_plain(futures.available(c)) for c in coins},
            "positions": [
                position_view(account, s, now)
                for s, p in sorted(futures.positions.items())
                if p.qty != 0
            ],
        },
    }


def all_orders(account: BybitAccount) -> list[dict[str, object]]:
    """Every order, oldest first, tagged with its ``account`` (category)."""
    rows: list[dict[str, object]] = []
    for order in account.orders.values():
        view = order_view(account, order)
        rows.append(
            {
                "account": order.category,
                "clientOrderId": order.link_id,
                "status": view["orderStatus"],
                **view,
            }
        )
    return rows


def trades(account: BybitAccount) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for category, fills in (("spot", account.spot.trades), ("linear", account.futures.trades)):
        for fill in fills:
            order = account.by_engine.get((category, fill.order_id))  # type: ignore[arg-type]
            if order is not None:
                rows.append({"category": category, **execution_view(account, order, fill)})
    return sorted(rows, key=lambda r: int(str(r["execTime"])))
