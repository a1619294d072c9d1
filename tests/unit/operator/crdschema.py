"""A small structural-schema checker for the CRDs in crds/: defaulting and validation as the API
server does them, minus CEL (the integration tests run the CEL rules on a real API server).

Enough to prove that examples and builder inputs are valid objects, and that the typed models'
defaults agree with the CRDs' defaults.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
CRD_DIR = ROOT / "crds"
CRD_FILES = {
    "ExchangeAccount": CRD_DIR / "execution.fks.io_exchangeaccounts.yaml",
    "ExecutionPipeline": CRD_DIR / "execution.fks.io_executionpipelines.yaml",
}


@cache
def crd(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CRD_FILES[kind].read_text())
    return loaded


def schema(kind: str) -> dict[str, Any]:
    version = crd(kind)["spec"]["versions"][0]
    result: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return result


def apply_defaults(node: dict[str, Any], value: Any) -> Any:
    """``value`` with the schema's defaults filled in (recursively, like the API server)."""
    value = copy.deepcopy(value)
    _default(node, value)
    return value


def _default(node: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict) and node.get("type") == "object":
        for name, prop in (node.get("properties") or {}).items():
            if name not in value and "default" in prop:
                value[name] = copy.deepcopy(prop["default"])
            if name in value:
                _default(prop, value[name])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for item in value.values():
                _default(extra, item)
    elif isinstance(value, list) and "items" in node:
        for item in value:
            _default(node["items"], item)


def validate(node: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Every structural violation of ``value`` against ``node``, as "path: problem" lines."""
    errors: list[str] = []
    where = path or "(root)"
    if node.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            errors.append(f"{where}: must be an integer or a string")
        return errors
    kind = node.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    if kind is not None and not checks[kind](value):
        return [f"{where}: must be of type {kind}, got {type(value).__name__}"]
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{where}: must be one of {node['enum']}, got {value!r}")
    if isinstance(value, str):
        if "minLength" in node and len(value) < node["minLength"]:
            errors.append(f"{where}: shorter than {node['minLength']}")
        if "maxLength" in node and len(value) > node["maxLength"]:
            errors.append(f"{where}: longer than {node['maxLength']}")
        if "pattern" in node and not re.search(node["pattern"], value):
            errors.append(f"{where}: does not match {node['pattern']}")
    if kind in ("integer", "number"):
        if "minimum" in node:
            low = node["minimum"]
            if value < low or (node.get("exclusiveMinimum") and value == low):
                errors.append(f"{where}: below the minimum {low}")
        if "maximum" in node:
            high = node["maximum"]
            if value > high or (node.get("exclusiveMaximum") and value == high):
                errors.append(f"{where}: above the maximum {high}")
    if isinstance(value, list):
        if "minItems" in node and len(value) < node["minItems"]:
            errors.append(f"{where}: fewer than {node['minItems']} items")
        if "maxItems" in node and len(value) > node["maxItems"]:
            errors.append(f"{where}: more than {node['maxItems']} items")
        for index, item in enumerate(value):
            errors += validate(node.get("items", {}), item, f"{path}[{index}]")
    if isinstance(value, dict):
        if "maxProperties" in node and len(value) > node["maxProperties"]:
            errors.append(f"{where}: more than {node['maxProperties']} properties")
        for name in node.get("required", []):
            if name not in value:
                errors.append(f"{path + '.' if path else ''}{name}: required")
        props = node.get("properties")
        extra = node.get("additionalProperties")
        preserve = node.get("x-kubernetes-preserve-unknown-fields")
        for name, item in value.items():
            sub = f"{path}.{name}" if path else name
            if props is not None and name in props:
                errors += validate(props[name], item, sub)
            elif isinstance(extra, dict):
                errors += validate(extra, item, sub)
            elif not preserve and not (path == "" and name == "metadata") and props is not None:
                errors.append(f"{sub}: unknown field")
    return errors


def check(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` defaulted; AssertionError listing every violation when it is invalid."""
    node = schema(kind)
    defaulted = apply_defaults(node, obj)
    errors = validate(node, defaulted)
    assert not errors, f"{kind} {obj.get('metadata', {}).get('name')}: " + "; ".join(errors)
    result: dict[str, Any] = defaulted
    return result
