"""Alert rules the chart ships: files/executor-rules.yaml, and the PromQL inline in the
PrometheusRule templates (the operator's rules and the opt-in no-signals rule)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.unit.monitoring.promql import balanced, known_metrics, references
from tests.unit.monitoring.sources import CHART, TEMPLATES, file_rules, template_exprs

RULES = file_rules()
EXPRS = [(rule["alert"], rule["expr"]) for rule in RULES] + template_exprs()


def test_the_alerts_the_issue_asks_for() -> None:
    names = {rule["alert"] for rule in RULES}
    assert {"FksCircuitOpen", "FksWebhookRejectionsSpike", "FksWebhookSignatureFailures"} <= names
    assert "FksExecutorDown" in names
    templates = {name: (TEMPLATES / name).read_text() for name in ("prometheusrule.yaml",)}
    assert "FksOperatorReconcileErrors" in templates["prometheusrule.yaml"]
    assert "FksNoSignals" in (TEMPLATES / "executor-prometheusrule.yaml").read_text()


@pytest.mark.parametrize("rule", RULES, ids=[rule["alert"] for rule in RULES])
def test_rule_shape(rule: dict[str, Any]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
    assert rule["alert"].startswith("Fks")
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["description"]


@pytest.mark.parametrize(("where", "expr"), EXPRS, ids=[where for where, _ in EXPRS])
def test_expression_uses_metrics_and_labels_from_the_code(where: str, expr: str) -> None:
    known = known_metrics()
    refs = references(expr)
    assert balanced(expr), expr
    assert refs.metrics, f"{where}: no metric in {expr}"
    assert refs.metrics <= known.series, f"{where}: unknown {refs.metrics - known.series}"
    assert refs.labels <= known.labels, f"{where}: unknown labels {refs.labels - known.labels}"
    assert not refs.unknown, f"{where}: unknown names {refs.unknown}"


def test_annotations_only_use_labels_the_expression_keeps() -> None:
    """``{{ $labels.x }}`` must be a label of the alert's series (kept by its ``by (...)``)."""
    import re

    for rule in RULES:
        used = set(re.findall(r"\$labels\.(\w+)", yaml.safe_dump(rule["annotations"])))
        expr = rule["expr"]
        outer = re.search(r"\b(?:by|on)\s*\(([^)]*)\)", expr)
        if expr.lstrip().startswith("(up") or outer is None:
            continue  # the raw up series keeps every target label
        kept = {name.strip() for name in outer.group(1).split(",")}
        assert used <= kept, f"{rule['alert']}: {used - kept} not kept by the expression"


def _values() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return data


def test_monitoring_values() -> None:
    """The switches the templates read exist; the no-signals alert is opt-in."""
    monitoring = _values()["monitoring"]
    assert monitoring["prometheusRule"]["enabled"] is True
    assert monitoring["grafanaDashboard"]["enabled"] is True
    quiet = monitoring["prometheusRule"]["noSignals"]
    assert quiet == {"enabled": False, "window": "24h", "pipelines": ".+"}


@pytest.mark.parametrize(
    "template", ["executor-prometheusrule.yaml", "grafana-dashboard-configmap.yaml"]
)
def test_templates_read_only_values_that_exist(template: str) -> None:
    import re

    text = (TEMPLATES / template).read_text()
    values = _values()
    paths = set(re.findall(r"\.Values\.([\w.]+)", text))
    aliases = dict(re.findall(r"\$(\w+) := \.Values\.([\w.]+)", text))
    for alias, base in aliases.items():
        paths |= {f"{base}.{rest}" for rest in re.findall(rf"\${alias}\.([\w.]+)", text)}
    assert paths
    for path in paths:
        node: Any = values
        for part in path.split("."):
            assert isinstance(node, dict), f"{template}: .Values.{path}"
            assert part in node, f"{template}: .Values.{path}"
            node = node[part]


def test_templates_are_switched_by_the_monitoring_values() -> None:
    rule = (TEMPLATES / "executor-prometheusrule.yaml").read_text()
    board = (TEMPLATES / "grafana-dashboard-configmap.yaml").read_text()
    assert ".Values.monitoring.prometheusRule.enabled" in rule
    assert ".Values.monitoring.grafanaDashboard.enabled" in board
    assert '.Files.Get "files/executor-rules.yaml"' in rule
    assert '.Files.Get "files/grafana-dashboard.json"' in board
