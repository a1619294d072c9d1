"""The executor config (docs/configuration.md) rendered from a pipeline and its accounts.

Secrets are never in it: it names the environment variables that hold them, and the Deployment
fills those from Secrets with ``secretKeyRef`` (see :mod:`.secrets`). The rendering is
deterministic (fixed key order, floats as floats), so the same inputs give the same bytes and the
same hash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import yaml
from pydantic import ValidationError

from fks_executor.config import (
    AccountConfig,
    AuditConfig,
    ExecutorConfig,
    ListenConfig,
    NotificationConfig,
    NotificationTarget,
    PipelineSettings,
    StateConfig,
    Venue,
    WebhookConfig,
    WebhookPolicy,
)
from fks_executor.validation import first_problem
from fks_operator.builders.meta import (
    CONFIG_KEY,
    HTTP_PORT,
    STATE_DIR,
    Manifest,
    config_map_name,
    object_meta,
)
from fks_operator.errors import RenderError
from fks_operator.specs import ExchangeAccount, ExecutionPipeline

WEBHOOK_SECRET_ENV = "FKS_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
REDIS_URL_ENV = "FKS_REDIS_URL"
JOURNAL_PATH = f"{STATE_DIR}/journal.db"


def account_env_prefix(account_name: str) -> str:
    """``FKS_ACCOUNT_<NAME>``: the account name upper-cased, every other character ``_``."""
    return "FKS_ACCOUNT_" + re.sub(r"[^A-Z0-9]", "_", account_name.upper())


def account_env_names(account: ExchangeAccount) -> tuple[str, str, str]:
    """The variables holding an account's API key, secret and password ("" when none)."""
    ref = account.spec.credentials_secret_ref
    if ref is None:
        return "", "", ""
    prefix = account_env_prefix(account.name)
    password = f"{prefix}_PASSWORD" if ref.password_key else ""
    return f"{prefix}_API_KEY", f"{prefix}_SECRET", password


def notification_env(name: str) -> str:
    """``FKS_NOTIFY_<NAME>``: the variable holding a notification's URL or bot token (names
    are lower case letters, digits and '-', so two names never map to one variable)."""
    return "FKS_NOTIFY_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def credentials_wired(pipeline: ExecutionPipeline) -> bool:
    """Whether account credentials reach the pods: never for a dry-run pipeline, which cannot
    place orders and so gets no trading keys at all (least privilege)."""
    return not pipeline.spec.dry_run


def pipeline_accounts(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> list[ExchangeAccount]:
    """The pipeline's accounts in spec order; RenderError if one is not in ``accounts``."""
    missing = [name for name in pipeline.spec.account_names if name not in accounts]
    if missing:
        raise RenderError(f"ExchangeAccount {missing[0]!r} not found")
    result = [accounts[name] for name in pipeline.spec.account_names]
    prefixes: dict[str, str] = {}
    for account in result:
        prefix = account_env_prefix(account.name)
        if prefix in prefixes:
            raise RenderError(
                f"accounts {prefixes[prefix]!r} and {account.name!r} map to the same "
                f"environment variables ({prefix}_*); rename one of the ExchangeAccounts"
            )
        prefixes[prefix] = account.name
    return result


def executor_config(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> ExecutorConfig:
    """The executor config, validated by the executor's own model: what the pipeline and its
    accounts share with the config (``PipelineSettings``: dryRun, suspend, risk, ...; the
    ``WebhookPolicy``; each account's ``Venue``) is carried over whole, so a field added there
    needs no change here. RenderError if the result is not a config the executor loads."""
    spec = pipeline.spec
    default = spec.default_account
    rendered_accounts = []
    for account in pipeline_accounts(pipeline, accounts):
        api_key_env, secret_env, password_env = (
            account_env_names(account) if credentials_wired(pipeline) else ("", "", "")
        )
        venue = {name: getattr(account.spec, name) for name in Venue.model_fields}
        venue["options"] = dict(sorted(account.spec.options.items()))
        rendered_accounts.append(
            AccountConfig(
                **venue,
                name=account.name,
                api_key_env=api_key_env,
                secret_env=secret_env,
                password_env=password_env,
                default=account.name == default,
            )
        )
    memory = spec.state.backend == "memory"
    settings = {name: getattr(spec, name) for name in PipelineSettings.model_fields}
    policy = {name: getattr(spec.webhook, name) for name in WebhookPolicy.model_fields}
    notifications = tuple(
        NotificationConfig(
            **{name: getattr(target, name) for name in NotificationTarget.model_fields},
            secret_env=notification_env(target.name),
        )
        for target in spec.notifications
    )
    try:
        return ExecutorConfig(
            **settings,
            pipeline=pipeline.name,
            namespace=pipeline.namespace,
            listen=ListenConfig(host="0.0.0.0", port=HTTP_PORT),
            webhook=WebhookConfig(**policy, secret_env=WEBHOOK_SECRET_ENV),
            accounts=tuple(rendered_accounts),
            state=StateConfig(
                backend=spec.state.backend,
                redis_url_env="" if memory else REDIS_URL_ENV,
                journal_path=JOURNAL_PATH if memory else "",
            ),
            audit=AuditConfig(path=""),
            notifications=notifications,
        )
    except ValidationError as exc:
        raise RenderError(f"executor config: {first_problem(exc)}") from None


YAML_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter when PyYAML has it (its wheels do): the same text as the pure-Python one
(tests/unit/operator/test_builders_golden.py), a tenth of the CPU, which a cold start rendering
a thousand configs notices."""


def render_executor_config(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> str:
    """The executor config file (YAML text), byte-for-byte deterministic: keys in the model's
    order (docs/configuration.md), every value explicit."""
    header = (
        f"# Rendered by fks-operator from ExecutionPipeline {pipeline.namespace}/"
        f"{pipeline.name}. Do not edit: the operator overwrites changes.\n"
    )
    body = yaml.dump(
        executor_config(pipeline, accounts).model_dump(mode="json", by_alias=True),
        Dumper=YAML_DUMPER,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    return header + body


def build_config_map(pipeline: ExecutionPipeline, config_yaml: str) -> Manifest:
    """The ConfigMap ``<pipeline>-executor-config`` holding the rendered config."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(pipeline, config_map_name(pipeline)),
        "data": {CONFIG_KEY: config_yaml},
    }
