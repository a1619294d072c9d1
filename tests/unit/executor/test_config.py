"""The config file contract (docs/configuration.md): what loads, and the one-line errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fks_executor.config import (
    DEFAULT_CONFIG_YAML,
    ConfigError,
    ExecutorConfig,
    default_config,
    load_config,
    parse_config,
    resolve_secrets,
)

# The documented example, verbatim from docs/configuration.md.
DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def documented_example() -> dict[str, Any]:
    text = DOCS.read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load(block)
    assert isinstance(data, dict)
    return data


MINIMAL: dict[str, Any] = {
    "pipeline": "p",
    "webhook": {"secretEnv": "FKS_WEBHOOK_SECRET"},
    "accounts": [{"name": "a", "exchange": "binance"}],
    "state": {"journalPath": "/var/lib/fks/journal.db"},
}


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_documented_example_loads_with_every_value() -> None:
    config = parse_config(documented_example())
    assert config.pipeline == "btc-momentum"
    assert config.namespace == "trading"
    assert config.dry_run is False
    assert config.response_deadline_seconds == 2.0
    assert config.webhook.auth == "hmac-or-token"
    assert config.webhook.secret_env == "FKS_WEBHOOK_SECRET"
    assert config.webhook.max_signal_age_seconds == 300
    assert config.webhook.min_confidence == 0.6
    (account,) = config.accounts
    assert account.name == "binance-testnet"
    assert account.market_type == "spot"
    assert account.api_key_env == "FKS_ACCOUNT_BINANCE_TESTNET_API_KEY"
    assert account.default is True
    assert config.default_account is account
    assert config.risk.sizing.method == "risk"
    assert config.risk.sizing.notional_usd == 100
    assert config.risk.max_position_size_usd == 1000
    assert config.risk.paper_balance_usd == 10000
    assert config.rate_limit.requests_per_minute == 100
    assert config.circuit_breaker.failure_threshold == 5
    assert config.state.journal_path == "/var/lib/fks/journal.db"
    assert config.audit.path == ""
    assert config.mode == "testnet"


def test_minimal_config_gets_the_documented_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.listen.host == "0.0.0.0"
    assert config.listen.port == 8000
    assert config.webhook.auth == "hmac-or-token"
    assert config.webhook.allowed_sources == ()
    assert config.risk.max_order_size_usd == 10000
    assert config.state.backend == "memory"
    assert config.default_account.name == "a"  # a single account is the default


def test_trading_on_the_memory_backend_needs_the_journal() -> None:
    """Orders are only sent for signals journaled on disk (a restart finishes them and never
    sends them twice): a trading config without a journal does not start."""
    no_journal = mutated(lambda d: d.pop("state"))
    assert error_of(no_journal).startswith(
        "state.journalPath: required when dryRun is false with the memory backend"
    )
    assert parse_config({**no_journal, "dryRun": True}).state.journal_path == ""
    redis = {**no_journal, "state": {"backend": "redis", "leaseSeconds": 5}}
    assert parse_config(redis).state.lease_seconds == 5
    assert parse_config(MINIMAL).state.lease_seconds == 30
    bad = {**no_journal, "state": {"backend": "redis", "leaseSeconds": 0.5}}
    assert error_of(bad) == "state.leaseSeconds: must be greater than or equal to 1"


def test_embedded_default_is_a_local_dry_run_on_8000() -> None:
    config = default_config()
    assert config.dry_run is True
    assert config.mode == "dry-run"
    assert (config.listen.host, config.listen.port) == ("127.0.0.1", 8000)
    assert config.webhook.secret_env == "FKS_WEBHOOK_SECRET"
    assert yaml.safe_load(DEFAULT_CONFIG_YAML)["dryRun"] is True


def mutated(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("pipeline"), "pipeline: required"),
        (lambda d: d["webhook"].pop("secretEnv"), "webhook.secretEnv: required"),
        (lambda d: d.update(dryrun=True), "dryrun: unknown key"),
        (lambda d: d["webhook"].update(secret="x"), "webhook.secret: unknown key"),
        (
            lambda d: d.update(risk={"sizing": {"method": "kelly"}}),
            "risk.sizing.method: must be one of risk, fixed-percent, fixed-notional, volatility",
        ),
        (
            lambda d: d["webhook"].update(auth="none"),
            "webhook.auth: must be one of hmac, token, hmac-or-token",
        ),
        (
            lambda d: d["accounts"][0].update(environment="prod"),
            "accounts[0].environment: must be one of testnet, live",
        ),
        (
            lambda d: d["accounts"][0].update(marketType="perp"),
            "accounts[0].marketType: must be one of spot, future, swap, margin",
        ),
        (
            lambda d: d.update(state={"backend": "etcd"}),
            "state.backend: must be one of memory, redis",
        ),
        (lambda d: d.update(dryRun="yes"), "dryRun: must be a valid boolean"),
        (
            lambda d: d.update(listen={"port": "8000"}),
            "listen.port: must be a valid integer",
        ),
        (lambda d: d.update(listen={"port": 0}), "listen.port: must be greater than or equal to 1"),
        (
            lambda d: d.update(risk={"sizing": {"riskPerTrade": 1.5}}),
            "risk.sizing.riskPerTrade: must be less than or equal to 1",
        ),
        (
            lambda d: d.update(risk={"maxPositionSizeUSD": 0}),
            "risk.maxPositionSizeUSD: must be greater than 0",
        ),
        (lambda d: d.update(accounts=[]), "accounts: must have at least 1 item(s)"),
        (
            lambda d: d["accounts"].append({"name": "b", "exchange": "kraken"}),
            "accounts: exactly one account must be default: true (found 0)",
        ),
        (
            lambda d: d["accounts"].append({"name": "a", "exchange": "kraken"}),
            "accounts[1].name: the name of an earlier account again",
        ),
        (
            lambda d: d["accounts"][0].update(name="*"),
            "accounts[0].name: '*' is reserved: it means every account",
        ),
        (
            lambda d: d["accounts"][0].update(apiKeyEnv="K"),
            "accounts[0].secretEnv: apiKeyEnv and secretEnv are set together or not at all",
        ),
        (
            lambda d: d["webhook"].update(allowedSources=["tradingview", "bogus"]),
            "webhook.allowedSources: holds an entry that is not a CIDR, an IP address or the "
            "preset 'tradingview'",
        ),
        (
            lambda d: d["webhook"].update(trustedProxies=["tradingview"]),
            "webhook.trustedProxies: holds an entry that is not a CIDR or an IP address",
        ),
        (
            lambda d: d.update(state={"backend": "redis", "redisUrlEnv": ""}),
            "state.redisUrlEnv: required when backend is redis",
        ),
        (
            lambda d: d["accounts"][0].update(options={"recvWindow": 5000}),
            "accounts[0].options.recvWindow: must be a valid string",
        ),
    ],
)
def test_bad_config_is_one_line_naming_the_key(change: Any, expected: str) -> None:
    assert error_of(mutated(change)) == expected


def test_several_errors_report_the_first_and_count_the_rest() -> None:
    message = error_of({"webhook": {"secretEnv": "X"}, "accounts": [], "bogus": 1})
    assert message.startswith("pipeline: required (and ")


def test_top_level_must_be_a_mapping() -> None:
    assert error_of(["pipeline"]) == "(top level): must be a mapping of keys, got a list"


def test_lists_and_networks_are_accepted() -> None:
    config = parse_config(
        mutated(
            lambda d: d["webhook"].update(
                allowedSources=["tradingview", "10.0.0.0/8", "192.0.2.7", "2001:db8::/32"],
                trustedProxies=["10.0.0.0/8"],
            )
        )
    )
    assert config.webhook.allowed_sources[0] == "tradingview"


def test_load_config_reports_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="config file is empty"):
        load_config(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipeline: p\nwebhook: {secretEnv: X\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+, column \d+"):
        load_config(broken)
    dup = tmp_path / "dup.yaml"
    dup.write_text("pipeline: a\npipeline: b\n")
    with pytest.raises(ConfigError, match="duplicate key 'pipeline'"):
        load_config(dup)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(MINIMAL))
    assert load_config(good).pipeline == "p"


def test_secrets_resolve_from_the_named_env_vars() -> None:
    config = parse_config(
        mutated(lambda d: d["accounts"][0].update(apiKeyEnv="K", secretEnv="S", passwordEnv="P"))
    )
    secrets = resolve_secrets(config, {"FKS_WEBHOOK_SECRET": "w", "K": "k", "S": "s", "P": "p"})
    assert secrets.webhook_secret.get_secret_value() == "w"
    creds = secrets.accounts["a"]
    assert creds.present
    assert creds.password is not None
    assert creds.password.get_secret_value() == "p"
    assert "'w'" not in repr(secrets)
    assert "'p'" not in repr(secrets)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            "webhook.secretEnv: environment variable FKS_WEBHOOK_SECRET is not set "
            "(the webhook shared secret)",
        ),
        (
            {"FKS_WEBHOOK_SECRET": "w", "S": "s"},
            "accounts[0].apiKeyEnv: environment variable K is not set (API key of a)",
        ),
        (
            {"FKS_WEBHOOK_SECRET": "w", "K": "k", "S": ""},
            "accounts[0].secretEnv: environment variable S is not set (API secret of a)",
        ),
    ],
)
def test_missing_secret_env_names_the_variable_and_key(env: dict[str, str], expected: str) -> None:
    config = parse_config(mutated(lambda d: d["accounts"][0].update(apiKeyEnv="K", secretEnv="S")))
    with pytest.raises(ConfigError) as info:
        resolve_secrets(config, env)
    assert str(info.value) == expected


def test_redis_url_is_a_secret_of_the_redis_backend() -> None:
    config = parse_config(mutated(lambda d: d.update(state={"backend": "redis"})))
    with pytest.raises(
        ConfigError, match=r"state\.redisUrlEnv: environment variable FKS_REDIS_URL"
    ):
        resolve_secrets(config, {"FKS_WEBHOOK_SECRET": "w"})
    secrets = resolve_secrets(config, {"FKS_WEBHOOK_SECRET": "w", "FKS_REDIS_URL": "redis://x"})
    assert secrets.redis_url is not None


def test_config_is_immutable() -> None:
    config: ExecutorConfig = parse_config(MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        config.pipeline = "other"  # type: ignore[misc]


def test_execution_deadline_defaults_to_60_and_stays_within_the_signal_age() -> None:
    from fks_executor.config import ConfigError, parse_config

    base = {
        "pipeline": "p",
        "dryRun": True,
        "webhook": {"secretEnv": "S", "maxSignalAgeSeconds": 30},
        "accounts": [{"name": "a", "exchange": "binance"}],
    }
    assert parse_config({**base, "webhook": {"secretEnv": "S"}}).execution.deadline_seconds == 60
    assert (
        parse_config({**base, "execution": {"deadlineSeconds": 30.0}}).execution.deadline_seconds
        == 30
    )
    with pytest.raises(ConfigError, match=r"^execution.deadlineSeconds: must be at most"):
        parse_config({**base, "execution": {"deadlineSeconds": 31.0}})
    with pytest.raises(ConfigError, match=r"^execution.deadlineSeconds"):
        parse_config({**base, "execution": {"deadlineSeconds": 0.0}})


def _with_account(**account: Any) -> dict[str, Any]:
    return {**MINIMAL, "accounts": [{"name": "a", "exchange": "binance", **account}]}


def test_futures_settings_of_a_contract_account() -> None:
    futures = {"leverage": 3, "leverageBySymbol": {"BTC/USDT:USDT": 5}, "marginMode": "isolated"}
    account = parse_config(_with_account(marketType="swap", futures=futures)).accounts[0]
    assert account.futures is not None
    assert account.futures.leverage_for("BTC/USDT:USDT") == 5
    assert account.futures.leverage_for("ETH/USDT:USDT") == 3
    assert (account.futures.margin_mode, account.futures.position_mode) == ("isolated", None)


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ({"futures": {"leverage": 3}}, "accounts[0].futures: futures settings need marketType"),
        ({"marketType": "swap", "futures": {"leverage": 126}}, "accounts[0].futures.leverage"),
        ({"marketType": "swap", "futures": {"leverage": 0}}, "accounts[0].futures.leverage"),
        ({"marketType": "swap", "futures": {"positionMode": "both"}}, "futures.positionMode"),
        ({"marketType": "future", "futures": {"leverageBySymbol": {"": 2}}}, "leverageBySymbol"),
    ],
)
def test_bad_futures_settings_are_refused_naming_the_field(
    account: dict[str, Any], expected: str
) -> None:
    assert expected in error_of(_with_account(**account))


def test_execution_mode_protection_failure_and_fan_out_defaults() -> None:
    config = parse_config(MINIMAL)
    assert (config.execution.mode, config.execution.on_protection_failure) == ("orders", "alert")
    assert config.fan_out is False
    assert "execution.mode" in error_of({**MINIMAL, "execution": {"mode": "targets"}})
