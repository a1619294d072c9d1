"""The Grafana dashboard the chart ships (charts/fks-operator/files/grafana-dashboard.json)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.monitoring.promql import EXTERNAL_METRICS, balanced, known_metrics, references
from tests.unit.monitoring.sources import dashboard, dashboard_exprs, panels

BOARD = dashboard()
EXPRS = dashboard_exprs(BOARD)


def test_is_a_dashboard() -> None:
    assert BOARD["uid"]
    assert BOARD["title"]
    assert isinstance(BOARD["schemaVersion"], int)
    assert BOARD["schemaVersion"] >= 36
    assert "id" not in BOARD or BOARD["id"] is None  # an id would clash on import
    assert len([p for p in panels(BOARD) if p["type"] != "row"]) >= 15


def test_datasource_is_a_variable() -> None:
    """No hard-coded datasource uid: the dashboard works in any Grafana (sidecar or import)."""
    variables = {v["name"]: v for v in BOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(BOARD):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"


def test_filter_variables() -> None:
    variables = {v["name"]: v for v in BOARD["templating"]["list"]}
    for name in ("namespace", "pipeline", "account"):
        assert variables[name]["type"] == "query"
        assert variables[name]["includeAll"]
        assert variables[name]["multi"]
        assert variables[name]["allValue"] == ".+"


def test_panels_have_ids_titles_and_fit_the_grid() -> None:
    ids = [panel["id"] for panel in panels(BOARD)]
    assert len(ids) == len(set(ids))
    for panel in panels(BOARD):
        assert panel["title"]
        pos = panel["gridPos"]
        assert pos["x"] >= 0
        assert pos["x"] + pos["w"] <= 24
        assert pos["h"] > 0
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert panel.get("description"), f"{panel['title']}: say what it shows"


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def test_panels_do_not_overlap() -> None:
    boxes = [(p["title"], p["gridPos"]) for p in panels(BOARD)]
    for index, (title, box) in enumerate(boxes):
        for other_title, other in boxes[index + 1 :]:
            assert not _overlap(box, other), f"{title!r} overlaps {other_title!r}"


@pytest.mark.parametrize(("where", "expr"), EXPRS, ids=[where for where, _ in EXPRS])
def test_expression_uses_metrics_and_labels_from_the_code(where: str, expr: str) -> None:
    known = known_metrics()
    refs = references(expr)
    assert balanced(expr), expr
    assert refs.metrics, f"{where}: no metric in {expr}"
    assert refs.metrics <= known.series, f"{where}: unknown {refs.metrics - known.series}"
    assert refs.labels <= known.labels, f"{where}: unknown labels {refs.labels - known.labels}"
    assert not refs.unknown, f"{where}: unknown names {refs.unknown}"


def _metrics_shown() -> set[str]:
    shown: set[str] = set()
    for _, expr in EXPRS:
        shown |= references(expr).metrics
    return shown


def test_every_metric_of_the_code_is_on_the_dashboard() -> None:
    """A new metric in code gets a panel (its histogram via _bucket)."""
    shown = _metrics_shown()
    for name in known_metrics().series:
        if name.endswith(("_sum", "_count")) or name in EXTERNAL_METRICS:
            continue
        assert name in shown, f"{name} has no panel"


@pytest.mark.parametrize(
    ("title", "metric"),
    [
        ("Alerts by status", "fks_webhook_requests_total"),
        ("Orders by result", "fks_order_executions_total"),
        ("Webhook latency", "fks_webhook_duration_seconds_bucket"),
        ("Order latency", "fks_order_duration_seconds_bucket"),
        ("Circuit breaker per account", "fks_circuit_breaker_state"),
        ("Rate-limit rejections", "fks_rate_limit_rejections_total"),
        ("Signature failures", "fks_webhook_signature_failures_total"),
        ("Signals in flight", "fks_signals_inflight"),
        ("Reconciles by kind and result", "fks_operator_reconcile_total"),
        ("Reconcile errors", "fks_operator_reconcile_total"),
        ("Reconcile duration", "fks_operator_reconcile_duration_seconds_bucket"),
    ],
)
def test_the_panels_users_look_for(title: str, metric: str) -> None:
    by_title: dict[str, Any] = {p["title"]: p for p in panels(BOARD)}
    panel = by_title[title]
    exprs = [target["expr"] for target in panel["targets"]]
    assert any(metric in references(expr).metrics for expr in exprs)


def test_latency_panels_are_quantiles_of_histograms() -> None:
    by_title = {p["title"]: p for p in panels(BOARD)}
    for title in ("Webhook latency", "Order latency", "Reconcile duration"):
        exprs = [t["expr"] for t in by_title[title]["targets"]]
        assert all(e.startswith("histogram_quantile(") and "by (le" in e for e in exprs)
        assert by_title[title]["fieldConfig"]["defaults"]["unit"] == "s"


def test_circuit_states_are_named() -> None:
    panel = {p["title"]: p for p in panels(BOARD)}["Circuit breaker per account"]
    mapping = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {k: v["text"] for k, v in mapping.items()} == {
        "0": "closed",
        "1": "half-open",
        "2": "open",
    }
