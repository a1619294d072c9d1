"""Secrets are never in the config file, only the names of the environment variables that hold
them. ``resolve_secrets(config, environ)`` reads those variables (separately, so a rendered
ConfigMap can be validated without the Secrets) and raises ``ConfigError`` naming the variable
and the key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from fks_executor.config.loading import ConfigError
from fks_executor.config.model import ExecutorConfig

__all__ = ["AccountCredentials", "ResolvedSecrets", "resolve_secrets"]


@dataclass(frozen=True, slots=True)
class AccountCredentials:
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None

    @property
    def present(self) -> bool:
        return self.api_key is not None and self.secret is not None


@dataclass(frozen=True, slots=True)
class ResolvedSecrets:
    """Values read from the environment; ``repr`` never shows them (``SecretStr``)."""

    webhook_secret: SecretStr
    accounts: Mapping[str, AccountCredentials] = field(default_factory=dict)
    redis_url: SecretStr | None = None
    notifications: Mapping[str, SecretStr] = field(default_factory=dict)
    """Each notification's URL or bot token, by notification name."""


def resolve_secrets(
    config: ExecutorConfig, environ: Mapping[str, str] | None = None
) -> ResolvedSecrets:
    """Read every secret the config names; a named variable that is unset or empty is an error."""
    env = os.environ if environ is None else environ

    def need(var: str, key: str, what: str) -> SecretStr:
        value = env.get(var, "")
        if not value:
            raise ConfigError(f"{key}: environment variable {var} is not set ({what})")
        return SecretStr(value)

    webhook = need(config.webhook.secret_env, "webhook.secretEnv", "the webhook shared secret")
    accounts: dict[str, AccountCredentials] = {}
    for i, account in enumerate(config.accounts):
        where = f"accounts[{i}]"
        accounts[account.name] = AccountCredentials(
            api_key=(
                need(account.api_key_env, f"{where}.apiKeyEnv", f"API key of {account.name}")
                if account.api_key_env
                else None
            ),
            secret=(
                need(account.secret_env, f"{where}.secretEnv", f"API secret of {account.name}")
                if account.secret_env
                else None
            ),
            password=(
                need(account.password_env, f"{where}.passwordEnv", f"password of {account.name}")
                if account.password_env
                else None
            ),
        )
    redis_url = None
    if config.state.backend == "redis":
        redis_url = need(config.state.redis_url_env, "state.redisUrlEnv", "the Redis URL")
    notifications = {
        target.name: need(
            target.secret_env,
            f"notifications[{i}].secretEnv",
            f"the {'bot token' if target.type == 'telegram' else 'URL'} of notification "
            f"{target.name}",
        )
        for i, target in enumerate(config.notifications)
    }
    return ResolvedSecrets(
        webhook_secret=webhook,
        accounts=accounts,
        redis_url=redis_url,
        notifications=notifications,
    )
