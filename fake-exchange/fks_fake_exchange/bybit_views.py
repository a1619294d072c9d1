"""The JSON shapes of Bybit V5 answers (the ``result`` part): instruments, tickers, orders,
executions (positions and the wallet: :mod:`bybit_views_position`). Numbers are strings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fks_fake_exchange import marketdata
from fks_fake_exchange.bybit_account import BybitAccount, BybitOrder
from fks_fake_exchange.bybit_views_position import LAUNCH_TIME, f
from fks_fake_exchange.bybit_views_position import opt as _opt
from fks_fake_exchange.bybit_views_position import position_view as position_view  # re-export
from fks_fake_exchange.bybit_views_position import wallet_view as wallet_view  # re-export
from fks_fake_exchange.decimals import ZERO
from fks_fake_exchange.futures_records import FuturesFill
from fks_fake_exchange.markets import Market
from fks_fake_exchange.orders import MARKET_LIKE, Fill, SpotOrder

# --- market data -----------------------------------------------------------------------------


def spot_instrument(market: Market) -> dict[str, object]:
    return {
        "symbol": market.symbol,
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": f(market.step_size),
            "quotePrecision": "0.00000001",
            "minOrderQty": f(market.min_qty),
            "maxOrderQty": f(market.max_qty),
            "minOrderAmt": f(market.min_notional),
            "maxOrderAmt": f(market.max_notional),
        },
        "priceFilter": {"tickSize": f(market.tick_size)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


def linear_instrument(market: Market, max_leverage: int) -> dict[str, object]:
    return {
        "symbol": market.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "launchTime": LAUNCH_TIME,
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(market.price_decimals),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": f"{max_leverage}.00",
            "leverageStep": "1",
        },
        "priceFilter": {
            "minPrice": f(market.min_price),
            "maxPrice": f(market.max_price),
            "tickSize": f(market.tick_size),
        },
        "lotSizeFilter": {
            "maxOrderQty": f(market.max_qty),
            "minOrderQty": f(market.min_qty),
            "qtyStep": f(market.step_size),
            "postOnlyMaxOrderQty": f(market.max_qty),
            "maxMktOrderQty": f(market.market_max_qty),
            "minNotionalValue": f(market.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": market.quote,
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
    }


def ticker(market: Market, price: Decimal, now: int) -> dict[str, object]:
    """A spot ticker, or a linear one (with ``openInterestValue``, how ccxt tells them apart)."""
    day = marketdata.ticker_24hr(market, price, now)
    open_ = Decimal(str(day["openPrice"]))
    view: dict[str, object] = {
        "symbol": market.symbol,
        "bid1Price": f(price),
        "bid1Size": f(market.min_qty * 100),
        "ask1Price": f(price + market.tick_size),
        "ask1Size": f(market.min_qty * 100),
        "lastPrice": f(price),
        "prevPrice24h": f(open_),
        "price24hPcnt": f(((price - open_) / open_).quantize(Decimal("0.000001"))),
        "highPrice24h": f(Decimal(str(day["highPrice"]))),
        "lowPrice24h": f(Decimal(str(day["lowPrice"]))),
        "turnover24h": f(Decimal(str(day["quoteVolume"]))),
        "volume24h": f(Decimal(str(day["volume"]))),
    }
    if market.kind == "spot":
        view["usdIndexPrice"] = f(price)
        return view
    open_interest = (market.min_qty * 100_000).normalize()
    view.update(
        {
            "indexPrice": f(price),
            "markPrice": f(price),
            "prevPrice1h": f(price),
            "openInterest": f(open_interest),
            "openInterestValue": f(open_interest * price),
            "fundingRate": "0.0001",
            "nextFundingTime": str((now // 28_800_000 + 1) * 28_800_000),
            "predictedDeliveryPrice": "",
            "basisRate": "",
            "deliveryFeeRate": "",
            "deliveryTime": "0",
            "basis": "",
        }
    )
    return view


# --- orders and executions ------------------------------------------------------------------


def _fills(account: BybitAccount, order: BybitOrder) -> list[Fill] | list[FuturesFill]:
    if order.engine_id is None:
        return []
    if order.category == "spot":
        return account.spot.orders[order.engine_id].fills
    return [t for t in account.futures.trades if t.order_id == order.engine_id]


@dataclass(frozen=True)
class _Facts:
    """What an order view needs, from the engine order or (untriggered) the algo order."""

    side: str
    is_market: bool
    price: Decimal
    qty: Decimal
    executed: Decimal
    value: Decimal
    reduce_only: bool
    is_open: bool
    time: int
    update_time: int


def _facts(account: BybitAccount, order: BybitOrder) -> _Facts:
    engine = account.engine_order(order)
    is_open = account.is_open(order)
    if engine is None:
        algo = account.algo(order)
        assert algo is not None
        return _Facts(
            algo.side,
            algo.type.endswith("MARKET"),
            algo.price,
            algo.quantity,
            ZERO,
            ZERO,
            algo.reduce_only,
            is_open,
            algo.create_time,
            algo.update_time,
        )
    if isinstance(engine, SpotOrder):
        qty = engine.orig_quote_qty if order.market_unit == "quoteCoin" else engine.orig_qty
        return _Facts(
            engine.side,
            engine.type in MARKET_LIKE,
            engine.price,
            qty,
            engine.executed_qty,
            engine.cumm_quote_qty,
            False,
            is_open,
            engine.time,
            engine.update_time,
        )
    return _Facts(
        engine.side,
        engine.type == "MARKET",
        engine.price,
        engine.orig_qty,
        engine.executed_qty,
        engine.cum_quote,
        engine.reduce_only,
        is_open,
        engine.time,
        engine.update_time,
    )


def order_view(account: BybitAccount, order: BybitOrder) -> dict[str, object]:
    facts = _facts(account, order)
    fills = _fills(account, order)
    fee = sum((fill.commission for fill in fills), ZERO)
    executed = facts.executed
    if order.market_unit == "quoteCoin":
        leaves = facts.qty - facts.value if facts.is_open else ZERO
    else:
        leaves = facts.qty - executed if facts.is_open else ZERO
    price = ZERO if facts.is_market else facts.price
    view: dict[str, object] = {
        "orderId": order.order_id,
        "orderLinkId": order.link_id,
        "blockTradeId": "",
        "symbol": order.symbol,
        "price": f(price),
        "qty": f(facts.qty),
        "side": "Buy" if facts.side == "BUY" else "Sell",
        "isLeverage": "0" if order.category == "spot" else "",
        "positionIdx": order.position_idx,
        "orderStatus": account.status(order),
        "createType": order.create_type,
        "cancelType": order.cancel_type,
        "rejectReason": "EC_NoError",
        "avgPrice": f(facts.value / executed) if executed else "0",
        "leavesQty": f(leaves),
        "leavesValue": f(leaves * price),
        "cumExecQty": f(executed),
        "cumExecValue": f(facts.value),
        "cumExecFee": f(fee),
        "cumFeeDetail": {fills[0].commission_asset: f(fee)} if fills else {},
        "timeInForce": order.time_in_force,
        "orderType": "Market" if facts.is_market else "Limit",
        "stopOrderType": order.stop_order_type,
        "orderIv": "",
        "triggerPrice": f(order.trigger_price),
        "takeProfit": _opt(order.take_profit),
        "stopLoss": _opt(order.stop_loss),
        "tpTriggerBy": "LastPrice" if order.take_profit is not None else "",
        "slTriggerBy": "LastPrice" if order.stop_loss is not None else "",
        "tpLimitPrice": "0",
        "slLimitPrice": "0",
        "triggerDirection": order.trigger_direction,
        "triggerBy": "LastPrice" if order.trigger_price else "",
        "reduceOnly": facts.reduce_only,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "createdTime": str(facts.time),
        "updatedTime": str(facts.update_time),
    }
    if order.category == "spot":
        view["marketUnit"] = order.market_unit
    else:  # ccxt tells a contract order by this key
        view["tpslMode"] = "Full" if order.take_profit or order.stop_loss else ""
    return view


def execution_view(
    account: BybitAccount, order: BybitOrder, fill: Fill | FuturesFill
) -> dict[str, object]:
    engine = account.engine_order(order)
    assert engine is not None  # a fill comes from an engine order
    is_spot = order.category == "spot"
    view: dict[str, object] = {
        "symbol": fill.symbol,
        "orderId": order.order_id,
        "orderLinkId": order.link_id,
        "side": "Buy" if fill.side == "BUY" else "Sell",
        "orderPrice": f(engine.price),
        "orderQty": f(engine.orig_qty),
        "leavesQty": "0",
        "createType": order.create_type,
        "orderType": "Market" if engine.type == "MARKET" else "Limit",
        "stopOrderType": order.stop_order_type,
        "execFee": f(fill.commission),
        "execId": str(fill.trade_id),
        "execPrice": f(fill.price),
        "execQty": f(fill.qty),
        "execType": "Trade",
        "execValue": f(fill.quote_qty),
        "execTime": str(fill.time),
        "isMaker": fill.is_maker,
        "feeRate": f(
            fill.commission / (fill.qty if is_spot and fill.side == "BUY" else fill.quote_qty)
        )
        if fill.commission
        else "0",
        "tradeIv": "",
        "markIv": "",
        "markPrice": f(fill.price),
        "indexPrice": "" if is_spot else f(fill.price),
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "" if is_spot else f(_closed(fill)),
        "seq": fill.trade_id,
    }
    if is_spot:
        view["feeCurrency"] = fill.commission_asset
    return view


def _closed(fill: Fill | FuturesFill) -> Decimal:
    return fill.qty if isinstance(fill, FuturesFill) and fill.realized_pnl != 0 else ZERO
