"""Contract: every ConfigMap the operator renders loads cleanly in the executor's own loader, and
every secret variable the config names is wired into the Deployment (and nothing else is)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fks_executor.config import (
    PipelineSettings,
    Venue,
    WebhookPolicy,
    load_config,
    parse_config,
    resolve_secrets,
)
from fks_operator.builders import build_children, effective_mode
from fks_operator.settings import OperatorSettings
from tests.unit.operator.conftest import merge
from tests.unit.operator.variants import SIZING_METHODS, VARIANTS, Variant

SETTINGS = OperatorSettings()


def sizing_variants() -> list[Variant]:
    """Each sizing method on each state backend."""
    out = []
    for base in (VARIANTS[2], VARIANTS[3]):  # testnet (memory), redis-replicas
        for method in SIZING_METHODS:
            pipeline = merge(base.pipeline, {"spec": {"risk": {"sizing": {"method": method}}}})
            out.append(
                Variant(f"{base.name}-{method}", pipeline, base.accounts, secrets=base.secrets)
            )
    return out


ALL = VARIANTS + sizing_variants()


def rendered(variant: Variant) -> tuple[str, dict[str, Any]]:
    children = build_children(
        variant.parsed_pipeline(),
        variant.parsed_accounts(),
        SETTINGS,
        variant.secrets,
        service_monitor_api=True,
    )
    config_yaml: str = children.config_map["data"]["config.yaml"]
    return config_yaml, children.deployment


def deployment_env(deployment: dict[str, Any]) -> set[str]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"] for item in container["env"]}


@pytest.mark.parametrize("variant", ALL, ids=lambda v: v.name)
def test_executor_loads_the_rendered_config(variant: Variant, tmp_path: Path) -> None:
    config_yaml, _ = rendered(variant)
    config = parse_config(yaml.safe_load(config_yaml))
    path = tmp_path / "config.yaml"
    path.write_text(config_yaml)
    assert load_config(path) == config

    pipeline = variant.parsed_pipeline()
    spec = pipeline.spec
    assert config.pipeline == pipeline.name
    assert config.mode == effective_mode(pipeline, variant.parsed_accounts())
    assert config.default_account.name == spec.default_account
    assert [a.name for a in config.accounts] == list(spec.account_names)
    assert config.risk.sizing.method == spec.risk.sizing.method
    assert config.state.backend == spec.state.backend
    assert config.listen.port == 8000
    assert config.webhook.auth == spec.webhook.auth


@pytest.mark.parametrize("variant", ALL, ids=lambda v: v.name)
def test_what_the_spec_shares_with_the_config_reaches_the_executor_unchanged(
    variant: Variant,
) -> None:
    """Every field of the shared models (docs/crds.md#adding-a-field), not a hand-picked list:
    a field added to one of them is carried without touching the builder."""
    config = parse_config(yaml.safe_load(rendered(variant)[0]))
    spec = variant.parsed_pipeline().spec
    for name in PipelineSettings.model_fields:
        assert getattr(config, name) == getattr(spec, name), name
    for name in WebhookPolicy.model_fields:
        assert getattr(config.webhook, name) == getattr(spec.webhook, name), name
    accounts = variant.parsed_accounts()
    for account in config.accounts:
        for name in Venue.model_fields:
            assert getattr(account, name) == getattr(accounts[account.name].spec, name), name


@pytest.mark.parametrize("variant", ALL, ids=lambda v: v.name)
def test_every_named_secret_variable_is_wired_and_nothing_else(variant: Variant) -> None:
    config_yaml, deployment = rendered(variant)
    config = parse_config(yaml.safe_load(config_yaml))
    wired = deployment_env(deployment)
    environ = dict.fromkeys(wired, "value")
    resolved = resolve_secrets(config, environ)  # raises naming any variable not wired
    named = {config.webhook.secret_env}
    if config.state.backend == "redis":
        named.add(config.state.redis_url_env)
    for account in config.accounts:
        named |= {account.api_key_env, account.secret_env, account.password_env} - {""}
    assert named == wired
    if not config.dry_run:
        for account in variant.parsed_accounts().values():
            if account.spec.credentials_secret_ref is not None:
                assert resolved.accounts[account.name].present


def test_longest_account_name_still_gives_valid_variable_names() -> None:
    name = "a" * 200
    variant = VARIANTS[2]
    account = merge(variant.accounts[0], {"metadata": {"name": name}})
    pipeline = merge(variant.pipeline, {"spec": {"accounts": [{"name": name}]}})
    config_yaml, deployment = rendered(Variant("long", pipeline, [account], secrets={}))
    config = parse_config(yaml.safe_load(config_yaml))
    assert config.accounts[0].api_key_env == f"FKS_ACCOUNT_{name.upper()}_API_KEY"
    assert config.accounts[0].password_env in deployment_env(deployment)
