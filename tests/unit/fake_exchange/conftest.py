"""Pure-logic fixtures: the default markets and a spot engine on a fixed clock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange.config import ExchangeConfig
from fks_fake_exchange.markets import Market, build_markets
from fks_fake_exchange.spot import Ids, SpotEngine

NOW = 1_700_000_000_000


class Prices(dict[str, Decimal]):
    def of(self, symbol: str) -> Decimal:
        return self[symbol]


@pytest.fixture
def markets() -> tuple[dict[str, Market], dict[str, Market]]:
    return build_markets(ExchangeConfig())


@pytest.fixture
def spot_markets(markets: tuple[dict[str, Market], dict[str, Market]]) -> dict[str, Market]:
    return markets[0]


@pytest.fixture
def prices() -> Prices:
    return Prices({"BTCUSDT": Decimal(68_000), "ETHUSDT": Decimal(3_500), "SOLUSDT": Decimal(150)})


@pytest.fixture
def engine(spot_markets: dict[str, Market], prices: Prices) -> SpotEngine:
    return SpotEngine(
        spot_markets,
        prices.of,
        lambda: NOW,
        Ids(),
        Decimal("0.001"),
        {"USDT": Decimal(10_000), "BTC": Decimal("0.1"), "ETH": Decimal(1)},
    )
