"""Binance-like markets for pure tests (the filters real BTCUSDT/ETHBTC spot markets carry)."""

from __future__ import annotations

from fks_executor.exchange.markets import MarketIndex, MarketInfo

SPOT_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)

BTC_USDT = MarketInfo(
    symbol="BTC/USDT",
    id="BTCUSDT",
    base="BTC",
    quote="USDT",
    type="spot",
    amount_precision=0.00001,
    price_precision=0.01,
    min_amount=0.00001,
    max_amount=9000.0,
    min_cost=5.0,
    order_types=SPOT_TYPES,
)
ETH_BTC = MarketInfo(
    symbol="ETH/BTC",
    id="ETHBTC",
    base="ETH",
    quote="BTC",
    type="spot",
    amount_precision=0.0001,
    price_precision=0.00001,
    min_amount=0.0001,
    min_cost=0.0001,
    order_types=("LIMIT", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"),
)
OLD_USDT = MarketInfo(
    symbol="OLD/USDT", id="OLDUSDT", base="OLD", quote="USDT", type="spot", active=False
)
BTC_PERP = MarketInfo(
    symbol="BTC/USDT:USDT",
    id="BTCUSDT",
    base="BTC",
    quote="USDT",
    type="swap",
    contract=True,
    linear=True,
    amount_precision=0.001,
    price_precision=0.1,
    min_amount=0.001,
    min_cost=100.0,
    order_types=("LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"),
)
BTC_QUARTER = MarketInfo(
    symbol="BTC/USDT:USDT-250328",
    id="BTCUSDT_250328",
    base="BTC",
    quote="USDT",
    type="future",
    contract=True,
    linear=True,
    amount_precision=0.001,
    price_precision=0.1,
)


def spot_index() -> MarketIndex:
    return MarketIndex([BTC_USDT, ETH_BTC, OLD_USDT], exchange="binance", market_type="spot")


def swap_index() -> MarketIndex:
    return MarketIndex([BTC_PERP, BTC_QUARTER], exchange="binance", market_type="swap")
