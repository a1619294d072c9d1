"""Building the ccxt instance: sandbox before endpoint, options, error table by path.

Real ccxt instances, no network (nothing here sends a request).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt
import pytest

from fks_executor.exchange.base import Credentials
from fks_executor.exchange.setup import ExchangeSetupError, build_ccxt, parse_options


@dataclass(frozen=True)
class Account:
    name: str = "acct"
    exchange: str = "binance"
    environment: str = "testnet"
    market_type: str = "spot"
    endpoint: str = ""
    options: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def build() -> AsyncIterator[Callable[..., Any]]:
    made: list[Any] = []

    def _build(account: Account, creds: Credentials | None = None) -> Any:
        ex = build_ccxt(account, creds)
        made.append(ex)
        return ex

    yield _build
    for ex in made:
        await ex.close()


async def test_testnet_with_endpoint_keeps_the_testnet_paths_on_the_new_host(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(Account(endpoint="http://127.0.0.1:9999/"))
    test_urls = ccxt.binance().urls["test"]
    assert set(ex.urls["api"]) == set(test_urls)  # sandbox applied first: no sapi keys
    assert ex.urls["api"]["public"] == "http://127.0.0.1:9999/api/v3"
    assert ex.urls["api"]["fapiPrivate"] == "http://127.0.0.1:9999/fapi/v1"
    assert all(v.startswith("http://127.0.0.1:9999/") for v in ex.urls["api"].values())


async def test_live_without_endpoint_keeps_the_real_urls(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(Account(environment="live"))
    assert ex.urls["api"]["public"].startswith("https://api.binance.com/")
    assert "sapi" in ex.urls["api"]


async def test_endpoint_with_a_path_prefix(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(Account(environment="live", endpoint="https://gw.internal/binance"))
    assert ex.urls["api"]["public"] == "https://gw.internal/binance/api/v3"


async def test_spot_loads_only_spot_markets_and_rate_limiting_is_on(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(Account())
    assert ex.options["fetchMarkets"]["types"] == ["spot"]
    assert ex.options["fetchCurrencies"] is False
    assert ex.options["fetchMargins"] is False
    assert ex.options["defaultType"] == "spot"
    assert ex.enableRateLimit is True
    swap = build(Account(market_type="swap"))
    assert swap.options["fetchMarkets"]["types"] == ["linear"]
    assert swap.options["defaultType"] == "swap"


async def test_account_options_are_parsed_and_routed(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(
        Account(
            options={
                "enableRateLimit": "false",
                "timeout": "1500",
                "recvWindow": "5000",
                "adjustForTimeDifference": "true",
                "brokerTag": "plain words",
            }
        )
    )
    assert ex.enableRateLimit is False
    assert ex.timeout == 1500
    assert ex.options["recvWindow"] == 5000
    assert ex.options["adjustForTimeDifference"] is True
    assert ex.options["brokerTag"] == "plain words"


def test_parse_options() -> None:
    top, rest = parse_options({"timeout": "10", "x": '{"a": [1]}', "y": "z"})
    assert top == {"timeout": 10}
    assert rest == {"x": {"a": [1]}, "y": "z"}


async def test_credentials_are_set_only_when_given(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(Account(), Credentials(api_key="KEY", secret="SECRET", password="PW"))
    assert (ex.apiKey, ex.secret, ex.password) == ("KEY", "SECRET", "PW")
    assert "SECRET" not in repr(Credentials(api_key="KEY", secret="SECRET"))
    public = build(Account())
    assert not public.apiKey
    assert not public.secret


async def test_error_table_is_chosen_by_path_on_a_local_endpoint(build) -> None:  # type: ignore[no-untyped-def]
    ex = build(Account(endpoint="http://127.0.0.1:9999", market_type="swap"))
    linear = ex.get_exceptions_by_url("http://127.0.0.1:9999/fapi/v1/order", "exact")
    spot = ex.get_exceptions_by_url("http://127.0.0.1:9999/api/v3/order", "exact")
    assert linear["-2019"] is ccxt.InsufficientFunds  # "Margin is insufficient"
    assert spot == ex.exceptions["spot"]["exact"]
    assert spot["-1099"] is ccxt.AuthenticationError
    assert ex.get_exceptions_by_url("http://elsewhere/fapi/v1/order", "exact") == {}
    # handle_errors now maps the futures code like it does against the real host:
    with pytest.raises(ccxt.InsufficientFunds):
        ex.handle_errors(
            400,
            "Bad Request",
            "http://127.0.0.1:9999/fapi/v1/order",
            "POST",
            {},
            '{"code":-2019,"msg":"Margin is insufficient."}',
            {"code": -2019, "msg": "Margin is insufficient."},
            {},
            "",
        )


async def test_bad_accounts_are_setup_errors() -> None:
    with pytest.raises(ExchangeSetupError, match="unknown ccxt exchange 'nope'"):
        build_ccxt(Account(exchange="nope"), None)
    with pytest.raises(ExchangeSetupError, match="not an http"):
        build_ccxt(Account(endpoint="ftp://x"), None)
    with pytest.raises(ExchangeSetupError, match="no testnet"):
        build_ccxt(Account(exchange="upbit"), None)


async def test_the_unknown_outcome_window_follows_recv_window(build) -> None:  # type: ignore[no-untyped-def]
    from fks_executor.exchange.live import LiveExchange
    from fks_executor.exchange.retry import RetryPolicy

    default = LiveExchange(build(Account()), account="a", market_type="spot")
    assert default.venue.settle_seconds == 11.0  # ccxt's recvWindow 10 s + 1 s of clock skew
    short = LiveExchange(
        build(Account(options={"recvWindow": "5000"})), account="a", market_type="spot"
    )
    assert short.venue.settle_seconds == 6.0
    fixed = LiveExchange(
        build(Account()), account="a", market_type="spot", retry=RetryPolicy(settle_seconds=0.5)
    )
    assert fixed.venue.settle_seconds == 0.5


@pytest.mark.parametrize(
    ("exchange", "market_type", "types"),
    [
        ("binance", "spot", ["spot"]),
        ("binance", "swap", ["linear"]),
        ("bybit", "spot", ["spot"]),
        ("bybit", "swap", ["linear"]),
        ("bybit", "future", ["linear"]),
    ],
)
async def test_every_venue_loads_only_the_account_market_type(  # type: ignore[no-untyped-def]
    build, exchange: str, market_type: str, types: list[str]
) -> None:
    ex = build(Account(exchange=exchange, market_type=market_type), Credentials("k", "s"))
    assert ex.options["fetchMarkets"]["types"] == types
    assert ex.has["fetchCurrencies"] is False or ex.options.get("fetchCurrencies") is False
    assert ccxt.bybit().has["fetchCurrencies"] is True  # only this instance's copy changed


@pytest.mark.parametrize(
    ("exchange", "market_type", "attached", "not_attachable", "oco"),
    [
        ("binance", "spot", False, frozenset(), True),
        ("binance", "swap", False, frozenset(), False),
        ("bybit", "spot", True, frozenset({"market", "limit"}), False),
        ("bybit", "swap", True, frozenset(), False),
    ],
)
async def test_capabilities_per_venue_and_market_type(  # type: ignore[no-untyped-def]
    build,
    exchange: str,
    market_type: str,
    attached: bool,
    not_attachable: frozenset[str],
    oco: bool,
) -> None:
    from fks_executor.exchange.quirks import Capabilities, quirks_for

    api = build(Account(exchange=exchange, market_type=market_type))
    caps = Capabilities.for_account(api, market_type, quirks_for(exchange))
    assert (caps.attached_tp_sl, caps.not_attachable, caps.spot_oco) == (
        attached,
        not_attachable,
        oco,
    )
    for order_type in ("market", "limit"):
        assert caps.attaches(order_type) is (attached and order_type not in not_attachable)
