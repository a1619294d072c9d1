"""The operator's monitoring objects: off by default; on, the ServiceMonitor scrapes the metrics
Service and the alert rules use only series the operator exports."""

from __future__ import annotations

import re

from fks_operator.metrics import Metrics
from tests.unit.chart.helm import FULLNAME, RELEASE_NAMESPACE, kinds, one, render

MONITORING_KINDS = ("ServiceMonitor", "PrometheusRule")


def operator_series() -> set[str]:
    """Every series name the operator's registry exposes (with _total/_bucket/... suffixes)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":  # labelled metrics have no samples before first use
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return names


def operator_rule() -> dict[str, object]:
    return one(render("monitoring"), "PrometheusRule", FULLNAME).obj


def test_monitoring_is_off_by_default() -> None:
    for name in ("defaults", "namespaced", "custom"):
        docs = render(name)
        for kind in MONITORING_KINDS:
            assert not kinds(docs, kind), f"{name}: {kind}"


def test_service_monitor_scrapes_the_metrics_service() -> None:
    docs = render("monitoring")
    monitor = one(docs, "ServiceMonitor").obj
    service = one(docs, "Service", f"{FULLNAME}-metrics").obj
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [RELEASE_NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "30s"


def test_operator_alerts_use_series_the_operator_exports() -> None:
    rule = operator_rule()
    exported = operator_series()
    groups = rule["spec"]["groups"]  # type: ignore[index]
    alerts = [r for g in groups for r in g["rules"]]
    assert {a["alert"] for a in alerts} >= {"FksOperatorDown", "FksOperatorReconcileErrors"}
    for alert in alerts:
        expr = alert["expr"]
        used = set(re.findall(r"\b(fks_operator_[a-z_]+)\b", expr))
        assert used <= exported, f"{alert['alert']}: unknown series {used - exported}"
        assert used or "up{" in expr, alert["alert"]
        # every series is the operator's own scrape job, never another release's
        job = f'job="{FULLNAME}-metrics", namespace="{RELEASE_NAMESPACE}"'
        assert expr.count(job) == expr.count("{"), f"{alert['alert']}: {expr}"
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert alert["annotations"]["summary"]
        assert alert["annotations"]["description"]


def test_reconcile_results_in_alerts_exist() -> None:
    """The result label values the rules match on are ones the operator uses."""
    from fks_operator.metrics import RESULTS

    for alert in (r for g in operator_rule()["spec"]["groups"] for r in g["rules"]):  # type: ignore[index]
        for value in re.findall(r'result="([a-z]+)"', alert["expr"]):
            assert value in RESULTS, f"{alert['alert']}: result {value!r}"
