"""Parsing custom resources into typed models: defaults, rules, and errors that name the field."""

from __future__ import annotations

import pytest

from fks_operator.errors import SpecError
from fks_operator.specs import parse_account, parse_pipeline
from tests.unit.operator.conftest import account, account_obj, pipeline, pipeline_obj


def test_minimal_pipeline_gets_every_documented_default() -> None:
    spec = pipeline().spec
    assert spec.dry_run is False
    assert spec.suspend is False
    assert spec.response_deadline_seconds == 2.0
    assert spec.webhook.auth == "hmac-or-token"
    assert spec.webhook.max_signal_age_seconds == 300
    assert spec.webhook.min_confidence == 0.6
    assert spec.webhook.allowed_sources == ()
    assert spec.webhook.trusted_proxies == ()
    assert spec.risk.sizing.method == "risk"
    assert spec.risk.sizing.risk_per_trade == 0.02
    assert spec.risk.sizing.percent == 0.05
    assert spec.risk.sizing.notional_usd == 100
    assert spec.risk.sizing.atr_multiplier == 2.0
    assert spec.risk.max_position_size_usd == 1000
    assert spec.risk.max_order_size_usd == 10000
    assert spec.risk.daily_loss_limit_usd == 0
    assert spec.risk.paper_balance_usd == 10000
    assert spec.rate_limit.requests_per_minute == 100
    assert spec.circuit_breaker.failure_threshold == 5
    assert spec.circuit_breaker.reset_timeout_seconds == 60
    assert spec.state.backend == "memory"
    assert spec.state.redis_secret_ref is None
    assert spec.replicas == 1
    assert spec.autoscaling.enabled is False
    assert (spec.autoscaling.min_replicas, spec.autoscaling.max_replicas) == (2, 10)
    assert spec.autoscaling.target_cpu_utilization_percentage == 70
    assert spec.image == ""
    assert spec.resources is None
    assert spec.monitoring.service_monitor.enabled is True
    assert spec.monitoring.service_monitor.interval == "30s"


def test_minimal_account_gets_defaults() -> None:
    spec = parse_account(
        {"metadata": {"name": "a", "namespace": "t"}, "spec": {"exchange": "kraken"}}
    ).spec
    assert spec.environment == "testnet"
    assert spec.acknowledge_live_trading is False
    assert spec.market_type == "spot"
    assert spec.credentials_secret_ref is None
    assert spec.endpoint == ""
    assert spec.options == {}


def test_credentials_ref_key_defaults() -> None:
    ref = account().spec.credentials_secret_ref
    assert ref is not None
    assert (ref.api_key_key, ref.secret_key, ref.password_key) == ("apiKey", "secret", None)


def test_redis_ref_and_webhook_key_defaults() -> None:
    spec = pipeline(
        webhook={"secretRef": {"name": "w", "key": None}},
        state={"backend": "redis", "redisSecretRef": {"name": "r"}},
    ).spec
    assert spec.webhook.secret_ref.key == "secret"
    assert spec.state.redis_secret_ref is not None
    assert spec.state.redis_secret_ref.key == "url"


def test_single_account_is_the_default_without_the_flag() -> None:
    spec = pipeline(accounts=[{"name": "only"}]).spec
    assert spec.default_account == "only"


def test_default_account_among_several() -> None:
    spec = pipeline(accounts=[{"name": "a"}, {"name": "b", "default": True}]).spec
    assert spec.default_account == "b"
    assert spec.account_names == ("a", "b")


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"risk": {"sizing": {"riskPerTrade": 1.5}}}, "spec.risk.sizing.riskPerTrade", "less"),
        ({"risk": {"sizing": {"percent": 0}}}, "spec.risk.sizing.percent", "greater"),
        ({"risk": {"sizing": {"notionalUSD": -1}}}, "spec.risk.sizing.notionalUSD", "greater"),
        ({"risk": {"sizing": {"method": "martingale"}}}, "spec.risk.sizing.method", "risk"),
        ({"webhook": {"auth": "none"}}, "spec.webhook.auth", "hmac"),
        ({"accounts": []}, "spec.accounts", "at least 1"),
        ({"replicas": 3}, "spec", "state.backend must be redis"),
        ({"autoscaling": {"enabled": True}}, "spec", "state.backend must be redis"),
        (
            {"accounts": [{"name": "a"}, {"name": "b"}]},
            "spec",
            "exactly one account must have default: true",
        ),
        (
            {"accounts": [{"name": "a", "default": True}, {"name": "b", "default": True}]},
            "spec",
            "exactly one account",
        ),
        ({"accounts": [{"name": "a"}, {"name": "a"}]}, "spec", "account names must be unique"),
        (
            {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}},
            "spec.autoscaling",
            "minReplicas must be less than or equal",
        ),
        ({"state": {"backend": "redis"}}, "spec.state", "redisSecretRef is required"),
        ({"webhook": {"secretRef": None}}, "spec.webhook.secretRef", "required"),
        ({"accounts": [{"name": "a" * 201}]}, "spec.accounts[0].name", "at most 200"),
    ],
)
def test_bad_pipeline_spec_names_the_field(
    overrides: dict[str, object], path: str, fragment: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_pipeline(pipeline_obj(**overrides))
    assert caught.value.path == path
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"{path}: ")


def test_live_without_acknowledgement_is_refused() -> None:
    with pytest.raises(SpecError, match="acknowledgeLiveTrading: true"):
        parse_account(account_obj(environment="live"))
    assert account(environment="live", acknowledgeLiveTrading=True).spec.environment == "live"


def test_bad_account_fields() -> None:
    with pytest.raises(SpecError) as caught:
        parse_account(account_obj(exchange="Binance!"))
    assert caught.value.path == "spec.exchange"
    with pytest.raises(SpecError) as caught:
        parse_account(account_obj(endpoint="ftp://x"))
    assert caught.value.path == "spec.endpoint"


def test_missing_spec_is_an_error_not_a_crash() -> None:
    with pytest.raises(SpecError) as caught:
        parse_pipeline({"metadata": {"name": "x"}})
    assert caught.value.path == "spec"


def test_unknown_fields_are_ignored_so_a_newer_crd_does_not_stop_the_operator() -> None:
    parsed = parse_pipeline(pipeline_obj(futureField={"x": 1}))
    assert parsed.spec.replicas == 1


def test_min_replicas() -> None:
    assert pipeline(replicas=0).spec.min_replicas == 0
    redis = {"backend": "redis", "redisSecretRef": {"name": "r"}}
    scaled = pipeline(state=redis, replicas=1, autoscaling={"enabled": True, "minReplicas": 3})
    assert scaled.spec.min_replicas == 3


@pytest.mark.parametrize("field", ["allowedSources", "trustedProxies"])
def test_a_bad_source_entry_is_not_repeated_in_the_condition(field: str) -> None:
    """The message goes to the pipeline's condition and Events: a secret pasted into the
    list must not be copied there."""
    with pytest.raises(SpecError) as e:
        pipeline(webhook={field: ["sk-PASTED-SECRET"]})
    assert e.value.path.startswith(f"spec.webhook.{field}")
    assert "not a CIDR" in str(e.value)
    assert "PASTED" not in str(e.value)
