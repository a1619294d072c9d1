"""Which Secret keys reach the executor pods, and the hash over every input.

:func:`secret_key_refs` is the one list both the Deployment's ``env`` and the inputs hash are
built from, so a key can't be wired without being hashed (or hashed without being wired).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from fks_operator.builders.config import (
    REDIS_URL_ENV,
    WEBHOOK_SECRET_ENV,
    account_env_names,
    credentials_wired,
    notification_env,
    pipeline_accounts,
)
from fks_operator.specs import ExchangeAccount, ExecutionPipeline

SecretData = Mapping[str, str]
"""A Secret's ``data`` (key -> base64 value), as read from the API."""


@dataclass(frozen=True, slots=True)
class SecretKeyRef:
    """One environment variable of the executor filled from one Secret key."""

    env: str
    secret: str
    key: str


def secret_key_refs(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> list[SecretKeyRef]:
    """Every Secret key the executor reads: the webhook secret, the Redis URL (backend redis),
    each notification's URL or bot token and, unless the pipeline is dry-run, each account's
    API key, secret and password."""
    spec = pipeline.spec
    refs = [
        SecretKeyRef(WEBHOOK_SECRET_ENV, spec.webhook.secret_ref.name, spec.webhook.secret_ref.key)
    ]
    if spec.state.backend == "redis" and spec.state.redis_secret_ref is not None:
        redis = spec.state.redis_secret_ref
        refs.append(SecretKeyRef(REDIS_URL_ENV, redis.name, redis.key))
    for target in spec.notifications:
        notify = target.secret_ref
        refs.append(SecretKeyRef(notification_env(target.name), notify.name, notify.key))
    if credentials_wired(pipeline):
        for account in pipeline_accounts(pipeline, accounts):
            ref = account.spec.credentials_secret_ref
            if ref is None:
                continue
            api_key_env, secret_env, password_env = account_env_names(account)
            refs.append(SecretKeyRef(api_key_env, ref.name, ref.api_key_key))
            refs.append(SecretKeyRef(secret_env, ref.name, ref.secret_key))
            if ref.password_key:
                refs.append(SecretKeyRef(password_env, ref.name, ref.password_key))
    return refs


def referenced_secrets(
    pipeline: ExecutionPipeline, accounts: Mapping[str, ExchangeAccount]
) -> list[str]:
    """Names of the Secrets the pipeline's pods read, sorted: what the operator must fetch (and
    watch) to compute the inputs hash."""
    return sorted({ref.secret for ref in secret_key_refs(pipeline, accounts)})


def inputs_hash(
    config_yaml: str,
    refs: list[SecretKeyRef],
    secrets: Mapping[str, SecretData | None],
) -> str:
    """SHA-256 (hex) over the rendered config and the value of every referenced Secret key.

    Only the referenced keys count, so an unrelated key added to a shared Secret does not roll the
    pods. A missing Secret or key hashes as absent. The values are only hashed, never stored; the
    hash is published (pod annotation, ``status.configHash``), so Secrets should hold
    high-entropy values, as API keys and generated webhook secrets do.
    """
    entries = []
    for ref in sorted(refs, key=lambda r: (r.env, r.secret, r.key)):
        data = secrets.get(ref.secret)
        value = None if data is None else data.get(ref.key)
        entries.append([ref.env, ref.secret, ref.key, value])
    canonical = json.dumps(
        {"config": config_yaml, "secrets": entries}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
