"""The two CustomResourceDefinitions, generated from the models (``make generate`` writes them
into ``crds/``; tests/unit/operator/test_crds_generated.py proves the files are this output).

What the models cannot say is here: names, printer columns, the status subresource, the root
rules. See docs/crds.md ("Adding a field") for how a field is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from fks_operator.api.account import ExchangeAccount, ExchangeAccountSpec, ExchangeAccountStatus
from fks_operator.api.common import GROUP, VERSION
from fks_operator.api.pipeline import (
    NAME_RULE,
    ExecutionPipeline,
    ExecutionPipelineSpec,
    ExecutionPipelineStatus,
)
from fks_operator.api.schema import structural_schema

__all__ = ["CRDS", "CrdDefinition", "crd_manifest", "render_crd"]

_READY = '.status.conditions[?(@.type=="Ready")]'


@dataclass(frozen=True)
class CrdDefinition:
    kind: str
    short_name: str
    summary: str
    """The file's header comment: what the kind is."""
    resource: type[BaseModel]
    """The whole object (its docstring is the schema's description)."""
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[dict[str, Any], ...]
    root_rules: tuple[dict[str, str], ...] = ()

    @property
    def plural(self) -> str:
        return f"{self.kind.lower()}s"

    @property
    def file_name(self) -> str:
        return f"{GROUP}_{self.plural}.yaml"


def _column(name: str, kind: str, path: str, description: str = "", wide: bool = False) -> Any:
    column: dict[str, Any] = {"name": name, "type": kind}
    if wide:
        column["priority"] = 1
    if description:
        column["description"] = description
    column["jsonPath"] = path
    return column


_AGE = _column("Age", "date", ".metadata.creationTimestamp")
_MESSAGE = _column(
    "Message", "string", f"{_READY}.message", "Details on the Ready condition.", wide=True
)

CRDS = (
    CrdDefinition(
        kind="ExchangeAccount",
        short_name="exa",
        summary="one set of exchange credentials on one ccxt exchange (testnet or live).",
        resource=ExchangeAccount,
        spec=ExchangeAccountSpec,
        status=ExchangeAccountStatus,
        columns=(
            _column("Exchange", "string", ".spec.exchange", "The ccxt exchange id."),
            _column(
                "Environment",
                "string",
                ".spec.environment",
                "testnet (the exchange's sandbox) or live (real money).",
            ),
            _column(
                "Market", "string", ".spec.marketType", "The market type orders are placed on."
            ),
            _column(
                "Ready",
                "string",
                f"{_READY}.status",
                "Whether the account's exchange and credentials check out.",
            ),
            _AGE,
            _column(
                "Reason", "string", f"{_READY}.reason", "Why the account is (not) ready.", True
            ),
            _MESSAGE,
        ),
    ),
    CrdDefinition(
        kind="ExecutionPipeline",
        short_name="exp",
        summary="one webhook endpoint that turns trading alerts into orders on one or more "
        "ExchangeAccounts.",
        resource=ExecutionPipeline,
        spec=ExecutionPipelineSpec,
        status=ExecutionPipelineStatus,
        columns=(
            _column(
                "Mode",
                "string",
                ".status.mode",
                "The effective mode: dry-run, testnet, live or suspended.",
            ),
            _column(
                "Ready",
                "string",
                f"{_READY}.status",
                "Whether the executors are running and ready with the current spec.",
            ),
            _column(
                "Replicas", "integer", ".status.readyReplicas", "Executor pods that are ready."
            ),
            _AGE,
            _column(
                "Webhook URL",
                "string",
                ".status.webhookURL",
                "The in-cluster URL alerts are posted to.",
                wide=True,
            ),
            _column(
                "Public URL",
                "string",
                ".status.publicURL",
                "The URL TradingView posts to (spec.webhook.expose).",
                wide=True,
            ),
            _MESSAGE,
        ),
        root_rules=(NAME_RULE,),
    ),
)


def _root_schema(crd: CrdDefinition) -> dict[str, Any]:
    root: dict[str, Any] = {
        "type": "object",
        "description": " ".join((crd.resource.__doc__ or "").split()),
        "required": ["spec"],
    }
    if crd.root_rules:
        root["x-kubernetes-validations"] = list(crd.root_rules)
    root["properties"] = {
        "apiVersion": {
            "type": "string",
            "description": "APIVersion defines the versioned schema of this representation of "
            "an object.",
        },
        "kind": {
            "type": "string",
            "description": "Kind is a string value representing the REST resource this object "
            "represents.",
        },
        "metadata": {"type": "object"},
        "spec": structural_schema(crd.spec),
        "status": structural_schema(crd.status),
    }
    return root


def crd_manifest(crd: CrdDefinition) -> dict[str, Any]:
    """The CustomResourceDefinition object."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{crd.plural}.{GROUP}",
            "labels": {
                "app.kubernetes.io/name": "fks-operator",
                "app.kubernetes.io/part-of": "fks",
            },
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": crd.kind,
                "listKind": f"{crd.kind}List",
                "plural": crd.plural,
                "singular": crd.kind.lower(),
                "shortNames": [crd.short_name],
                "categories": ["fks"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": list(crd.columns),
                    "schema": {"openAPIV3Schema": _root_schema(crd)},
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    """Block style; long text folded (``>-``) at 100 columns so the files stay readable."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if len(value) > 80 and "\n" not in value and value == value.strip() and "  " not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _text)


def render_crd(crd: CrdDefinition) -> str:
    """The file ``crds/<group>_<plural>.yaml``, byte for byte."""
    header = (
        f"# {crd.kind}: {crd.summary}\n"
        "# GENERATED by `make generate` from operator/fks_operator/api/ (the models) - do not "
        "edit.\n"
        "# The chart and the tests use this file as is. Field reference: docs/crds.md.\n"
    )
    body = yaml.dump(
        crd_manifest(crd), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True
    )
    return header + body
