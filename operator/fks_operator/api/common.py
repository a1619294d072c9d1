"""Pieces both custom resources use: object metadata, Secret references, conditions, CEL rules."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from fks_executor.config.types import ContractModel, CrdSchema
from fks_operator.conditions import ConditionStatus

GROUP = "execution.fks.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

#: A DNS subdomain (RFC 1123), the shape of most Kubernetes names.
DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#: A key of a Secret's data (the name of one value, not the value).
DataKey = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]

Int32 = Annotated[int, CrdSchema(format="int32")]
Int64 = Annotated[int, CrdSchema(format="int64")]


def cel(rule: str, message: str, field_path: str = "") -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry. The model that carries it checks the same in
    Python (a model validator), for objects stored before the rule existed."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """A model's ``json_schema_extra`` carrying CEL rules."""
    return {"x-kubernetes-validations": list(rules)}


class ObjectMeta(ContractModel):
    """The parts of ``metadata`` the operator uses (not part of the generated schema)."""

    name: str = Field(min_length=1)
    namespace: str = Field(default="default", min_length=1)
    uid: str = ""
    generation: int = 0
    labels: dict[str, str] = Field(default_factory=dict)


class SecretKeySelector(ContractModel):
    name: str = Field(min_length=1, max_length=253)
    """Name of the Secret in the pipeline's namespace."""
    key: DataKey


class WebhookSecretRef(SecretKeySelector):
    """The Secret key holding the shared webhook secret: the HMAC key (hmac) and/or the
    "passphrase" alerts carry in their body (token)."""

    key: DataKey = "secret"
    """Key in the Secret holding the webhook secret."""


class RedisSecretRef(SecretKeySelector):
    """The Secret key holding the Redis URL (redis://... or rediss://...). Required with
    backend redis."""

    key: DataKey = "url"
    """Key in the Secret holding the URL."""


class NotificationSecretRef(SecretKeySelector):
    """The Secret key holding the webhook URL (slack, discord, webhook) or the bot token
    (telegram)."""

    key: DataKey = "url"
    """Key in the Secret holding the URL or token."""


class Condition(ContractModel):
    """A metav1.Condition."""

    type: str = Field(
        max_length=316,
        pattern=rf"^({DNS_SUBDOMAIN}/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    )
    """Type of the condition, e.g. Ready."""
    status: ConditionStatus
    """Status of the condition, one of True, False, Unknown."""
    observed_generation: Annotated[int | None, CrdSchema(format="int64")] = Field(None, ge=0)
    """The metadata.generation the condition was set for."""
    last_transition_time: Annotated[str, CrdSchema(format="date-time")]
    """When the status last changed."""
    reason: str = Field(
        min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
    )
    """A CamelCase reason for the condition's last transition."""
    message: str = Field(max_length=32768)
    """A human readable message with details about the transition."""


def conditions(description: str) -> Any:
    """The ``status.conditions`` field: a list map keyed by type."""
    return Field(
        None,
        max_length=16,
        description=description,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )
