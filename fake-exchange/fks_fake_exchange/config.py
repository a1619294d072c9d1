"""Start-up configuration: markets with their filters and prices, balances, API keys, fees.

Loaded from a YAML or JSON file (``--config``), validated with one clear error naming the key;
every field has a default, so an empty file (or no file) gives the documented default exchange.
The default API key and secret are for tests only: they are public in this repository.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_API_KEY = "fks-fake-exchange-test-key"
DEFAULT_SECRET = "fks-fake-exchange-test-secret"  # noqa: S105 - a public, test-only credential

SPOT_ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)

Positive = Annotated[Decimal, Field(gt=0)]
NonNegative = Annotated[Decimal, Field(ge=0)]
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,12}/[A-Z0-9]{2,12}$")
_ASSET_RE = re.compile(r"^[A-Z0-9]{2,12}$")


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyConfig(_Strict):
    key: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
    secret: Annotated[str, Field(min_length=1, max_length=256)]


class FuturesMarketConfig(_Strict):
    """A USD-M perpetual on the same pair (``BASEQUOTE`` under /fapi); unset fields are derived."""

    tickSize: Positive | None = None
    stepSize: Positive | None = None
    minQty: Positive | None = None
    maxQty: Positive = Decimal(1000)
    marketMaxQty: Positive | None = None
    minNotional: NonNegative = Decimal(5)


class MarketConfig(_Strict):
    symbol: str
    price: Positive
    tickSize: Positive | None = None
    stepSize: Positive | None = None
    minQty: Positive | None = None
    maxQty: Positive | None = None
    marketMaxQty: Positive | None = None
    minPrice: Positive | None = None
    maxPrice: Positive = Decimal(1_000_000)
    minNotional: NonNegative = Decimal(5)
    maxNotional: Positive = Decimal(9_000_000)
    volatility: Annotated[Decimal, Field(gt=0, lt=1)] = Decimal("0.002")
    orderTypes: tuple[str, ...] = SPOT_ORDER_TYPES
    futures: bool | FuturesMarketConfig = False

    @field_validator("symbol")
    @classmethod
    def _symbol_form(cls, value: str) -> str:
        if not _SYMBOL_RE.match(value):
            raise ValueError("must look like BASE/QUOTE in capitals, e.g. BTC/USDT")
        return value

    @field_validator("orderTypes")
    @classmethod
    def _known_order_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(SPOT_ORDER_TYPES))
        if unknown:
            raise ValueError(f"unknown order types {unknown}; known: {list(SPOT_ORDER_TYPES)}")
        if not value:
            raise ValueError("must list at least one order type")
        return value

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def market_id(self) -> str:
        return self.base + self.quote

    @property
    def tick(self) -> Decimal:
        return self.tickSize if self.tickSize is not None else derived_tick_size(self.price)

    @property
    def step(self) -> Decimal:
        return self.stepSize if self.stepSize is not None else derived_step_size(self.price)

    @property
    def max_qty(self) -> Decimal:
        return self.maxQty if self.maxQty is not None else derived_max_qty(self.price)

    @model_validator(mode="after")
    def _price_on_tick(self) -> MarketConfig:
        for name in ("price", "tickSize", "stepSize", "minQty", "maxQty", "marketMaxQty",
                     "minPrice", "maxPrice", "minNotional", "maxNotional"):  # fmt: skip
            value = getattr(self, name)
            exponent = value.normalize().as_tuple().exponent if value is not None else 0
            if isinstance(exponent, int) and exponent < -8:
                raise ValueError(f"{name} {value} has more than 8 decimals (Binance's maximum)")
        if (self.price % self.tick) != 0:
            raise ValueError(f"price {self.price} is not a multiple of tickSize {self.tick}")
        return self


class ExchangeConfig(_Strict):
    apiKeys: Annotated[tuple[ApiKeyConfig, ...], Field(min_length=1)] = (
        ApiKeyConfig(key=DEFAULT_API_KEY, secret=DEFAULT_SECRET),
    )
    feeRate: Annotated[Decimal, Field(ge=0, lt=Decimal("0.1"))] = Decimal("0.001")
    futuresFeeRate: Annotated[Decimal, Field(ge=0, lt=Decimal("0.1"))] = Decimal("0.0004")
    futuresLeverage: Annotated[int, Field(ge=1, le=125)] = 20
    balances: dict[str, NonNegative] = Field(
        default_factory=lambda: {
            "USDT": Decimal(10_000),
            "BTC": Decimal("0.1"),
            "ETH": Decimal(1),
        }
    )
    futuresBalances: dict[str, NonNegative] = Field(
        default_factory=lambda: {"USDT": Decimal(10_000)}
    )
    markets: Annotated[tuple[MarketConfig, ...], Field(min_length=1)] = Field(
        default_factory=lambda: DEFAULT_MARKETS
    )

    @field_validator("balances", "futuresBalances")
    @classmethod
    def _asset_names(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset in value:
            if not _ASSET_RE.match(asset):
                raise ValueError(f"asset {asset!r} must be 2-12 capitals/digits, e.g. USDT")
        return value

    @model_validator(mode="after")
    def _unique(self) -> ExchangeConfig:
        ids = [m.market_id for m in self.markets]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"markets listed twice: {duplicates}")
        keys = [k.key for k in self.apiKeys]
        if len(set(keys)) != len(keys):
            raise ValueError("apiKeys: the same key is listed twice")
        return self

    def secrets_by_key(self) -> dict[str, str]:
        return {k.key: k.secret for k in self.apiKeys}


DEFAULT_MARKETS: tuple[MarketConfig, ...] = (
    MarketConfig(
        symbol="BTC/USDT",
        price=Decimal(68_000),
        tickSize=Decimal("0.01"),
        stepSize=Decimal("0.00001"),
        minQty=Decimal("0.00001"),
        maxQty=Decimal(9000),
        marketMaxQty=Decimal(120),
        minNotional=Decimal(5),
        futures=FuturesMarketConfig(
            tickSize=Decimal("0.1"),
            stepSize=Decimal("0.001"),
            minQty=Decimal("0.001"),
            maxQty=Decimal(1000),
            marketMaxQty=Decimal(120),
            minNotional=Decimal(100),
        ),
    ),
    MarketConfig(
        symbol="ETH/USDT",
        price=Decimal(3500),
        tickSize=Decimal("0.01"),
        stepSize=Decimal("0.0001"),
        minQty=Decimal("0.0001"),
        maxQty=Decimal(9000),
        marketMaxQty=Decimal(2000),
        minNotional=Decimal(5),
        futures=FuturesMarketConfig(
            tickSize=Decimal("0.01"),
            stepSize=Decimal("0.001"),
            minQty=Decimal("0.001"),
            maxQty=Decimal(10_000),
            marketMaxQty=Decimal(2000),
            minNotional=Decimal(20),
        ),
    ),
    MarketConfig(
        symbol="SOL/USDT",
        price=Decimal(150),
        tickSize=Decimal("0.01"),
        stepSize=Decimal("0.001"),
        minQty=Decimal("0.001"),
        maxQty=Decimal(90_000),
        minNotional=Decimal(5),
    ),
)


def derived_tick_size(price: Decimal) -> Decimal:
    """A Binance-like tick for a price: 0.01 from 100 up, then a tenth per decade (>= 1e-8)."""
    magnitude = math.floor(math.log10(float(price)))
    return Decimal(1).scaleb(max(-8, min(-2, magnitude - 3)))


def derived_max_qty(price: Decimal) -> Decimal:
    """A LOT_SIZE maxQty worth at least about 9 million quote units (all 9s, >= 9,999)."""
    return Decimal(10) ** max(4, math.ceil(math.log10(9_000_000 / float(price)))) - 1


def derived_step_size(price: Decimal) -> Decimal:
    """A Binance-like lot step: one step is worth between about 0.1 and 1 quote units."""
    magnitude = math.floor(-math.log10(float(price)))
    return Decimal(1).scaleb(max(-8, min(magnitude, 0)))


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text or "(top level)"


def describe_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        msg = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{_location(tuple(item['loc']))}: {msg}")
    return "; ".join(lines)


def config_from_mapping(data: Any, source: str = "config") -> ExchangeConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    try:
        return ExchangeConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe_validation_error(error)}") from None


def load_config(path: Path) -> ExchangeConfig:
    """Read a YAML (or JSON, a subset of YAML) config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML/JSON: {error}") from None
    return config_from_mapping(data, str(path))


def seed_markets(config: ExchangeConfig, spec: str) -> ExchangeConfig:
    """Replace the markets with ``BASE/QUOTE[=PRICE]`` entries (comma separated).

    A pair among the configured markets keeps its filters (and takes the new price); any other
    pair gets filters derived from its price, which is then required.
    """
    known = {m.symbol: m for m in config.markets}
    known.update({m.symbol: m for m in DEFAULT_MARKETS if m.symbol not in known})
    markets: list[MarketConfig] = []
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        symbol, _, price_text = raw.partition("=")
        symbol = symbol.strip().upper()
        base = known.get(symbol)
        fields: dict[str, Any] = base.model_dump() if base is not None else {"symbol": symbol}
        if price_text.strip():
            fields["price"] = price_text.strip()
        elif base is None:
            raise ConfigError(
                f"--seed-markets: {symbol!r} is not a known market, give its price: {symbol}=PRICE"
            )
        if base is not None and price_text.strip():
            # A new price may be off the configured tick grid: then derive the tick from it.
            try:
                if Decimal(price_text.strip()) % base.tick != 0:
                    fields["tickSize"] = None
            except ArithmeticError:
                pass
        markets.append(_market(fields, f"--seed-markets {raw!r}"))
    if not markets:
        raise ConfigError(
            "--seed-markets: no markets given (expected e.g. BTC/USDT=68000,ETH/USDT)"
        )
    return config_from_mapping(
        {**config.model_dump(), "markets": [m.model_dump() for m in markets]}, "--seed-markets"
    )


def _market(fields: dict[str, Any], source: str) -> MarketConfig:
    try:
        return MarketConfig.model_validate(fields)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe_validation_error(error)}") from None
