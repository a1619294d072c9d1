"""Binance websocket event payloads, built from the engines' records (pure functions).

Field names and formats are Binance's (spot: eight-decimal strings; USD-M: plain strings), so
ccxt.pro's ``binance`` handlers parse them as they parse the real streams:

- spot user data: ``executionReport`` (one per order change), ``outboundAccountPosition``
  (the assets whose free/locked amounts changed);
- USD-M user data: ``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE`` (wallet and positions);
- market data: ``24hrTicker``, ``24hrMiniTicker`` and ``bookTicker`` of ``<symbol>@ticker``,
  ``@miniTicker`` and ``@bookTicker``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from fks_fake_exchange import marketdata
from fks_fake_exchange.decimals import fmt8, fmt_plain
from fks_fake_exchange.futures import FuturesEngine, FuturesFill, FuturesOrder
from fks_fake_exchange.markets import Market
from fks_fake_exchange.orders import Fill, SpotOrder
from fks_fake_exchange.spot import Balance

ZERO = Decimal(0)
# executionType of an order that left the book without a trade (x = X on Binance)
END_STATUSES = frozenset({"CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


def execution_report(
    order: SpotOrder,
    now: int,
    *,
    execution_type: str,
    status: str,
    cum_qty: Decimal,
    cum_quote: Decimal,
    fill: Fill | None = None,
) -> dict[str, object]:
    """A spot ``executionReport``: the order as of one change (NEW, TRADE, CANCELED, ...)."""
    return {
        "e": "executionReport",
        "E": now,
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force or "GTC",
        "q": fmt8(order.orig_qty),
        "p": fmt8(order.price),
        "P": fmt8(order.stop_price),
        "F": "0.00000000",
        "g": order.order_list_id,
        "C": "",
        "x": execution_type,
        "X": status,
        "r": "NONE",
        "i": order.order_id,
        "l": fmt8(fill.qty if fill else ZERO),
        "z": fmt8(cum_qty),
        "L": fmt8(fill.price if fill else ZERO),
        "n": fmt8(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": fill.time if fill else order.update_time,
        "t": fill.trade_id if fill else -1,
        "I": order.order_id * 2,
        "w": status in ("NEW", "PARTIALLY_FILLED") and order.is_working,
        "m": fill.is_maker if fill else False,
        "M": False,
        "O": order.time,
        "Z": fmt8(cum_quote),
        "Y": fmt8(fill.quote_qty if fill else ZERO),
        "Q": fmt8(order.orig_quote_qty),
        "W": order.working_time,
        "V": "EXPIRE_MAKER",
    }


def spot_order_events(
    order: SpotOrder,
    before: tuple[str, Decimal, Decimal] | None,
    fills: list[Fill],
    now: int,
) -> list[dict[str, object]]:
    """The reports Binance sends for an order's change since ``before`` = (status, executed,
    quote) (None: a new order): NEW, one TRADE per fill, then CANCELED/EXPIRED."""
    events: list[dict[str, object]] = []
    prev_status, cum_qty, cum_quote = before if before else ("NEW", ZERO, ZERO)
    if before is None:
        events.append(
            execution_report(
                order, now, execution_type="NEW", status="NEW", cum_qty=ZERO, cum_quote=ZERO
            )
        )
    for fill in fills:
        cum_qty += fill.qty
        cum_quote += fill.quote_qty
        done = cum_qty >= order.orig_qty or (fill is fills[-1] and order.status == "FILLED")
        events.append(
            execution_report(
                order,
                now,
                execution_type="TRADE",
                status="FILLED" if done else "PARTIALLY_FILLED",
                cum_qty=cum_qty,
                cum_quote=cum_quote,
                fill=fill,
            )
        )
    if order.status in END_STATUSES and order.status != prev_status:
        execution_type = "EXPIRED" if order.status == "EXPIRED_IN_MATCH" else order.status
        events.append(
            execution_report(
                order,
                now,
                execution_type=execution_type,
                status=order.status,
                cum_qty=order.executed_qty,
                cum_quote=order.cumm_quote_qty,
            )
        )
    return events


def account_position(
    balances: dict[str, Balance], assets: Iterable[str], now: int
) -> dict[str, object]:
    """``outboundAccountPosition``: the free and locked amounts of the assets that changed."""
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": now,
        "B": [
            {"a": a, "f": fmt8(balances[a].free), "l": fmt8(balances[a].locked)}
            for a in sorted(assets)
            if a in balances
        ],
    }


def order_trade_update(
    order: FuturesOrder,
    now: int,
    *,
    execution_type: str,
    status: str,
    cum_qty: Decimal,
    fill: FuturesFill | None = None,
) -> dict[str, object]:
    """A USD-M ``ORDER_TRADE_UPDATE``."""
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now,
        "T": fill.time if fill else order.update_time,
        "o": {
            "s": order.symbol,
            "c": order.client_order_id,
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force,
            "q": fmt_plain(order.orig_qty),
            "p": fmt_plain(order.price),
            "ap": fmt_plain(order.avg_price),
            "sp": fmt_plain(order.stop_price),
            "x": execution_type,
            "X": status,
            "i": order.order_id,
            "l": fmt_plain(fill.qty if fill else ZERO),
            "z": fmt_plain(cum_qty),
            "L": fmt_plain(fill.price if fill else ZERO),
            "N": fill.commission_asset if fill else "USDT",
            "n": fmt_plain(fill.commission if fill else ZERO),
            "T": fill.time if fill else order.update_time,
            "t": fill.trade_id if fill else 0,
            "b": "0",
            "a": "0",
            "m": fill.is_maker if fill else False,
            "R": order.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": order.orig_type or order.type,
            "ps": "BOTH",
            "cp": order.close_position,
            "rp": fmt_plain(fill.realized_pnl if fill else ZERO),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def futures_order_events(
    order: FuturesOrder,
    before: tuple[str, Decimal] | None,
    fills: list[FuturesFill],
    now: int,
) -> list[dict[str, object]]:
    """NEW, one TRADE per fill, then CANCELED/EXPIRED, as for spot."""
    events: list[dict[str, object]] = []
    prev_status, cum_qty = before if before else ("NEW", ZERO)
    if before is None:
        events.append(
            order_trade_update(order, now, execution_type="NEW", status="NEW", cum_qty=ZERO)
        )
    for fill in fills:
        cum_qty += fill.qty
        done = cum_qty >= order.orig_qty or (fill is fills[-1] and order.status == "FILLED")
        status = "FILLED" if done else "PARTIALLY_FILLED"
        events.append(
            order_trade_update(
                order, now, execution_type="TRADE", status=status, cum_qty=cum_qty, fill=fill
            )
        )
    if order.status in END_STATUSES and order.status != prev_status:
        events.append(
            order_trade_update(
                order,
                now,
                execution_type="EXPIRED" if order.status == "EXPIRED_IN_MATCH" else order.status,
                status=order.status,
                cum_qty=order.executed_qty,
            )
        )
    return events


def account_update(
    engine: FuturesEngine,
    assets: Iterable[str],
    symbols: Iterable[str],
    now: int,
    reason: str = "ORDER",
) -> dict[str, object]:
    """A USD-M ``ACCOUNT_UPDATE``: the wallet balances and positions that changed."""
    positions = []
    for symbol in sorted(symbols):
        pos = engine.positions[symbol]
        positions.append(
            {
                "s": symbol,
                "pa": fmt_plain(pos.qty),
                "ep": fmt_plain(pos.entry_price),
                "bep": fmt_plain(pos.entry_price),
                "cr": "0",
                "up": fmt_plain(engine.unrealized(symbol)),
                "mt": "cross",
                "iw": "0",
                "ps": "BOTH",
            }
        )
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now,
        "T": now,
        "a": {
            "m": reason,
            "B": [
                {
                    "a": asset,
                    "wb": fmt_plain(engine.wallet.get(asset, ZERO)),
                    "cw": fmt_plain(engine.wallet.get(asset, ZERO)),
                    "bc": "0",
                }
                for asset in sorted(assets)
            ],
            "P": positions,
        },
    }


def ticker(market: Market, price: Decimal, now: int) -> dict[str, object]:
    """A ``24hrTicker`` event (the same figures as the REST 24hr ticker)."""
    rest = marketdata.ticker_24hr(market, price, now)
    fmt = fmt8 if market.kind == "spot" else fmt_plain
    event: dict[str, object] = {
        "e": "24hrTicker",
        "E": now,
        "s": market.symbol,
        "p": rest["priceChange"],
        "P": rest["priceChangePercent"],
        "w": rest["weightedAvgPrice"],
        "c": rest["lastPrice"],
        "Q": rest["lastQty"],
        "o": rest["openPrice"],
        "h": rest["highPrice"],
        "l": rest["lowPrice"],
        "v": rest["volume"],
        "q": rest["quoteVolume"],
        "O": rest["openTime"],
        "C": rest["closeTime"],
        "F": rest["firstId"],
        "L": rest["lastId"],
        "n": rest["count"],
    }
    if market.kind == "spot":
        event.update(
            {
                "x": rest["prevClosePrice"],
                "b": rest["bidPrice"],
                "B": rest["bidQty"],
                "a": rest["askPrice"],
                "A": rest["askQty"],
            }
        )
    else:
        event.update({"b": fmt(price), "a": fmt(price + market.tick_size)})
    return event


def mini_ticker(market: Market, price: Decimal, now: int) -> dict[str, object]:
    """A ``24hrMiniTicker`` event (``<symbol>@miniTicker``: what ccxt's watch_ticker follows)."""
    full = ticker(market, price, now)
    return {"e": "24hrMiniTicker", **{k: full[k] for k in ("E", "s", "c", "o", "h", "l", "v", "q")}}


def book_ticker(market: Market, price: Decimal, now: int, update_id: int) -> dict[str, object]:
    """A ``bookTicker`` event (spot's has no ``e``; USD-M's has ``e``, ``E``, ``T``)."""
    fmt = fmt8 if market.kind == "spot" else fmt_plain
    body: dict[str, object] = {
        "u": update_id,
        "s": market.symbol,
        "b": fmt(price),
        "B": fmt(market.min_qty * 100),
        "a": fmt(price + market.tick_size),
        "A": fmt(market.min_qty * 100),
    }
    if market.kind == "spot":
        return body
    return {"e": "bookTicker", "E": now, "T": now, **body}
