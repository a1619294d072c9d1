"""Markets and their filters: the exchangeInfo entries and the filter checks behind them.

One :class:`Market` per symbol and market kind (spot under /api, USD-M perpetual under /fapi).
The checks are pure functions that raise Binance's refusals (``Filter failure: LOT_SIZE`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from fks_fake_exchange.config import ExchangeConfig, FuturesMarketConfig, MarketConfig
from fks_fake_exchange.decimals import decimals_of, fmt8, fmt_plain, on_grid
from fks_fake_exchange.errors import ApiError, filter_failure

Kind = Literal["spot", "futures"]

MAX_NUM_ORDERS = 200
MAX_NUM_ALGO_ORDERS = 5
FUTURES_ORDER_TYPES = (
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
)


@dataclass(frozen=True)
class Market:
    kind: Kind
    symbol: str  # exchange id, e.g. BTCUSDT
    base: str
    quote: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal
    order_types: tuple[str, ...]
    volatility: Decimal

    @property
    def unified(self) -> str:
        suffix = f":{self.quote}" if self.kind == "futures" else ""
        return f"{self.base}/{self.quote}{suffix}"

    @property
    def price_decimals(self) -> int:
        return decimals_of(self.tick_size)

    @property
    def qty_decimals(self) -> int:
        return decimals_of(self.step_size)


def spot_market(cfg: MarketConfig) -> Market:
    step = cfg.step
    return Market(
        kind="spot",
        symbol=cfg.market_id,
        base=cfg.base,
        quote=cfg.quote,
        tick_size=cfg.tick,
        min_price=cfg.minPrice if cfg.minPrice is not None else cfg.tick,
        max_price=cfg.maxPrice,
        step_size=step,
        min_qty=cfg.minQty if cfg.minQty is not None else step,
        max_qty=cfg.max_qty,
        market_max_qty=cfg.marketMaxQty if cfg.marketMaxQty is not None else cfg.max_qty,
        min_notional=cfg.minNotional,
        max_notional=cfg.maxNotional,
        order_types=cfg.orderTypes,
        volatility=cfg.volatility,
    )


def futures_market(cfg: MarketConfig, fut: FuturesMarketConfig) -> Market:
    tick = fut.tickSize if fut.tickSize is not None else max(cfg.tick, Decimal("0.01"))
    step = fut.stepSize if fut.stepSize is not None else cfg.step
    return Market(
        kind="futures",
        symbol=cfg.market_id,
        base=cfg.base,
        quote=cfg.quote,
        tick_size=tick,
        min_price=tick,
        max_price=cfg.maxPrice,
        step_size=step,
        min_qty=fut.minQty if fut.minQty is not None else step,
        max_qty=fut.maxQty,
        market_max_qty=fut.marketMaxQty if fut.marketMaxQty is not None else fut.maxQty,
        min_notional=fut.minNotional,
        max_notional=cfg.maxNotional,
        order_types=FUTURES_ORDER_TYPES,
        volatility=cfg.volatility,
    )


def build_markets(config: ExchangeConfig) -> tuple[dict[str, Market], dict[str, Market]]:
    """(spot markets, futures markets), each keyed by exchange id."""
    spot: dict[str, Market] = {}
    futures: dict[str, Market] = {}
    for cfg in config.markets:
        spot[cfg.market_id] = spot_market(cfg)
        if cfg.futures is True:
            futures[cfg.market_id] = futures_market(cfg, FuturesMarketConfig())
        elif isinstance(cfg.futures, FuturesMarketConfig):
            futures[cfg.market_id] = futures_market(cfg, cfg.futures)
    return spot, futures


# --- filter checks (Binance's rules) -----------------------------------------------------------


def check_price(market: Market, price: Decimal) -> None:
    """PRICE_FILTER: minPrice <= price <= maxPrice and (price - minPrice) % tickSize == 0."""
    if price < market.min_price or price > market.max_price:
        raise filter_failure("PRICE_FILTER")
    if not on_grid(price, market.min_price, market.tick_size):
        raise filter_failure("PRICE_FILTER")


def check_lot(market: Market, qty: Decimal, *, is_market: bool) -> None:
    """LOT_SIZE (and MARKET_LOT_SIZE for market orders)."""
    if qty < market.min_qty or qty > market.max_qty:
        raise filter_failure("LOT_SIZE")
    if not on_grid(qty, market.min_qty, market.step_size):
        raise filter_failure("LOT_SIZE")
    if is_market and qty > market.market_max_qty:
        raise filter_failure("MARKET_LOT_SIZE")


def check_notional(market: Market, notional: Decimal) -> None:
    """NOTIONAL: minNotional <= price * quantity (applied to market orders too) <= maxNotional."""
    if notional < market.min_notional or notional > market.max_notional:
        raise filter_failure("NOTIONAL")


def check_futures_price(market: Market, price: Decimal) -> None:
    """USD-M price checks with the futures codes (-4013, -4016, -4014)."""
    if price < market.min_price:
        raise ApiError(-4013, "Price less than min price.")
    if price > market.max_price:
        raise ApiError(-4016, "Limit price can't be higher than the max price.")
    if not on_grid(price, Decimal(0), market.tick_size):
        raise ApiError(-4014, "Price not increased by tick size.")


def check_futures_qty(
    market: Market, qty: Decimal, notional_price: Decimal, *, is_market: bool, reduce_only: bool
) -> None:
    """USD-M quantity and notional checks (-4003, -1111, -4005, -4164)."""
    if qty <= 0:
        raise ApiError(-4003, "Quantity less than or equal to zero.")
    if not on_grid(qty, Decimal(0), market.step_size):
        raise ApiError(-1111, "Precision is over the maximum defined for this asset.")
    if qty > (market.market_max_qty if is_market else market.max_qty):
        raise ApiError(-4005, "Quantity greater than max quantity.")
    if qty < market.min_qty:
        raise ApiError(-4003, "Quantity less than or equal to zero.")
    if not reduce_only and qty * notional_price < market.min_notional:
        raise ApiError(
            -4164,
            f"Order's notional must be no smaller than {fmt_plain(market.min_notional)} "
            "(unless you choose reduce only).",
        )


# --- exchangeInfo --------------------------------------------------------------------------------


def spot_symbol_info(market: Market) -> dict[str, object]:
    return {
        "symbol": market.symbol,
        "status": "TRADING",
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(market.order_types),
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt8(market.min_price),
                "maxPrice": fmt8(market.max_price),
                "tickSize": fmt8(market.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt8(market.min_qty),
                "maxQty": fmt8(market.max_qty),
                "stepSize": fmt8(market.step_size),
            },
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt8(Decimal(0)),
                "maxQty": fmt8(market.market_max_qty),
                "stepSize": fmt8(Decimal(0)),
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt8(market.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt8(market.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": MAX_NUM_ORDERS},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": MAX_NUM_ALGO_ORDERS},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def futures_symbol_info(market: Market) -> dict[str, object]:
    return {
        "symbol": market.symbol,
        "pair": market.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": market.base,
        "quoteAsset": market.quote,
        "marginAsset": market.quote,
        "pricePrecision": market.price_decimals,
        "quantityPrecision": market.qty_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt_plain(market.min_price),
                "maxPrice": fmt_plain(market.max_price),
                "tickSize": fmt_plain(market.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt_plain(market.min_qty),
                "maxQty": fmt_plain(market.max_qty),
                "stepSize": fmt_plain(market.step_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt_plain(market.min_qty),
                "maxQty": fmt_plain(market.market_max_qty),
                "stepSize": fmt_plain(market.step_size),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": MAX_NUM_ORDERS},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": fmt_plain(market.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": list(market.order_types),
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


RATE_LIMITS_SPOT = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]
RATE_LIMITS_FUTURES = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]


def spot_exchange_info(markets: list[Market], now_ms: int) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": RATE_LIMITS_SPOT,
        "exchangeFilters": [],
        "symbols": [spot_symbol_info(m) for m in markets],
    }


def futures_exchange_info(markets: list[Market], now_ms: int) -> dict[str, object]:
    assets = sorted({m.quote for m in markets})
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": RATE_LIMITS_FUTURES,
        "exchangeFilters": [],
        "assets": [
            {"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in assets
        ],
        "symbols": [futures_symbol_info(m) for m in markets],
    }
