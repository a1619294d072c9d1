"""The CRDs in crds/: names, columns, status, descriptions, CEL budget hygiene, and defaults that
agree with the operator's typed models. (CEL rules themselves run on a real API server in the
integration tests.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from fks_operator.specs import parse_account, parse_pipeline
from tests.unit.operator import crdschema
from tests.unit.operator.conftest import account_obj, pipeline_obj
from tests.unit.operator.variants import VARIANTS, Variant

KINDS = ["ExchangeAccount", "ExecutionPipeline"]


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, prop in (node.get("properties") or {}).items():
        yield from walk(prop, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", KINDS)
def test_names_group_and_version(kind: str) -> None:
    crd = crdschema.crd(kind)
    spec = crd["spec"]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert spec["group"] == "execution.fks.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == kind
    assert crd["metadata"]["name"] == f"{spec['names']['plural']}.execution.fks.io"
    assert spec["names"]["categories"] == ["fks"]
    assert (
        spec["names"]["shortNames"]
        == {"ExchangeAccount": ["exa"], "ExecutionPipeline": ["exp"]}[kind]
    )
    [version] = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["served"] is True
    assert version["storage"] is True
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize(
    ("kind", "columns", "wide"),
    [
        (
            "ExchangeAccount",
            ["Exchange", "Environment", "Market", "Ready", "Age"],
            ["Reason", "Message"],
        ),
        (
            "ExecutionPipeline",
            ["Mode", "Ready", "Replicas", "Age"],
            ["Webhook URL", "Public URL", "Message"],
        ),
    ],
)
def test_printer_columns(kind: str, columns: list[str], wide: list[str]) -> None:
    printed = crdschema.crd(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in printed if not c.get("priority")] == columns
    assert [c["name"] for c in printed if c.get("priority") == 1] == wide
    ready = next(c for c in printed if c["name"] == "Ready")
    assert ready["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'


def test_pipeline_replicas_column_reads_ready_replicas() -> None:
    printed = crdschema.crd("ExecutionPipeline")["spec"]["versions"][0]["additionalPrinterColumns"]
    replicas = next(c for c in printed if c["name"] == "Replicas")
    assert replicas["jsonPath"] == ".status.readyReplicas"


@pytest.mark.parametrize("kind", KINDS)
def test_every_field_is_described_for_kubectl_explain(kind: str) -> None:
    schema = crdschema.schema(kind)
    undocumented = [
        path
        for path, node in walk(schema)
        if path
        and not path.endswith(("{}", "[]"))
        and path not in (".metadata",)
        and not node.get("description")
    ]
    assert undocumented == []


@pytest.mark.parametrize("kind", KINDS)
def test_descriptions_state_scalar_defaults(kind: str) -> None:
    """kubectl explain shows descriptions but not defaults, so the descriptions say them."""
    for path, node in walk(crdschema.schema(kind)):
        default = node.get("default")
        if default is None or default == "" or isinstance(default, dict | list):
            continue
        description = node["description"]
        assert "default" in description.lower(), f"{path}: default {default!r} not described"


@pytest.mark.parametrize("kind", KINDS)
def test_conditions_are_a_list_map_keyed_by_type(kind: str) -> None:
    conditions = crdschema.schema(kind)["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["required"] == [
        "type",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    ]


def test_both_crds_share_one_condition_schema() -> None:
    a, b = (
        crdschema.schema(kind)["properties"]["status"]["properties"]["conditions"]["items"]
        for kind in KINDS
    )
    assert a == b


@pytest.mark.parametrize("kind", KINDS)
def test_cel_rules_have_messages_and_bounded_inputs(kind: str) -> None:
    rules = 0
    for path, node in walk(crdschema.schema(kind)):
        for rule in node.get("x-kubernetes-validations", []):
            rules += 1
            assert rule.get("message"), f"{path}: rule without message"
            if "self.all(" in rule["rule"] or "exists_one" in rule["rule"]:
                assert "maxItems" in node, f"{path}: list rule without maxItems"
                for sub, item in walk(node["items"]):
                    if item.get("type") == "string":
                        assert "maxLength" in item, f"{path}{sub}: unbounded string in a rule"
    assert rules > 0


@pytest.mark.parametrize("kind", KINDS)
def test_rules_on_defaulted_objects_guard_every_field_with_has(kind: str) -> None:
    """The API server checks a schema default (e.g. ``state: {}``) against the node's CEL rules
    as is, without the nested defaults: a rule reading ``self.backend`` unguarded makes the whole
    CRD invalid. Found on a real API server; kept from coming back here."""
    for path, node in walk(crdschema.schema(kind)):
        if "default" not in node:
            continue
        for rule in node.get("x-kubernetes-validations", []):
            for field in set(re.findall(r"self\.(\w+)", rule["rule"])):
                assert f"has(self.{field})" in rule["rule"], f"{path}: unguarded self.{field}"


def test_rules_the_issue_asks_for_are_present() -> None:
    account = crdschema.schema("ExchangeAccount")["properties"]["spec"]
    assert account["properties"]["exchange"]["x-kubernetes-validations"][0]["rule"] == (
        "self == oldSelf"
    )
    assert "acknowledgeLiveTrading" in account["x-kubernetes-validations"][0]["rule"]
    pipeline = crdschema.schema("ExecutionPipeline")["properties"]["spec"]
    rules = [r["rule"] for r in pipeline["x-kubernetes-validations"]]
    assert any("redis" in r and "replicas" in r and "autoscaling" in r for r in rules)
    accounts = [r["rule"] for r in pipeline["properties"]["accounts"]["x-kubernetes-validations"]]
    assert any("a.default" in r for r in accounts)
    assert any("b.name == a.name" in r for r in accounts)
    autoscaling = pipeline["properties"]["autoscaling"]["x-kubernetes-validations"][0]["rule"]
    assert autoscaling.endswith("self.minReplicas <= self.maxReplicas")
    sizing = pipeline["properties"]["risk"]["properties"]["sizing"]["properties"]
    for name in ("riskPerTrade", "percent"):
        assert (
            sizing[name]["minimum"],
            sizing[name]["exclusiveMinimum"],
            sizing[name]["maximum"],
        ) == (
            0,
            True,
            1,
        )
    for name in ("notionalUSD", "atrMultiplier"):
        assert (sizing[name]["minimum"], sizing[name]["exclusiveMinimum"]) == (0, True)
    assert sizing["method"]["enum"] == ["risk", "fixed-percent", "fixed-notional", "volatility"]
    assert pipeline["required"] == ["accounts", "webhook"]
    assert pipeline["properties"]["webhook"]["required"] == ["secretRef"]


def test_crd_defaults_agree_with_the_typed_models() -> None:
    """A minimal object defaulted by the CRD schema parses to the same model as without."""
    for kind, obj, parse in (
        ("ExchangeAccount", account_obj(), parse_account),
        (
            "ExchangeAccount",
            {"metadata": {"name": "a", "namespace": "t"}, "spec": {"exchange": "binance"}},
            parse_account,
        ),
        ("ExecutionPipeline", pipeline_obj(), parse_pipeline),
        (
            "ExecutionPipeline",
            pipeline_obj(state={"backend": "redis", "redisSecretRef": {"name": "r"}}),
            parse_pipeline,
        ),
    ):
        defaulted = crdschema.check(kind, obj)
        assert defaulted != obj
        assert parse(defaulted) == parse(obj)


def test_structural_checker_catches_bad_objects() -> None:
    """The schema checker used on examples and variants is not vacuous."""
    node = crdschema.schema("ExecutionPipeline")
    bad = pipeline_obj(replicas=-1, risk={"sizing": {"riskPerTrade": 0, "method": "x"}}, typo=1)
    errors = crdschema.validate(node, crdschema.apply_defaults(node, bad))
    joined = "\n".join(errors)
    assert "spec.replicas: below the minimum 0" in joined
    assert "spec.risk.sizing.riskPerTrade: below the minimum 0" in joined
    assert "spec.risk.sizing.method: must be one of" in joined
    assert "spec.typo: unknown field" in joined


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_every_variant_is_valid_and_defaults_the_same_way(variant: Variant) -> None:
    """The builder inputs (exposure and network policy included) are objects a user can apply,
    and the CRD's defaults for them are the typed models' defaults."""
    defaulted = crdschema.check("ExecutionPipeline", variant.pipeline)
    assert parse_pipeline(defaulted) == variant.parsed_pipeline()
    spec = defaulted["spec"]
    assert spec["networkPolicy"]["enabled"] is True
    given = variant.pipeline["spec"]["webhook"].get("expose", {}).get("ingress", {}).get("tls", {})
    tls = spec["webhook"]["expose"]["ingress"]["tls"]
    assert tls == {"secretName": "", "clusterIssuer": "", **given}
