"""ExchangeAccount readiness, as pure functions of the spec, its Secret and the ccxt catalog.

The operator does not import ccxt (its image does not carry it): :func:`ccxt_catalog` reads
``ccxt_catalog.json``, ccxt's exchange ids and those with a sandbox, generated from the ccxt the
executor pins by ``hack/ccxt_catalog.py`` and checked against it by
tests/unit/operator/test_ccxt_catalog.py. Tests pass their own :class:`StaticCatalog`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fks_operator.conditions import AccountReason, Condition, ConditionType
from fks_operator.specs import ExchangeAccountSpec

SecretData = Mapping[str, str]
"""A Secret's ``data`` (key -> base64 value), as read from the API."""


class ExchangeCatalog(Protocol):
    """What the operator needs to know about exchanges."""

    def is_known(self, exchange: str) -> bool:
        """Whether ccxt has this exchange id."""
        ...

    def has_sandbox(self, exchange: str) -> bool:
        """Whether ccxt has testnet (sandbox) URLs for this exchange."""
        ...


@dataclass(frozen=True)
class StaticCatalog:
    """A fixed catalog: the exchange ids, and those with a sandbox."""

    exchanges: frozenset[str]
    sandboxes: frozenset[str]

    def is_known(self, exchange: str) -> bool:
        return exchange in self.exchanges

    def has_sandbox(self, exchange: str) -> bool:
        return exchange in self.sandboxes


CATALOG_PATH = Path(__file__).with_name("ccxt_catalog.json")


def ccxt_catalog(path: Path = CATALOG_PATH) -> StaticCatalog:
    """The catalog of the ccxt the executor image carries."""
    data = json.loads(path.read_text())
    return StaticCatalog(frozenset(data["exchanges"]), frozenset(data["sandboxes"]))


@dataclass(frozen=True, slots=True)
class AccountReadiness:
    """The verdict on one ExchangeAccount."""

    ready: bool
    reason: str
    message: str

    @property
    def dry_run_only(self) -> bool:
        """Ready, but without credentials: only dry-run pipelines may use the account."""
        return self.ready and self.reason == AccountReason.NO_CREDENTIALS

    def condition(self, generation: int) -> Condition:
        """The account's ``Ready`` condition."""
        make = Condition.true if self.ready else Condition.false
        return make(ConditionType.READY, self.reason, self.message, generation)


def missing_keys(secret: SecretData | None, keys: list[str]) -> list[str]:
    """The ``keys`` absent from (or empty in) ``secret``, in order."""
    data = secret or {}
    return [key for key in keys if not data.get(key)]


def evaluate_account(
    spec: ExchangeAccountSpec, secret: SecretData | None, catalog: ExchangeCatalog
) -> AccountReadiness:
    """Whether an account can be used, and why not.

    ``secret`` is the ``data`` of the Secret named by ``credentialsSecretRef`` (None when it does
    not exist or there is no reference). Checks, first failure wins: the exchange is known to ccxt;
    testnet has a sandbox (an ``endpoint`` override does not lift this: the executor turns on
    ccxt's sandbox mode for every testnet account); live is acknowledged; the Secret exists; it
    has every key.
    """
    if not catalog.is_known(spec.exchange):
        return AccountReadiness(
            False,
            AccountReason.EXCHANGE_UNSUPPORTED,
            f"exchange {spec.exchange!r} is not a ccxt exchange id",
        )
    if spec.environment == "testnet" and not catalog.has_sandbox(spec.exchange):
        return AccountReadiness(
            False,
            AccountReason.SANDBOX_UNSUPPORTED,
            f"exchange {spec.exchange!r} has no testnet (sandbox) in ccxt; use an exchange "
            "that has one, or environment: live without credentials for dry-run pipelines",
        )
    if spec.environment == "live" and not spec.acknowledge_live_trading:
        return AccountReadiness(
            False,
            AccountReason.LIVE_NOT_ACKNOWLEDGED,
            "environment: live requires acknowledgeLiveTrading: true",
        )
    ref = spec.credentials_secret_ref
    if ref is None:
        return AccountReadiness(
            True,
            AccountReason.NO_CREDENTIALS,
            "no credentialsSecretRef: only dry-run pipelines can use this account",
        )
    if secret is None:
        return AccountReadiness(
            False, AccountReason.SECRET_MISSING, f"Secret {ref.name!r} not found"
        )
    keys = [ref.api_key_key, ref.secret_key]
    if ref.password_key:
        keys.append(ref.password_key)
    absent = missing_keys(secret, keys)
    if absent:
        listed = ", ".join(repr(key) for key in absent)
        return AccountReadiness(
            False,
            AccountReason.KEY_MISSING,
            f"Secret {ref.name!r} has no (or an empty) {listed}",
        )
    return AccountReadiness(
        True,
        AccountReason.CREDENTIALS_FOUND,
        f"{spec.environment} account on {spec.exchange} ({spec.market_type}); "
        f"credentials in Secret {ref.name!r}",
    )


def went_live(old: ExchangeAccountSpec | None, new: ExchangeAccountSpec) -> bool:
    """Whether an update switches the account to live (created live counts too)."""
    return new.environment == "live" and (old is None or old.environment != "live")
