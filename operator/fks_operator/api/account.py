"""ExchangeAccount (execution.fks.io/v1alpha1): one set of exchange credentials on one ccxt
exchange, testnet or live. Its venue fields are the executor's own (``Venue``): the operator
copies them into the executor config as they are."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from fks_executor.config import Venue
from fks_executor.config.futures import FUTURES_RULE
from fks_executor.config.types import ContractModel, CrdSchema, ExchangeId
from fks_operator.api.common import (
    Condition,
    DataKey,
    Int64,
    ObjectMeta,
    cel,
    conditions,
    validations,
)

_LIVE = cel(
    "!has(self.environment) || self.environment != 'live' || "
    "(has(self.acknowledgeLiveTrading) && self.acknowledgeLiveTrading)",
    "environment: live places real orders with real money; set acknowledgeLiveTrading: true "
    "to confirm",
    ".acknowledgeLiveTrading",
)
_IMMUTABLE = cel(
    "self == oldSelf", "exchange is immutable; create a new ExchangeAccount for another exchange"
)


class CredentialsSecretRef(ContractModel):
    """The Secret (in the account's namespace) that holds the API credentials. Without it the
    account can only be used by dry-run pipelines. The operator never copies the values:
    executor pods read them through secretKeyRef, and a change of the Secret's data rolls the
    pods of every pipeline that uses the account."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the Secret."""
    api_key_key: DataKey = "apiKey"
    """Key in the Secret holding the API key."""
    secret_key: DataKey = "secret"  # noqa: S105 - the name of a key, not a secret
    """Key in the Secret holding the API secret."""
    password_key: DataKey | None = None
    """Key in the Secret holding the API password (passphrase), for exchanges that need one
    (e.g. okx, kucoin). Unset: no password."""


class ExchangeAccountSpec(Venue):
    """The exchange, environment and credentials of the account."""

    model_config = ConfigDict(json_schema_extra=validations(_LIVE, FUTURES_RULE))

    exchange: Annotated[ExchangeId, CrdSchema(**validations(_IMMUTABLE))]
    """The ccxt exchange id, e.g. binance, bybit, okx, kraken (lower case, as in
    ccxt.exchanges). Immutable: to move to another exchange, create another ExchangeAccount."""
    acknowledge_live_trading: bool = False
    """Must be true when environment is live: an explicit confirmation that this account trades
    real money."""
    credentials_secret_ref: CredentialsSecretRef | None = None

    @model_validator(mode="after")
    def _live_needs_acknowledgement(self) -> ExchangeAccountSpec:
        if self.environment == "live" and not self.acknowledge_live_trading:
            raise ValueError(_LIVE["message"])
        return self


class ExchangeAccountStatus(ContractModel):
    """The state the operator last observed. Written by the operator only."""

    observed_generation: Int64 | None = Field(None, ge=0)
    """The metadata.generation this status describes."""
    conditions: tuple[Condition, ...] | None = conditions(
        "Ready: True when the exchange is known to ccxt, the environment is supported and the "
        "credentials Secret has every key (reason CredentialsFound), or when there are no "
        "credentials (reason NoCredentials: dry-run only). False with reason "
        "ExchangeUnsupported, SandboxUnsupported, SecretMissing or KeyMissing."
    )


class ExchangeAccount(ContractModel):
    """ExchangeAccount is one set of exchange credentials on one ccxt exchange, either on the
    exchange's testnet (ccxt sandbox mode) or live. ExecutionPipelines in the same namespace
    place their orders through it. An account without credentials can only be used by dry-run
    pipelines."""

    metadata: ObjectMeta
    spec: ExchangeAccountSpec

    @property
    def name(self) -> str:
        return self.metadata.name
