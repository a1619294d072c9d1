"""The JSON shapes of the USD-M futures API (orders, algo orders, positions, account)."""

from __future__ import annotations

from decimal import Decimal

from fks_fake_exchange.decimals import ZERO, fmt_plain
from fks_fake_exchange.futures import FuturesEngine
from fks_fake_exchange.futures_records import (
    AlgoOrder,
    FuturesFill,
    FuturesOrder,
    Position,
    max_notional,
)

MAINT_MARGIN_RATE = Decimal("0.004")


def _f(value: Decimal) -> str:
    return fmt_plain(value)


def futures_order_view(order: FuturesOrder, *, with_time: bool) -> dict[str, object]:
    view: dict[str, object] = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status,
        "clientOrderId": order.client_order_id,
        "price": _f(order.price),
        "avgPrice": _f(order.avg_price),
        "origQty": _f(order.orig_qty),
        "executedQty": _f(order.executed_qty),
        "cumQty": _f(order.executed_qty),
        "cumQuote": _f(order.cum_quote),
        "timeInForce": order.time_in_force,
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "side": order.side,
        "positionSide": order.position_side,
        "stopPrice": _f(order.stop_price),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.orig_type or order.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
    }
    if with_time:
        view["time"] = order.time
    view["updateTime"] = order.update_time
    return view


def algo_view(algo: AlgoOrder) -> dict[str, object]:
    view: dict[str, object] = {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": algo.type,
        "symbol": algo.symbol,
        "side": algo.side,
        "positionSide": algo.position_side,
        "timeInForce": algo.time_in_force,
        "quantity": _f(algo.quantity),
        "algoStatus": algo.status,
        "triggerPrice": _f(algo.trigger_price),
        "price": _f(algo.price),
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": algo.working_type,
        "priceMatch": "NONE",
        "closePosition": algo.close_position,
        "priceProtect": False,
        "reduceOnly": algo.reduce_only,
        "createTime": algo.create_time,
        "updateTime": algo.update_time,
        "triggerTime": algo.trigger_time,
        "goodTillDate": 0,
    }
    if algo.trail is not None:  # only trailing orders carry these
        view["activatePrice"] = _f(algo.trail.activation_price or algo.trail.extreme)
        view["priceRate"] = _f(algo.trail.rate) if algo.trail.rate is not None else None
    if algo.actual_order_id is not None:
        view["actualOrderId"] = str(algo.actual_order_id)
    return view


def trade_view(fill: FuturesFill) -> dict[str, object]:
    return {
        "buyer": fill.side == "BUY",
        "commission": _f(fill.commission),
        "commissionAsset": fill.commission_asset,
        "id": fill.trade_id,
        "maker": fill.is_maker,
        "orderId": fill.order_id,
        "price": _f(fill.price),
        "qty": _f(fill.qty),
        "quoteQty": _f(fill.quote_qty),
        "realizedPnl": _f(fill.realized_pnl),
        "side": fill.side,
        "positionSide": fill.position_side,
        "symbol": fill.symbol,
        "time": fill.time,
    }


def position_view(engine: FuturesEngine, pos: Position, *, v2: bool = False) -> dict[str, object]:
    """One position (BOTH, or a hedge-mode LONG / SHORT side): an isolated one shows its margin
    in ``isolatedMargin`` / ``isolatedWallet`` (ccxt reads its margin mode from them)."""
    symbol = pos.symbol
    mark = engine.price_of(symbol)
    notional = pos.qty * mark
    margin = engine.margin_of(pos)
    upnl = engine.unrealized_of(pos)
    isolated = symbol in engine.isolated
    order_margin = engine.order_margin(symbol) if pos.side != "SHORT" else ZERO
    view: dict[str, object] = {
        "symbol": symbol,
        "positionSide": pos.side,
        "positionAmt": _f(pos.qty),
        "entryPrice": _f(pos.entry_price),
        "breakEvenPrice": _f(pos.entry_price),
        "markPrice": _f(mark),
        "unRealizedProfit": _f(upnl),
        "liquidationPrice": "0",
        "isolatedMargin": _f(margin + upnl) if isolated and pos.qty else "0",
        "notional": _f(notional),
        "marginAsset": engine.markets[symbol].quote,
        "isolatedWallet": _f(margin) if isolated and pos.qty else "0",
        "initialMargin": _f(margin + order_margin),
        "maintMargin": _f(abs(notional) * MAINT_MARGIN_RATE),
        "positionInitialMargin": _f(margin),
        "openOrderInitialMargin": _f(order_margin),
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": pos.update_time,
    }
    if v2:
        view.update(
            {
                "leverage": str(engine.leverage[symbol]),
                "marginType": "isolated" if isolated else "cross",
                "isAutoAddMargin": "false",
                "maxNotionalValue": _f(max_notional(engine.leverage[symbol])),
            }
        )
    return view


def symbol_config_view(engine: FuturesEngine, symbol: str) -> dict[str, object]:
    """``GET /fapi/v1/symbolConfig``: a symbol's leverage and margin type."""
    leverage = engine.leverage[symbol]
    return {
        "symbol": symbol,
        "marginType": "ISOLATED" if symbol in engine.isolated else "CROSSED",
        "isAutoAddMargin": "false",
        "leverage": leverage,
        "maxNotionalValue": _f(max_notional(leverage)),
    }


def _asset_view(engine: FuturesEngine, asset: str, now: int) -> dict[str, object]:
    symbols = [s for s, m in engine.markets.items() if m.quote == asset]
    wallet = engine.wallet.get(asset, ZERO)
    upnl = sum((engine.unrealized(s) for s in symbols), ZERO)
    pos_margin = sum((engine.position_margin(s) for s in symbols), ZERO)
    order_margin = sum((engine.order_margin(s) for s in symbols), ZERO)
    maint = sum(
        (
            abs(p.qty) * engine.price_of(s) * MAINT_MARGIN_RATE
            for s in symbols
            for p in engine.symbol_positions(s)
        ),
        ZERO,
    )
    available = engine.available(asset)
    return {
        "asset": asset,
        "walletBalance": _f(wallet),
        "unrealizedProfit": _f(upnl),
        "marginBalance": _f(wallet + upnl),
        "maintMargin": _f(maint),
        "initialMargin": _f(pos_margin + order_margin),
        "positionInitialMargin": _f(pos_margin),
        "openOrderInitialMargin": _f(order_margin),
        "crossWalletBalance": _f(wallet),
        "crossUnPnl": _f(upnl),
        "availableBalance": _f(available),
        "maxWithdrawAmount": _f(max(available, ZERO)),
        "marginAvailable": True,
        # ccxt skips assets whose updateTime is 0 as "uninitialised"
        "updateTime": now,
    }


def account_view(engine: FuturesEngine, now: int, *, v2: bool) -> dict[str, object]:
    assets = [_asset_view(engine, a, now) for a in sorted(engine.wallet)]

    def total(key: str) -> str:
        return _f(sum((Decimal(str(a[key])) for a in assets), ZERO))

    positions = [
        position_view(engine, p, v2=v2)
        for s in sorted(engine.markets)
        for p in engine.symbol_positions(s)
        if v2 or p.qty != ZERO
    ]
    for position in positions:
        position["unrealizedProfit"] = position["unRealizedProfit"]
    return {
        "totalInitialMargin": total("initialMargin"),
        "totalMaintMargin": total("maintMargin"),
        "totalWalletBalance": total("walletBalance"),
        "totalUnrealizedProfit": total("unrealizedProfit"),
        "totalMarginBalance": total("marginBalance"),
        "totalPositionInitialMargin": total("positionInitialMargin"),
        "totalOpenOrderInitialMargin": total("openOrderInitialMargin"),
        "totalCrossWalletBalance": total("crossWalletBalance"),
        "totalCrossUnPnl": total("crossUnPnl"),
        "availableBalance": total("availableBalance"),
        "maxWithdrawAmount": total("maxWithdrawAmount"),
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "feeTier": 0,
        "updateTime": 0,
        "assets": assets,
        "positions": positions,
    }


def balance_view(engine: FuturesEngine, now: int) -> list[dict[str, object]]:
    result: list[dict[str, object]] = []
    for asset in sorted(engine.wallet):
        view = _asset_view(engine, asset, now)
        result.append(
            {
                "accountAlias": "SgsR",
                "asset": asset,
                "balance": view["walletBalance"],
                "crossWalletBalance": view["crossWalletBalance"],
                "crossUnPnl": view["crossUnPnl"],
                "availableBalance": view["availableBalance"],
                "maxWithdrawAmount": view["maxWithdrawAmount"],
                "marginAvailable": True,
                "updateTime": now,
            }
        )
    return result


def leverage_bracket_view(symbol: str, leverage_max: int = 125) -> dict[str, object]:
    return {
        "symbol": symbol,
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": 1,
                "initialLeverage": leverage_max,
                "notionalCap": 50_000,
                "notionalFloor": 0,
                "maintMarginRatio": 0.004,
                "cum": 0.0,
            },
            {
                "bracket": 2,
                "initialLeverage": 100,
                "notionalCap": 10_000_000,
                "notionalFloor": 50_000,
                "maintMarginRatio": 0.005,
                "cum": 50.0,
            },
        ],
    }
