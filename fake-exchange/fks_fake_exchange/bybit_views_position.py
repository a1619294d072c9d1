"""The JSON shapes of Bybit V5 positions and the unified wallet (the ``result`` part)."""

from __future__ import annotations

from decimal import Decimal

from fks_fake_exchange.bybit_account import SIDE_IDX, BybitAccount
from fks_fake_exchange.decimals import ZERO, fmt_plain
from fks_fake_exchange.futures_records import Trail

LAUNCH_TIME = "1584230400000"


def f(value: Decimal) -> str:
    return fmt_plain(value)


def opt(value: Decimal | None) -> str:
    return "" if value is None else f(value)


# --- positions and wallet ----------------------------------------------------------------------


def position_view(
    account: BybitAccount, symbol: str, now: int, side: str = "BOTH"
) -> dict[str, object]:
    """One position: one-way (``side`` BOTH, positionIdx 0) or a hedge-mode side (LONG = 1,
    SHORT = 2). A trailing stop shows as ``trailingStop`` (its distance) and ``activePrice``."""
    engine = account.futures
    position = engine.position(symbol, side)
    price = engine.price_of(symbol)
    size = abs(position.qty)
    leverage = engine.leverage[symbol]
    guard = account.protection.get((symbol, side))
    realized = sum(
        (
            t.realized_pnl - t.commission
            for t in engine.trades
            if t.symbol == symbol and t.position_side == side
        ),
        ZERO,
    )
    trail = _trailing(account, symbol, side)
    side_name = "" if position.qty == 0 else ("Buy" if position.qty > 0 else "Sell")
    return {
        "positionIdx": SIDE_IDX[side],
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": symbol,
        "side": side_name,
        "size": f(size),
        "avgPrice": f(position.entry_price),
        "positionValue": f(size * position.entry_price),
        "tradeMode": 1 if account.margin_mode == "ISOLATED_MARGIN" else 0,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": str(leverage),
        "markPrice": f(price),
        "liqPrice": "",
        "bustPrice": "",
        "positionIM": f(engine.margin_of(position)),
        "positionMM": f(engine.margin_of(position) / 10),
        "positionBalance": "0",
        "tpslMode": "Full",
        "takeProfit": opt(guard.take_profit if guard else None) or "0",
        "stopLoss": opt(guard.stop_loss if guard else None) or "0",
        "trailingStop": f(trail.distance) if trail and trail.distance is not None else "0",
        "activePrice": opt(trail.activation_price if trail else None) or "0",
        "sessionAvgPrice": "",
        "delta": "",
        "gamma": "",
        "vega": "",
        "theta": "",
        "unrealisedPnl": f(engine.unrealized_of(position)),
        "curRealisedPnl": f(realized) if size else "0",
        "cumRealisedPnl": f(realized),
        "adlRankIndicator": 2 if size else 0,
        "createdTime": LAUNCH_TIME,
        "updatedTime": str(position.update_time or now),
        "seq": position.update_time,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
    }


def _trailing(account: BybitAccount, symbol: str, side: str) -> Trail | None:
    for algo in account.futures.open_algo_orders(symbol):
        if algo.trail is not None and algo.position_side == side:
            return algo.trail
    return None


def wallet_view(
    account: BybitAccount, coins: set[str] | None, prices: dict[str, Decimal]
) -> dict[str, object]:
    """The UNIFIED account: per coin wallet balance (free + locked in spot orders), the linear
    positions' and orders' initial margin and unrealised PnL; ``availableToWithdraw`` is ``""``
    as on Bybit's UTA 2.0."""
    futures = account.futures
    entries = []
    totals = {"wallet": ZERO, "equity": ZERO, "im": ZERO, "upnl": ZERO}
    for coin, bal in sorted(account.spot.balances.items()):
        if coins is not None and coin not in coins:
            continue
        symbols = [s for s, m in futures.markets.items() if m.quote == coin]
        position_im = sum((futures.position_margin(s) for s in symbols), ZERO)
        order_im = sum((futures.order_margin(s) for s in symbols), ZERO)
        upnl = sum((futures.unrealized(s) for s in symbols), ZERO)
        wallet = bal.free + bal.locked
        usd = Decimal(1) if coin in ("USDT", "USDC") else prices.get(f"{coin}USDT", ZERO)
        totals["wallet"] += wallet * usd
        totals["equity"] += (wallet + upnl) * usd
        totals["im"] += (position_im + order_im) * usd
        totals["upnl"] += upnl * usd
        entries.append(
            {
                "coin": coin,
                "equity": f(wallet + upnl),
                "usdValue": f((wallet + upnl) * usd),
                "walletBalance": f(wallet),
                "locked": f(bal.locked),
                "spotHedgingQty": "0",
                "borrowAmount": "0",
                "accruedInterest": "0",
                "availableToWithdraw": "",
                "availableToBorrow": "",
                "bonus": "0",
                "totalOrderIM": f(order_im),
                "totalPositionIM": f(position_im),
                "totalPositionMM": f(position_im / 10),
                "unrealisedPnl": f(upnl),
                "cumRealisedPnl": "0",
                "marginCollateral": True,
                "collateralSwitch": True,
            }
        )
    im = totals["im"]
    return {
        "list": [
            {
                "accountType": "UNIFIED",
                "totalEquity": f(totals["equity"]),
                "totalWalletBalance": f(totals["wallet"]),
                "totalMarginBalance": f(totals["equity"]),
                "totalAvailableBalance": f(totals["equity"] - im),
                "totalPerpUPL": f(totals["upnl"]),
                "totalInitialMargin": f(im),
                "totalMaintenanceMargin": f(im / 10),
                "accountIMRate": f((im / totals["equity"]).quantize(Decimal("0.0001")))
                if totals["equity"]
                else "0",
                "accountMMRate": "0",
                "accountLTV": "0",
                "coin": entries,
            }
        ]
    }
