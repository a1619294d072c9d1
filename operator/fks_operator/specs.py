"""Typed views of the custom resources, parsed from the dicts the API server returns.

The models live in :mod:`fks_operator.api` (the CRDs in ``crds/`` are generated from them, so
they agree field for field, defaults included, and a spec parses the same whether or not the API
server has defaulted it). The CEL rules are checked again in Python, so the builders can rely on
them. Unknown fields are ignored: a newer CRD must not stop an older operator. Parse errors
become :class:`~fks_operator.errors.SpecError` naming the field path, in the words of
:mod:`fks_executor.validation` (the executor's config and alerts use the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fks_executor.validation import first_problem
from fks_operator.api.account import CredentialsSecretRef, ExchangeAccount, ExchangeAccountSpec
from fks_operator.api.common import (
    API_VERSION,
    GROUP,
    VERSION,
    ObjectMeta,
    RedisSecretRef,
    SecretKeySelector,
    WebhookSecretRef,
)
from fks_operator.api.exposure import Expose, GatewayExpose, IngressExpose, IngressTLS, ParentRef
from fks_operator.api.pipeline import AccountRef, ExecutionPipeline, ExecutionPipelineSpec, State
from fks_operator.api.pods import LabelSelector, LabelSelectorRequirement, NetworkPolicySpec
from fks_operator.errors import SpecError

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "AccountRef",
    "CredentialsSecretRef",
    "ExchangeAccount",
    "ExchangeAccountSpec",
    "ExecutionPipeline",
    "ExecutionPipelineSpec",
    "Expose",
    "GatewayExpose",
    "IngressExpose",
    "IngressTLS",
    "LabelSelector",
    "LabelSelectorRequirement",
    "NetworkPolicySpec",
    "ObjectMeta",
    "ParentRef",
    "RedisSecretRef",
    "SecretKeySelector",
    "State",
    "WebhookSecretRef",
    "parse_account",
    "parse_pipeline",
]

_M = TypeVar("_M", bound=BaseModel)


def _parse(model: type[_M], obj: Mapping[str, Any]) -> _M:
    try:
        return model.model_validate(obj, extra="ignore")
    except ValidationError as exc:
        problem = first_problem(exc)
        path = "" if problem.path == "(top level)" else problem.path
        raise SpecError(path, problem.message) from None


def parse_account(obj: Mapping[str, Any]) -> ExchangeAccount:
    """An ExchangeAccount from its API object (``metadata`` and ``spec``; ``status`` ignored)."""
    return _parse(ExchangeAccount, obj)


def parse_pipeline(obj: Mapping[str, Any]) -> ExecutionPipeline:
    """An ExecutionPipeline from its API object (``metadata`` and ``spec``; ``status`` ignored)."""
    return _parse(ExecutionPipeline, obj)
