"""The vocabulary of the contract: the base of every contract model, the enumerations and the
constrained types, defined once and imported by the executor's config, its alerts and the
operator's custom resources (docs/crds.md, docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue

__all__ = [
    "AuthMode",
    "ContractModel",
    "CrdSchema",
    "EnvName",
    "Environment",
    "ExchangeId",
    "Fraction",
    "MarketType",
    "Mode",
    "NonNegative",
    "Positive",
    "SizingMethod",
    "StateBackend",
]

AuthMode = Literal["hmac", "token", "hmac-or-token"]
Environment = Literal["testnet", "live"]
MarketType = Literal["spot", "future", "swap", "margin"]
SizingMethod = Literal["risk", "fixed-percent", "fixed-notional", "volatility"]
StateBackend = Literal["memory", "redis"]
Mode = Literal["dry-run", "testnet", "live", "suspended"]
"""The effective mode of a pipeline (the executor's ``mode``, the CR's ``status.mode``)."""

# Shorthands for the numeric ranges the contract states.
Fraction = Annotated[float, Field(gt=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
EnvName = Annotated[str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$", max_length=253)]
ExchangeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
"""A ccxt exchange id (checked against ccxt by the operator and the exchange layer)."""


class ContractModel(BaseModel):
    """camelCase keys, unknown keys rejected, no type coercion ("1" is not a number), frozen;
    a field's docstring is its description (in ``kubectl explain`` for the CRD's fields).

    Lists are tuples declared ``Field(strict=False)`` (strict mode takes only tuples). The
    operator validates API objects with ``extra="ignore"``: a newer CRD must not stop it."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
    )


class CrdSchema:
    """Schema the CRD carries for a field beyond what Python checks: a Kubernetes extension
    (``x-kubernetes-*``, ``format``), a bound only the API server enforces (the executor's own
    config may go past it, e.g. the benchmarks' rate limit), or a whole schema (``replace``) for
    a value the operator passes through as is. ``Annotated[int, CrdSchema(maximum=100000)]``."""

    def __init__(self, replace: Callable[[], dict[str, Any]] | None = None, **keys: Any) -> None:
        self.replace = replace
        self.keys = keys

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = self.replace() if self.replace else handler(core_schema)
        schema.update(self.keys)
        return schema
