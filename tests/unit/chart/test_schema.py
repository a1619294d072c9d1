"""values.schema.json refuses bad values before anything reaches the cluster, naming the key."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.unit.chart.helm import CHART, render_raw

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("two replicas", {"replicaCount": 2}, "/replicaCount"),
    ("unknown top-level key", {"replicas": 1}, "additional properties 'replicas' not allowed"),
    ("unknown nested key", {"crds": {"install": True}}, "additional properties 'install'"),
    ("typo in monitoring", {"monitoring": {"serviceMonitors": {}}}, "'serviceMonitors'"),
    ("latest tag", {"image": {"tag": "latest"}}, "/image/tag"),
    ("tag with a slash", {"executorImage": {"tag": "a/b"}}, "/executorImage/tag"),
    ("short digest", {"image": {"digest": "sha256:abc"}}, "/image/digest"),
    (
        "tag in the repository",
        {"executorImage": {"repository": "fks-executor:1.0"}},
        "/executorImage/repository",
    ),
    ("pull policy", {"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ("namespace name", {"watchNamespaces": ["Trading"]}, "/watchNamespaces/0"),
    ("duplicate namespace", {"watchNamespaces": ["a", "a"]}, "/watchNamespaces"),
    ("boolean as string", {"crds": {"keep": "yes"}}, "/crds/keep"),
    ("log level", {"operator": {"logLevel": "verbose"}}, "/operator/logLevel"),
    ("privileged port", {"operator": {"metricsPort": 80}}, "/operator/metricsPort"),
    ("executor as root", {"executor": {"runAsUser": 0}}, "/executor/runAsUser"),
    ("executor resources key", {"executor": {"resources": {"request": {}}}}, "'request'"),
    (
        "scrape interval",
        {"monitoring": {"serviceMonitor": {"interval": "30"}}},
        "/monitoring/serviceMonitor/interval",
    ),
    ("node selector value", {"nodeSelector": {"zone": 1}}, "/nodeSelector/zone"),
]


@pytest.mark.parametrize(("case", "values", "message"), BAD, ids=[b[0] for b in BAD])
def test_schema_refuses(case: str, values: dict[str, Any], message: str) -> None:
    result = render_raw(values)
    assert result.returncode != 0, f"{case}: accepted"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    "values",
    [
        {
            "image": {
                "repository": "registry.example.com:5000/team/fks-operator",
                "tag": "0.1.0-rc.1",
            }
        },
        {"executorImage": {"digest": "sha256:" + "0" * 64}},
        {"watchNamespaces": ["trading", "trading-2"]},
        {"executor": {"resources": {"requests": {"cpu": 0.5, "memory": "256Mi"}}}},
        {"global": {"imageRegistry": "x"}},
    ],
)
def test_schema_accepts(values: dict[str, Any]) -> None:
    result = render_raw(values)
    assert result.returncode == 0, result.stderr


def test_every_default_value_is_described_by_the_schema() -> None:
    """The schema is strict (additionalProperties false) all the way down the defaults."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(values: dict[str, Any], node: dict[str, Any], path: str) -> None:
        node = resolve(node)
        if node.get("type") != "object" or "properties" not in node:
            return
        assert node.get("additionalProperties") is False, f"{path or '/'} is not strict"
        for key, value in values.items():
            assert key in node["properties"], f"{path}/{key} is not in the schema"
            if isinstance(value, dict):
                walk(value, node["properties"][key], f"{path}/{key}")

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if ref:
            return resolve(schema["definitions"][ref.rsplit("/", 1)[1]])
        return node

    walk(defaults, schema, "")
