from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from fks_fake_exchange.config import (
    DEFAULT_API_KEY,
    ConfigError,
    ExchangeConfig,
    config_from_mapping,
    load_config,
    seed_markets,
)
from fks_fake_exchange.markets import build_markets


def test_defaults_are_the_documented_exchange() -> None:
    config = ExchangeConfig()
    assert config.secrets_by_key() == {DEFAULT_API_KEY: "fks-fake-exchange-test-secret"}
    assert config.balances == {"USDT": 10_000, "BTC": Decimal("0.1"), "ETH": 1}
    spot, futures = build_markets(config)
    assert {s: m.tick_size for s, m in spot.items()} == {
        "BTCUSDT": Decimal("0.01"), "ETHUSDT": Decimal("0.01"), "SOLUSDT": Decimal("0.01"),
    }  # fmt: skip
    assert set(futures) == {"BTCUSDT", "ETHUSDT"}
    assert futures["BTCUSDT"].min_notional == 100


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(path) == ExchangeConfig()


def test_json_config(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"markets": [{"symbol": "XRP/USDT", "price": "0.5", "futures": true}]}')
    spot, futures = build_markets(load_config(path))
    assert spot["XRPUSDT"].tick_size == Decimal("0.0001")
    assert spot["XRPUSDT"].step_size == 1
    assert set(futures) == {"XRPUSDT"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"markets": [{"symbol": "BTC/USDT"}]}, "markets[0].price: Field required"),
        ({"markets": [{"symbol": "BTC/USDT", "price": 1, "tickSize": 0}]}, "markets[0].tickSize"),
        (
            {"markets": [{"symbol": "BTC/USDT", "price": 1, "orderTypes": ["FOK"]}]},
            "unknown order types",
        ),
        ({"markets": [{"symbol": "A/B", "price": 1}]}, "must look like BASE/QUOTE"),
        (
            {"markets": [{"symbol": "BTC/USDT", "price": 1}, {"symbol": "BTC/USDT", "price": 2}]},
            "markets listed twice: ['BTCUSDT']",
        ),
        ({"markets": [{"symbol": "BTC/USDT", "price": "0.000000001"}]}, "more than 8 decimals"),
        ({"balances": {"usdt": 1}}, "balances: asset 'usdt' must be 2-12 capitals"),
        ({"feeRate": 0.5}, "feeRate: Input should be less than 0.1"),
        ({"apiKeys": [{"key": "a b", "secret": "s"}]}, "apiKeys[0].key"),
        ({"surprise": 1}, "surprise: unknown key"),
    ],
)
def test_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, "exchange.yaml")
    assert str(info.value).startswith("exchange.yaml: ")
    assert message in str(info.value)


def test_seed_markets() -> None:
    config = seed_markets(ExchangeConfig(), "ETH/USDT, DOGE/USDT=0.15")
    spot, futures = build_markets(config)
    assert list(spot) == ["ETHUSDT", "DOGEUSDT"]
    assert spot["ETHUSDT"].step_size == Decimal("0.0001")  # the known market keeps its filters
    assert config.markets[1].price == Decimal("0.15")
    assert set(futures) == {"ETHUSDT"}
    with pytest.raises(ConfigError, match="give its price"):
        seed_markets(ExchangeConfig(), "NEW/USDT")
    with pytest.raises(ConfigError, match="no markets given"):
        seed_markets(ExchangeConfig(), " , ")
