"""Pydantic model -> Kubernetes structural OpenAPI v3 schema (what ``make generate`` writes into
``crds/``), as kubebuilder's controller-gen does from Go types.

pydantic's own JSON schema is the start; this module turns it into what the API server takes:
``$ref`` inlined (a field's own keys win over its type's), ``X | None`` made an optional ``X``,
JSON Schema 2020 ``exclusiveMinimum: 0`` made OpenAPI's ``minimum: 0, exclusiveMinimum: true``,
a ``default_factory`` made ``default: {}`` / ``[]`` (the API server fills the nested defaults),
titles and ``additionalProperties: false`` dropped (the API server prunes unknown fields), and
every scalar default stated in the description (``kubectl explain`` does not show defaults).
Keys come out in one fixed order, so the files are byte-for-byte reproducible.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, NoDefault

__all__ = ["structural_schema"]

Schema = dict[str, Any]

_ORDER = (
    "type",
    "format",
    "description",
    "required",
    "minItems",
    "maxItems",
    "maxProperties",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "pattern",
    "enum",
    "default",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
    "additionalProperties",
    "items",
    "properties",
)


class _Generator(GenerateJsonSchema):
    def get_default_value(self, schema: Any) -> Any:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = factory()
        # A nested object defaults to {} and the API server fills in its own defaults.
        return {} if isinstance(value, BaseModel) else value

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def structural_schema(model: type[BaseModel]) -> Schema:
    """The CRD schema of ``model`` (validation mode, keys by alias)."""
    raw: JsonSchemaValue = model.model_json_schema(
        by_alias=True, mode="validation", schema_generator=_Generator
    )
    defs = raw.pop("$defs", {})
    return _convert(raw, defs)


def _convert(node: Schema, defs: dict[str, Schema]) -> Schema:
    node = _unwrap(node, defs)
    if "anyOf" in node:
        node["anyOf"] = [_convert(member, defs) for member in node["anyOf"]]
    node.pop("title", None)
    if node.get("default", NoDefault) is None:
        del node["default"]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "enum" in node and "type" not in node:
        node["type"] = "string"
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if not isinstance(node.get(key, True), bool):
            node[bound] = node[key]
            node[key] = True
    if isinstance(node.get("default"), tuple):
        node["default"] = list(node["default"])
    extra = node.get("additionalProperties")
    if isinstance(extra, bool):
        del node["additionalProperties"]
    elif isinstance(extra, dict):
        node["additionalProperties"] = _convert(extra, defs)
    if isinstance(node.get("items"), dict):
        node["items"] = _convert(node["items"], defs)
    if "properties" in node:
        node["properties"] = {k: _convert(v, defs) for k, v in node["properties"].items()}
    _state_default(node)
    return _ordered(node)


def _unwrap(node: Schema, defs: dict[str, Schema]) -> Schema:
    """``node`` with its ``$ref`` inlined and ``X | None`` made ``X``; the node's own keys (a
    field's description, default, CRD extensions) win over its type's."""
    node = dict(node)
    while True:
        if "$ref" in node:
            target = defs[node.pop("$ref").rsplit("/", 1)[1]]
            node = {**target, **node}
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = {**node.pop("allOf")[0], **node}
        elif "anyOf" in node and {"type": "null"} in node["anyOf"]:
            members = [m for m in node.pop("anyOf") if m != {"type": "null"}]
            node = {**members[0], **node} if len(members) == 1 else {"anyOf": members, **node}
        else:
            return node


def _state_default(node: Schema) -> None:
    """``kubectl explain`` shows descriptions, not defaults: a scalar default is stated."""
    default = node.get("default")
    if default is None or default == "" or isinstance(default, dict | list):
        return
    if isinstance(default, bool):
        text = str(default).lower()
    elif isinstance(default, float):
        text = f"{default:g}"
    else:
        text = str(default)
    description = node.get("description", "").rstrip()
    node["description"] = f"{description} Default: {text}.".lstrip()


def _ordered(node: Schema) -> Schema:
    unknown = set(node) - set(_ORDER)
    if unknown:
        raise ValueError(f"schema keys the generator does not know: {sorted(unknown)}")
    return {key: node[key] for key in _ORDER if key in node}
